"""`harness sim`: run one or many simulated phones against any provisioning server.

Each attempt is printed as it happens: time, device, kind, URL, outcome and
class, next delay. `--virtual-time` runs on a VirtualClock (hour-long waits
take no time); otherwise the phones run in real time for `--duration` seconds and
each phone's next attempt is announced when it is scheduled (no silent waits).
Exit code 0 when every phone's last resync succeeded, 1 otherwise, 2 on bad
arguments. Only argument handling and printing here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from harness.clock import RealClock, VirtualClock
from harness.device.sim.admin import AdminServer
from harness.device.sim.engine_table import AttemptDone
from harness.device.sim.phone import SimPhone
from harness.device.sim.quirks import QUIRKS, QuirkError, behaviour_for
from harness.report.untrusted import printable
from harness.spec.family import FamilyError, family_names, load_family

HELP = "run simulated phones (the reference phone, optionally with quirks) against a server"


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT")
    return host, int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="server URL; a bare server gets the family's /$PN.cfg")
    target.add_argument(
        "--profile-rule", help="a full Profile_Rule (options, alternatives, macros)"
    )
    parser.add_argument(
        "--family", default="cisco-8831-3pcc", help=f"one of {', '.join(family_names())}"
    )
    parser.add_argument("--count", type=int, default=1, help="number of phones (default 1)")
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a deviation to simulate (repeatable): {', '.join(sorted(QUIRKS))}",
    )
    parser.add_argument("--virtual-time", action="store_true", help="skip waits (virtual clock)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of (virtual) time to run (default: 86400 virtual, 60 real)",
    )
    parser.add_argument("--ca", type=Path, help="PEM file of the CA the phones trust for HTTPS")
    parser.add_argument("--dns", type=_address, help="resolver HOST:PORT for server names")
    parser.add_argument("--syslog", type=_address, help="syslog server HOST:PORT")
    parser.add_argument("--dhcp-tftp-server", help="what DHCP option 66 says (HOST or HOST:PORT)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a phone parameter (repeatable), e.g. Resync_Periodic=600",
    )
    parser.add_argument("--admin-port", type=int, help="serve the first phone's admin web UI here")


def _rule(args: argparse.Namespace, default_rule: str) -> str:
    if args.profile_rule:
        return args.profile_rule
    url = args.server
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + default_rule
    return url


def _line(phone: SimPhone, a: AttemptDone, t0: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(a.at))
    nxt = "-" if a.next_delay is None else f"{a.next_delay:.0f}s"
    err = f"  ({a.error})" if a.error else ""
    return printable(
        f"{stamp} +{a.at - t0:>8.0f}s {phone.identity.serial} {a.kind:7} {a.url} "
        f"-> {a.outcome} class {a.action_class}, next in {nxt}{err}"
    )


def next_due(phone: SimPhone) -> tuple[str, float] | None:
    """The phone's earliest timer: (what, clock time it fires), or None when it waits for nothing."""
    if not phone.timers:
        return None
    reason, at = min(phone.timers.items(), key=lambda kv: kv[1])
    return reason, at


async def _announce_next(phones: list[SimPhone], t0: float, every: float = 0.25) -> None:
    """Real time: say when each phone's next attempt is due, whenever that changes."""
    told: dict[str, tuple[str, float] | None] = {}
    while True:
        for phone in phones:
            due = next_due(phone)
            serial = phone.identity.serial
            if due != told.get(serial, ()):
                told[serial] = due
                if due is not None:
                    reason, at = due
                    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
                    print(
                        f"{stamp} +{at - t0:>8.0f}s {serial} next {reason} attempt due "
                        f"(in {max(0.0, at - phone.clock.now()):.0f}s)",
                        flush=True,
                    )
        await asyncio.sleep(every)


async def _run(args: argparse.Namespace, params: dict[str, str], ca: bytes | None) -> int:
    t0 = time.time()
    real = RealClock()
    phones = [
        SimPhone(
            args.family,
            index=i,
            parameters=params,
            quirks=args.quirk,
            clock=VirtualClock(start=t0) if args.virtual_time else real,
            dns=args.dns,
            syslog=args.syslog,
            dhcp_tftp_server=args.dhcp_tftp_server,
            ca_pem=ca,
            seed=i,
            free_run=not args.virtual_time,
            on_attempt=lambda p, a: print(_line(p, a, t0), flush=True),
        )
        for i in range(args.count)
    ]
    admin = None
    if args.admin_port is not None:
        admin = await AdminServer(phones[0], port=args.admin_port).start()
        print(f"admin web UI of {phones[0].identity.serial}: {admin.url}/admin/status", flush=True)
    duration = args.duration if args.duration is not None else (86400 if args.virtual_time else 60)
    try:
        if args.virtual_time:
            # one virtual clock per phone, all starting at t0: they run side by side
            await asyncio.gather(
                *(p.run_until(lambda _p: False, timeout_virtual_seconds=duration) for p in phones)
            )
        else:
            for p in phones:
                await p.start()
            watch = asyncio.ensure_future(_announce_next(phones, t0))
            try:
                await asyncio.sleep(duration)
            finally:
                watch.cancel()
    finally:
        for p in phones:
            await p.stop()
        if admin is not None:
            await admin.stop()
    ok = all(p.resync_attempts and p.resync_attempts[-1].action_class == "A" for p in phones)
    return 0 if ok else 1


def run(args: argparse.Namespace) -> int:
    try:
        load_family(args.family)
        behaviour_for(args.quirk)
    except (FamilyError, QuirkError) as exc:
        print(f"harness sim: {printable(exc)}", file=sys.stderr)
        return 2
    if args.count < 1:
        print("harness sim: --count must be at least 1", file=sys.stderr)
        return 2
    ca = None
    if args.ca is not None:
        try:
            ca = args.ca.read_bytes()
        except OSError as exc:
            print(f"harness sim: --ca {args.ca}: {exc.strerror}", file=sys.stderr)
            return 2
    params: dict[str, str] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"harness sim: --set {item!r}: expected NAME=VALUE", file=sys.stderr)
            return 2
        params[name] = value
    family = load_family(args.family)
    params["Profile_Rule"] = _rule(args, family.default("Profile_Rule") or "/$PN.cfg")
    try:
        return asyncio.run(_run(args, params, ca))
    except KeyError as exc:  # an unknown --set name
        print(f"harness sim: {exc.args[0]}", file=sys.stderr)
        return 2
