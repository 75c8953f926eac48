"""`harness storm`: a reboot storm of reference phones against one provisioning server.

The short form of the Locust file: it runs the asyncio crowd in this process (no
gevent here; see docs/storm.md for why and the measured phones per process),
prints a live line every second and the summary at the end, and with `--out`
writes storm.json and storm.html. Only argument handling and printing here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.device.sim.quirks import QUIRKS, QuirkError
from harness.spec.family import FamilyError, family_names
from harness.storm.crowd import Storm, StormConfig, StormConfigError, run_storm
from harness.storm.output import live_line, text_summary, write_outputs
from harness.storm.summary import summarize

HELP = "reboot storm: N reference phones power up and provision against one server at once"

EPILOG = """the same phones on Locust (web UI, CSV stats, --master/--worker):
  locust -f harness/storm/locustfile.py --storm-server URL ...
"""

DEFAULT_DURATION = 600.0
LIVE_WRITE_S = 5.0  # with --out, storm.json/html are rewritten this often while it runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--server", help="server URL; a bare server gets the family's default profile path"
    )
    target.add_argument(
        "--profile-rule",
        help="a full Profile_Rule the phones follow (options, macros such as $MA)",
    )
    parser.add_argument("--phones", type=int, default=100, help="phones in the crowd (100)")
    parser.add_argument(
        "--family", default="cisco-8831-3pcc", help=f"one of {', '.join(family_names())}"
    )
    parser.add_argument(
        "--power-up-spread",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds over which the phones power up, evenly (default 0: all at once)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="D",
        help="seconds to run; default: until every phone is provisioned, at most "
        f"{DEFAULT_DURATION:g} s",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a phone parameter for every phone (repeatable), e.g. "
        "Resync_Error_Retry_Delay=30 to shorten the retries; the spec check judges "
        "against the parameters in force",
    )
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME[:COUNT]",
        help="mix COUNT phones (default 1) with this deviation into the crowd (repeatable): "
        + ", ".join(sorted(QUIRKS)),
    )
    parser.add_argument(
        "--pool", type=int, default=256, help="connections open at once, shared by the crowd (256)"
    )
    parser.add_argument(
        "--http-timeout", type=float, default=10.0, help="seconds a phone waits for an answer (10)"
    )
    parser.add_argument("--ca", type=Path, help="PEM file of the CA the phones trust (HTTPS)")
    parser.add_argument(
        "--client-certs",
        type=Path,
        metavar="DIR",
        help="phones' client certificates: DIR/SERIAL.pem+.key, DIR/generic.pem+.key "
        "(as `harness pki init` writes them under clients/)",
    )
    parser.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="NAME=IP",
        help="the phones' DNS: NAME resolves to IP (repeatable)",
    )
    parser.add_argument(
        "--first-index", type=int, default=0, help="identity number of the first phone (0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of power-up order and delays")
    parser.add_argument(
        "--out",
        type=Path,
        help="write storm.json and storm.html here (refreshed every "
        f"{LIVE_WRITE_S:g} s while the storm runs, final at the end)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live progress lines")
    parser.add_argument(
        "--no-spec-check", action="store_true", help="skip the Table 3-1 check of every phone"
    )


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise StormConfigError(f"storm: {option} {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _quirks(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, _, count = item.partition(":")
        if count and not count.isdigit():
            raise StormConfigError(f"storm: --quirk {item!r}: COUNT must be a whole number")
        out[name] = out.get(name, 0) + (int(count) if count else 1)
    return out


def config_from(args: argparse.Namespace) -> StormConfig:
    ca = None
    if args.ca is not None:
        try:
            ca = args.ca.read_bytes()
        except OSError as exc:
            raise StormConfigError(f"storm: --ca {args.ca}: {exc.strerror}") from None
    if args.client_certs is not None and not args.client_certs.is_dir():
        raise StormConfigError(f"storm: --client-certs {args.client_certs}: not a directory")
    return StormConfig(
        server=args.server,
        profile_rule=args.profile_rule,
        phones=args.phones,
        family=args.family,
        power_up_spread=args.power_up_spread,
        duration=args.duration if args.duration is not None else DEFAULT_DURATION,
        parameters=_pairs(args.set, "--set"),
        quirks=_quirks(args.quirk),
        first_index=args.first_index,
        seed=args.seed,
        pool=args.pool,
        http_timeout=args.http_timeout,
        ca_pem=ca,
        client_cert_dir=args.client_certs,
        resolve={k.lower(): v for k, v in _pairs(args.resolve, "--resolve").items()},
    )


def exit_code(summary: dict) -> int:
    if not summary["verdict"]["phones_behaved"]:
        return 1
    prov = summary["provisioned"]
    return 0 if prov["provisioned"] == prov["phones"] else 3


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from(args)
        phones = config.build_phones()
    except (StormConfigError, FamilyError, QuirkError) as exc:
        print(f"harness storm: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # an unknown --set name
        print(f"harness storm: --set: {exc.args[0]}", file=sys.stderr)
        return 2

    last_write = [0.0]

    def tick(storm: Storm, now: float) -> None:
        if not args.quiet:
            print(live_line(storm, now), flush=True)
        if args.out is not None and now - last_write[0] >= LIVE_WRITE_S and storm.ended is None:
            last_write[0] = now
            try:  # the live view: answers and the provisioned curve so far
                write_outputs(summarize(storm, check=False), storm.phones, args.out, live=True)
            except OSError:
                pass  # reported once at the end

    storm = run_storm(config, phones=phones, on_tick=tick)
    summary = summarize(storm, check=not args.no_spec_check)
    print(text_summary(summary), flush=True)
    if args.out is not None:
        try:
            for path in write_outputs(summary, storm.phones, args.out):
                print(f"wrote {path}")
        except OSError as exc:
            print(f"harness storm: --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    return exit_code(summary)
