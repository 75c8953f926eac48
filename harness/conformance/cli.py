"""`harness conform`: run the conformance suite against a device and write the reports.

`--device sim` (default) runs the reference phone (with `--quirk`s) in virtual
time; `--device remote --address ... --mac ... --serial ... --product ...`
drives a real phone through its admin web interface (harness.device.remote);
`--devices lab.toml` runs several devices, one pytest-xdist worker each. The
suite runs as a pytest subprocess (`-p harness.conformance.suite`) with a live
view; reports go to `reports/<run-id>/` or `--out`. Exit code 0 when nothing
failed, 1 when a requirement failed, 2 for usage errors. Argument handling,
the pytest command line and printing only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from harness.conformance.devices_file import DevicesFileError, load_devices
from harness.conformance.live_view import summary_table
from harness.conformance.runner import DeviceSpec, unknown_requirements
from harness.conformance.suite import ConformConfig
from harness.device.sim.quirks import QUIRKS, QuirkError, quirk
from harness.rules.tolerance import check_tolerance
from harness.spec.catalog import catalog
from harness.spec.family import FamilyError, family_names, load_family

HELP = "run the conformance suite against the simulated phone or a real one; write reports"
DEFAULT_REPORTS = Path("reports")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        choices=("sim", "remote"),
        default="sim",
        help="sim: the built-in reference phone (default); remote: a real phone (--address ...)",
    )
    parser.add_argument(
        "--family", default="cisco-8831-3pcc", help=f"one of {', '.join(family_names())}"
    )
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME",
        help=f"sim: a deviation to simulate (repeatable): {', '.join(sorted(QUIRKS))}",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="run only these requirements (repeatable or comma-separated, any case), e.g. HTTP-404",
    )
    parser.add_argument("--out", type=Path, help="report directory (default reports/<run-id>)")
    parser.add_argument("--baseline", type=Path, help="a previous run's report.json to diff")
    parser.add_argument("--devices", type=Path, help="a TOML file with one table per device")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="pytest-xdist workers")
    parser.add_argument("--no-live", action="store_true", help="no live view")
    remote = parser.add_argument_group("remote device")
    remote.add_argument("--address", help="the phone's admin web interface, HOST[:PORT]")
    remote.add_argument("--mac", help="the phone's MAC address, e.g. 000e08abcdef")
    remote.add_argument("--serial", help="the phone's serial number, e.g. 88012BA01234")
    remote.add_argument("--product", help="the phone's product name, e.g. CP-8831-3PCC")
    remote.add_argument("--admin-user", help="user of the phone's admin web interface")
    remote.add_argument("--admin-password", help="password of the phone's admin web interface")
    remote.add_argument(
        "--lab-host", default="127.0.0.1", help="the address the phone reaches the lab at"
    )
    remote.add_argument(
        "--lab-port",
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="fix a lab port (http, https, tftp, syslog, dns), e.g. dns=53",
    )
    remote.add_argument("--time-scale", type=float, help="factor on the spec's delays (0.01)")
    remote.add_argument("--boot-time", type=float, help="seconds the phone takes to reboot (90)")
    remote.add_argument("--min-wait", type=float, help="shortest wait for attempts (20 s)")
    remote.add_argument(
        "--timing-tolerance",
        type=_tolerance,
        metavar="SECONDS",
        help="how far a delay may stray from the (shortened) spec's; default: docs/timing.md",
    )
    remote.add_argument(
        "--manual", action="store_true", help="ask the operator for calls and power cycles"
    )


class UsageError(ValueError):
    pass


def _tolerance(text: str) -> float:
    try:
        return check_tolerance(float(text), "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds >= 0") from None


def _ports(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, port = item.partition("=")
        if not sep or not port.isdigit() or name not in ("http", "https", "tftp", "syslog", "dns"):
            raise UsageError(
                f"--lab-port {item!r}: expected NAME=PORT, NAME one of http, "
                "https, tftp, syslog, dns"
            )
        out[name] = int(port)
    return out


def device_specs(args: argparse.Namespace) -> list[DeviceSpec]:
    """The devices of the run, from --devices or the single-device options."""
    if args.devices is not None:
        try:
            return load_devices(args.devices)
        except DevicesFileError as exc:
            raise UsageError(str(exc)) from None
    try:
        load_family(args.family)
        for q in args.quirk:
            quirk(q)
    except (FamilyError, QuirkError) as exc:
        raise UsageError(str(exc)) from None
    if args.device == "sim":
        return [DeviceSpec(name="sim", family=args.family, quirks=tuple(args.quirk))]
    missing = [o for o in ("address", "mac", "serial", "product") if not getattr(args, o)]
    if missing:
        raise UsageError(f"--device remote needs {', '.join('--' + m for m in missing)}")
    if args.quirk:
        raise UsageError("--quirk applies to --device sim only")
    return [
        DeviceSpec(
            name=args.serial,
            kind="remote",
            family=args.family,
            address=args.address,
            mac=args.mac,
            serial=args.serial,
            product=args.product,
            admin_user=args.admin_user,
            admin_password=args.admin_password,
            lab_host=args.lab_host,
            lab_ports=_ports(args.lab_port),
            time_scale=args.time_scale,
            manual=args.manual,
            boot_time=args.boot_time,
            min_wait=args.min_wait,
            timing_tolerance=args.timing_tolerance,
        )
    ]


def _only(args: argparse.Namespace) -> list[str]:
    ids = [i.strip().upper() for item in args.only for i in item.split(",") if i.strip()]
    unknown = unknown_requirements(ids)
    if unknown:
        valid = ", ".join(sorted(catalog()))
        raise UsageError(f"--only: unknown requirement IDs {unknown}; valid IDs: {valid}")
    return ids


def pytest_command(cfg_path: Path, workers: int, live: bool, junit: Path) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "harness.conformance.test_conformance",
        "-p",
        "harness.conformance.suite",
        "-p",
        "harness.conformance.live_view",
        "-p",
        "no:cacheprovider",
        f"--conform-config={cfg_path}",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "ignore::DeprecationWarning",
        "--rootdir",
        str(cfg_path.parent),
        "-c",
        str(cfg_path.parent / "pytest.ini"),
    ]
    if live:  # the live view replaces pytest's own terminal output
        cmd += ["-p", "no:terminal", "--conform-live"]
    else:
        cmd += ["-q", "--no-header", "-rfE"]
    if workers > 1:
        cmd += ["-n", str(workers), "--dist", "loadgroup"]
    return cmd


def print_baseline_diff(console: Console, report: Path) -> None:
    """The report's `baseline_diff` (pass -> fail, JA3/JA4, User-Agent changes), one per line."""
    from rich.markup import escape

    from harness.report.diff import diff_lines

    try:
        data = json.loads(report.read_text("utf-8")).get("baseline_diff")
    except (OSError, ValueError):
        data = None
    if not data:
        console.print("  baseline: no comparison in the report")
        return
    lines = diff_lines(data)
    console.print(f"changes since the baseline {escape(str(data.get('baseline')))}:")
    for line in lines or ["no change"]:
        console.print(f"  {escape(line)}")


def run(args: argparse.Namespace) -> int:
    console = Console(width=max(120, Console().width))
    try:
        specs = device_specs(args)
        only = _only(args)
    except UsageError as exc:
        print(f"harness conform: {exc}", file=sys.stderr)
        return 2
    if args.baseline is not None and not args.baseline.is_file():
        print(f"harness conform: --baseline {args.baseline}: no such file", file=sys.stderr)
        return 2
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    out = (args.out or DEFAULT_REPORTS / run_id).resolve()
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    cfg = ConformConfig(
        devices=specs,
        only=only,
        workdir=work,
        out=out,
        baseline=args.baseline.resolve() if args.baseline else None,
        capture=True,
        meta={
            "tool": "harness conform",
            "run_id": run_id,
            "devices": [s.describe() for s in specs],
            "only": only,
        },
    )
    cfg_path = work / "config.json"
    cfg_path.write_text(cfg.to_json())
    (work / "pytest.ini").write_text("[pytest]\n")
    workers = args.jobs if args.jobs is not None else len(specs)
    live = not args.no_live
    cmd = pytest_command(cfg_path, max(1, workers), live, work / "pytest-junit.xml")
    console.print(f"harness conform: {', '.join(s.describe() for s in specs)} -> {out}")
    code = subprocess.call(cmd, cwd=work)
    results_path = work / "results.json"
    if code not in (0, 1, 5) or not results_path.exists():
        print(f"harness conform: the suite did not run (pytest exit code {code})", file=sys.stderr)
        return 2
    results = json.loads(results_path.read_text())
    console.print(summary_table(results))
    written = work / "written.json"
    if written.exists():
        for name, path in json.loads(written.read_text()).items():
            console.print(f"  {name}: {path}")
    console.print(f"  pytest junit: {work / 'pytest-junit.xml'}")
    if args.baseline is not None:
        print_baseline_diff(console, out / "report.json")
    failed = any(r["verdict"] == "fail" for r in results)
    return 1 if failed or code == 1 else 0
