"""`harness netsim up|down|cleanup|status`: topologies to try things by hand.

`up` builds a named topology (`hn-<name>-*` namespaces) that outlives the
command and prints how to use it; `down` removes it; `cleanup` removes every
`hn*` leftover; `status` lists what exists. Argument handling only: the work
is in topology.py and cleanup.py.
"""

from __future__ import annotations

import argparse
import sys

from harness.netsim import cleanup as registry
from harness.netsim import names
from harness.netsim.nat import NAT_KINDS
from harness.netsim.system import NetsimError, list_namespaces, namespaces_capability

HELP = "network simulation: NAT kinds in namespaces (up, down, cleanup, status)"
DEFAULT_NAME = "lab"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="netsim_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="build a topology and leave it running")
    up.add_argument("--nat", choices=sorted(NAT_KINDS), default="port-restricted")
    up.add_argument("--tftp-helper", action="store_true", help="load the TFTP conntrack helper")
    up.add_argument("--phones", type=int, default=1)
    up.add_argument("--wan-servers", type=int, default=2)
    up.add_argument("--loss", type=int, default=0, help="percent of packets dropped on the WAN")
    up.add_argument("--name", default=DEFAULT_NAME, help=f"topology name (default {DEFAULT_NAME})")
    down = sub.add_parser("down", help="remove a topology made by `up`")
    down.add_argument("--name", default=DEFAULT_NAME)
    sub.add_parser("cleanup", help="remove every hn* namespace, link and table (leftovers)")
    sub.add_parser("status", help="list the netsim namespaces that exist")


def run(args: argparse.Namespace) -> int:
    action = args.netsim_command
    if action == "status":
        found = [ns for ns in list_namespaces() if ns.startswith(names.STEM)]
        print("\n".join(found) if found else "no netsim namespaces")
        return 0
    if action in ("up", "down"):
        try:
            names.new_topology_prefix(args.name)
        except ValueError as exc:
            print(f"harness netsim {action}: {exc}", file=sys.stderr)
            return 2
    cap = namespaces_capability()
    if not cap:
        print(f"harness netsim {action}: {cap.reason}", file=sys.stderr)
        return 2
    if action == "cleanup":
        removed = registry.cleanup()
        print("\n".join(f"removed {r}" for r in removed) or "nothing to remove")
        return 0
    prefix = names.new_topology_prefix(args.name)
    if action == "down":
        removed = registry.remove_prefix(prefix)
        if not removed:
            print(f"no topology named {args.name!r} (harness netsim status lists them)")
            return 1
        print(f"removed {len(removed)} namespaces of {args.name!r}")
        return 0
    # up
    from harness.netsim.topology import Topology

    if [ns for ns in list_namespaces() if ns.startswith(prefix)]:
        print(f"topology {args.name!r} exists; `harness netsim down --name {args.name}` first",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        topo = Topology(
            nat=args.nat,
            tftp_helper=args.tftp_helper,
            phones=args.phones,
            wan_servers=args.wan_servers,
            name=args.name,
        ).up()
        if args.loss:
            topo.set_loss("wan", args.loss)
    except (NetsimError, ValueError) as exc:
        print(f"harness netsim up: {exc}", file=sys.stderr)
        return 1
    registry.unregister(topo)  # it outlives this command: no teardown at exit
    print(topo.describe())
    return 0
