"""`harness netsim up|down|cleanup|status|emulate`: topologies to try things by hand.

`up` builds a named topology (`hn-<name>-*` namespaces) that outlives the
command and prints how to use it; `down` removes it; `cleanup` removes every
`hn*` leftover; `status` lists what exists. `emulate` needs no root: it runs
an EMULATED NAT kind (userspace relays on loopback) in the foreground until
Ctrl-C or --duration, printing the addresses to use. Argument handling only:
the work is in topology.py, cleanup.py and emulation.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from harness.netsim import cleanup as registry
from harness.netsim import names
from harness.netsim.emulation import EMULATED_KINDS, EmulatedNat
from harness.netsim.nat import NAT_KINDS
from harness.netsim.relay import PathDelay, RelayError
from harness.netsim.system import NetsimError, list_namespaces, namespaces_capability

HELP = "network simulation: NAT kinds in namespaces (up, down, cleanup, status), or emulated"
EMULATE_HINT = (
    "without root, `harness netsim emulate --nat KIND --udp HOST:PORT` EMULATES a NAT kind "
    "with a userspace relay on loopback"
)
DEFAULT_NAME = "lab"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="netsim_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="build a topology and leave it running")
    up.add_argument(
        "--nat",
        choices=sorted(NAT_KINDS),
        default="port-restricted",
        help="the router's NAT kind (default port-restricted; docs/netsim.md says what each breaks)",
    )
    up.add_argument("--tftp-helper", action="store_true", help="load the TFTP conntrack helper")
    up.add_argument(
        "--phones", type=int, default=1, help="phone namespaces on 192.0.2.0/24 (default 1)"
    )
    up.add_argument(
        "--wan-servers",
        type=int,
        default=2,
        help="server namespaces on 203.0.113.0/24 behind the router (default 2)",
    )
    up.add_argument("--loss", type=int, default=0, help="percent of packets dropped on the WAN")
    up.add_argument("--name", default=DEFAULT_NAME, help=f"topology name (default {DEFAULT_NAME})")
    down = sub.add_parser("down", help="remove a topology made by `up`")
    down.add_argument(
        "--name", default=DEFAULT_NAME, help=f"the topology to remove (default {DEFAULT_NAME})"
    )
    sub.add_parser("cleanup", help="remove every hn* namespace, link and table (leftovers)")
    sub.add_parser("status", help="list the netsim namespaces that exist")
    em = sub.add_parser("emulate", help="EMULATE a NAT kind on loopback with relays (no root)")
    em.add_argument(
        "--nat",
        choices=sorted(EMULATED_KINDS),
        default="port-restricted",
        help="the NAT kind to emulate (default port-restricted)",
    )
    em.add_argument("--udp", action="append", default=[], metavar="HOST:PORT",
                    help="a UDP server to reach through the emulated NAT (repeatable)")  # fmt: skip
    em.add_argument("--tcp", action="append", default=[], metavar="HOST:PORT",
                    help="a TCP server to reach through the emulated NAT (repeatable)")  # fmt: skip
    em.add_argument("--inside", default="127.0.0.1", help="address the clients send to")
    em.add_argument("--outside", default="127.0.0.1", help="address the servers see")
    em.add_argument("--delay-ms", type=float, default=0.0, help="UDP delay, each direction")
    em.add_argument(
        "--jitter-ms", type=float, default=0.0, help="random extra UDP delay, up to this (ms)"
    )
    em.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    action = args.netsim_command
    if action == "emulate":
        return _emulate(args)
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
        print(f"harness netsim {action}: {cap.reason}; {EMULATE_HINT}", file=sys.stderr)
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

    for item in registry.remove_stale():
        print(f"removed {item} (left by a run that is gone)")

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


def _address(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:69")
    return (host, int(port))


def _emulate(args: argparse.Namespace) -> int:
    try:
        udp = [_address(t, "--udp") for t in args.udp]
        tcp = [_address(t, "--tcp") for t in args.tcp]
        if not udp and not tcp:
            raise ValueError("name at least one server with --udp HOST:PORT or --tcp HOST:PORT")
        delay = PathDelay(args.delay_ms / 1000, args.jitter_ms / 1000) if args.delay_ms else None
        nat = EmulatedNat(
            args.nat,
            inside_host=args.inside,
            outside_host=args.outside,
            delay_out=delay,
            delay_in=delay,
        )
    except (ValueError, RelayError) as exc:
        print(f"harness netsim emulate: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()  # SIGTERM stops `emulate` as Ctrl-C does, without raising mid-way
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    nat.start()
    try:
        print(nat.describe())
        for server in udp:
            ip, port = nat.udp_address(server)
            print(f"  udp {ip}:{port} -> {server[0]}:{server[1]}  (EMULATED NAT)")
        for server in tcp:
            ip, port = nat.tcp_address(server)
            print(f"  tcp {ip}:{port} -> {server[0]}:{server[1]}  (EMULATED NAT)")
        print("ready; Ctrl-C stops", flush=True)
        try:
            stop.wait(args.duration)
        except KeyboardInterrupt:
            pass
    except RelayError as exc:
        print(f"harness netsim emulate: {exc}", file=sys.stderr)
        return 1
    finally:
        nat.stop()
    stats = nat.udp.stats
    print(
        f"EMULATION ended: udp out {stats['out']}, in {stats['in']}, filtered {stats['filtered']}; "
        f"tcp connections {len(nat.tcp.connections)}",
        flush=True,
    )
    return 0
