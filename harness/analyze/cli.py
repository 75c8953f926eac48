"""`harness analyze PCAP...`: analyze captures, judge each device, print or write a report.

Argument handling and output only; the analysis is `harness.analyze.engine`,
the judging `harness.analyze.judge`, the JSON shape `harness.report.json_report`,
the HTML and JUnit reports `harness.report` (through `harness.analyze.render`).
The profile key for encrypted bodies is `--key`, else the `--key` option of a
Profile_Rule given with --param/--profile.
Exit codes: 0 no finding failed, 1 some finding failed, 2 usage or input error.

The cyclic garbage collector stays paused for the whole command (the stages pause
it anyway; between them its passes over every observation kept cost much and find
little, and the process ends when the report is written).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness.analyze.engine import CaptureResult, Ports, analyze_capture
from harness.analyze.judge import judge
from harness.analyze.params import ParamError, load_profile_file, parse_param_args
from harness.analyze.render import (
    analysis_run,
    capture_links,
    render_report_html,
    render_report_junit,
    render_text,
)
from harness.capture.reader import CaptureFormatError, uncompressed_size
from harness.gc_pause import gc_paused
from harness.report.json_report import build_report, dumps, stream_report
from harness.report.untrusted import printable
from harness.rules.registry import DeviceIdentity, RuleContext
from harness.spec.family import Family, FamilyError, family_names, load_family

HELP = "analyze pcap/pcapng captures: provisioning transactions per device, spec findings"
FORMATS = ("text", "json", "html", "junit")
PORT_KINDS = ("dns", "dhcp", "tftp", "syslog")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pcap", nargs="+", help="capture files (pcap or pcapng, optionally gzipped)")
    p.add_argument("--family", default="cisco-8831-3pcc", help="device family (or a .toml file)")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="device parameter"
    )
    p.add_argument("--profile", help="the device's profile file (XML flat profile, or encrypted)")
    p.add_argument("--key", help="passphrase of an encrypted --profile (and of profiles seen)")
    p.add_argument("--trust-ca", metavar="PEM", help="CA certificates the devices trust")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--out", help="write the report here instead of standard output")
    p.add_argument("-j", "--jobs", type=int, default=1, help="captures analyzed in parallel")
    p.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="KIND=PORT",
        help=f"also treat UDP PORT as KIND ({', '.join(PORT_KINDS)})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _ports(items: list[str]) -> Ports:
    extra: dict[str, set[int]] = {}
    for item in items:
        kind, _, port = item.partition("=")
        if kind not in PORT_KINDS or not port.isdigit() or not 0 < int(port) < 65536:
            raise ParamError(f"--port {item!r}: expected KIND=PORT with KIND in {PORT_KINDS}")
        extra.setdefault(kind, set()).add(int(port))
    return Ports().with_extra(extra)


def _family(name: str):  # noqa: ANN202
    if name.endswith(".toml"):
        from harness.spec.family import load_family_file

        return load_family_file(name)
    if name not in family_names():
        raise FamilyError(f"--family {name}: unknown (known: {', '.join(family_names())})")
    return load_family(name)


def rule_key(family: Family, params: dict[str, str]) -> str | None:
    """The `--key` option of the first Profile_Rule* in `params` (without macros), if any."""
    from harness.rules.status_rules import rule_targets

    ctx = RuleContext(family, DeviceIdentity(), dict(params), {})
    for target in rule_targets(ctx):
        key = target.options.get("key")
        if key and "$" not in key:
            return key
    return None


def _one(args: tuple[str, Ports, str | None, bool]) -> CaptureResult:
    path, ports, key, show = args
    if not show:
        return analyze_capture(path, ports=ports, profile_key=key)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    size = uncompressed_size(path)  # a gzip capture's progress counts uncompressed bytes
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=None,
    ) as bar:
        task = bar.add_task(Path(path).name, total=size)
        return analyze_capture(
            path,
            ports=ports,
            profile_key=key,
            progress=lambda pos: bar.update(task, completed=pos, total=max(size, pos)),
        )


def run(args: argparse.Namespace) -> int:
    with gc_paused():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        family = _family(args.family)
        cli_params = parse_param_args(args.param)
        file_params = load_profile_file(args.profile, args.key) if args.profile else {}
        ports = _ports(args.port)
        if args.jobs < 1:
            raise ParamError("-j must be at least 1")
        if args.trust_ca and not Path(args.trust_ca).is_file():
            raise ParamError(f"--trust-ca {args.trust_ca}: no such file")
    except (ParamError, FamilyError) as exc:
        print(f"harness analyze: {printable(exc)}", file=err)
        return 2
    for path in args.pcap:
        if not Path(path).is_file():
            print(f"harness analyze: {path}: no such file", file=err)
            return 2
    show = err.isatty() and not args.no_progress and args.jobs == 1
    key = args.key or rule_key(family, {**file_params, **cli_params})
    jobs = [(p, ports, key, show and uncompressed_size(p) > 8 << 20) for p in args.pcap]
    try:
        if args.jobs > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=min(args.jobs, len(jobs))) as pool:
                results = list(pool.map(_one, jobs))
        else:
            results = [_one(j) for j in jobs]
    except CaptureFormatError as exc:
        print(f"harness analyze: {printable(exc)}", file=err)
        return 2
    except OSError as exc:
        print(f"harness analyze: {exc.filename}: {exc.strerror}", file=err)
        return 2
    observations = [o for r in results for o in r.observations]
    facts: dict[str, Any] = {}
    if args.trust_ca:
        facts["trusted_ca_pem"] = Path(args.trust_ca).read_text("utf-8", "replace")
    timelines, findings, notes = judge(
        observations,
        family,
        seen_profiles=[p for r in results for p in r.profiles],
        file_params=file_params,
        cli_params=cli_params,
        facts=facts,
    )
    for r in results:
        notes.extend(f"{r.path}: {p}" for p in r.read_problems)
    meta = {"tool": "harness analyze", "family": family.name, "notes": notes}
    failed = any(f.verdict == "fail" for f in findings)
    big = sum(len(tl.observations) for tl in timelines) > 5000
    if args.format == "json" and big:  # stream: neither all dicts nor the text in memory
        del observations
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fp:
                stream_report(
                    fp, captures=results, timelines=timelines, findings=findings, meta=meta
                )
        else:
            stream_report(
                sys.stdout, captures=results, timelines=timelines, findings=findings, meta=meta
            )
        for note in notes:
            print(f"harness analyze: {printable(note)}", file=err)
        return 1 if failed else 0
    report = build_report(captures=results, observations=observations, findings=findings, meta=meta)
    run_report = None
    if args.format in ("html", "junit"):
        run_report = analysis_run(
            timelines,
            findings,
            args.pcap,
            family=family.name,
            parameters={**file_params, **cli_params},
            meta={"family": family.name, "notes": notes},
        )
    del observations, results, findings, timelines  # the report holds copies: free them
    if args.format == "html":
        assert run_report is not None
        text = render_report_html(run_report, capture_links(run_report, args.out))
    elif args.format == "junit":
        assert run_report is not None
        text = render_report_junit(run_report)
    else:
        text = {"json": dumps, "text": render_text}[args.format](report)
    if args.out:
        Path(args.out).write_text(text, "utf-8")
    else:
        sys.stdout.write(text)
    for note in notes:
        print(f"harness analyze: {printable(note)}", file=err)
    return 1 if failed else 0
