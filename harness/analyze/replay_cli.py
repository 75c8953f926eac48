"""`harness replay PCAP --target URL`: re-issue a captured device's requests, show what changed.

Argument handling and output only: the capture is read by
`harness.analyze.engine.analyze_capture`, the replay is `harness.analyze.replay`.
Exit codes: 0 every answer as captured, 1 some answer differs, 2 usage or input
error (no such file, not a capture, damaged capture without --allow-truncated,
nothing to replay, ambiguous device).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.analyze.engine import analyze_capture
from harness.analyze.replay import ReplayError, Target, plan, render_table, replay, to_json
from harness.capture.reader import CaptureFormatError

HELP = "re-issue a captured phone's provisioning requests against a server and diff the answers"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pcap", help="capture file (pcap or pcapng, optionally gzipped)")
    p.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="server to ask: http://HOST[:PORT][/BASE], https://..., or tftp://HOST[:PORT]",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply the captured gaps between requests by F (default 1; 0 = no wait)",
    )
    p.add_argument("--no-wait", action="store_true", help="same as --scale 0")
    p.add_argument("--device", metavar="ID", help="the device to replay: its IP, MAC or serial")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default: one line per request) or json",
    )
    p.add_argument("--ignore-size", action="store_true", help="compare statuses only")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--insecure", action="store_true", help="https: do not verify the server")
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="replay the requests before the break of a damaged capture instead of refusing",
    )


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        target = Target.parse(args.target)
        scale = 0.0 if args.no_wait else args.scale
        if scale < 0:
            raise ReplayError(f"--scale {scale}: must be >= 0")
        if not Path(args.pcap).is_file():
            raise ReplayError(f"{args.pcap}: no such file")
        result = analyze_capture(args.pcap)
        if result.read_problems:
            where = "; ".join(result.read_problems[:3])
            if not args.allow_truncated:
                raise ReplayError(
                    f"{args.pcap}: damaged capture ({where}); --allow-truncated replays the "
                    "requests before the break"
                )
            print(f"harness replay: {args.pcap}: {where} (replaying what came before)", file=err)
        requests = plan(result.observations, target, args.device)
    except (ReplayError, CaptureFormatError) as exc:
        print(f"harness replay: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"harness replay: {exc.filename or args.pcap}: {exc.strerror or exc}", file=err)
        return 2
    results = replay(requests, target, scale=scale, timeout=args.timeout, insecure=args.insecure)
    compare_size = not args.ignore_size
    if args.format == "json":
        doc = {
            "capture": args.pcap,
            "target": args.target,
            "scale": scale,
            "results": to_json(results, compare_size),
        }
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(f"replay of {args.pcap} against {args.target} (gaps x {scale:g})\n")
        sys.stdout.write(render_table(results, compare_size))
    return 1 if any(r.differs(compare_size) for r in results) else 0
