"""`harness analyze CAPTURE --scenario REPORT.json#NAME`: the twin check from the command line.

Loads the scenario's entry (harness.analyze.scenario), judges CAPTURE with it
and prints, per requirement, the verdict from the pcap next to the live one of
the report (`--format json` writes them as JSON). Exit codes: 0 the verdicts
agree, 1 they differ (or a requirement failed), 2 usage or input error.
Output only; the judging is harness.analyze.scenario's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.analyze.scenario import ScenarioRefError, load_entry, rejudge
from harness.capture.reader import CaptureFormatError


def run_scenario(args: argparse.Namespace) -> int:
    err = sys.stderr
    if len(args.pcap) != 1:
        print("harness analyze: --scenario takes exactly one capture", file=err)
        return 2
    capture = Path(args.pcap[0])
    if not capture.is_file():
        print(f"harness analyze: {capture}: no such file", file=err)
        return 2
    try:
        entry = load_entry(args.scenario)
        got = rejudge(entry, capture)
    except ScenarioRefError as exc:
        print(f"harness analyze: {exc}", file=err)
        return 2
    except CaptureFormatError as exc:
        print(f"harness analyze: {exc}", file=err)
        return 2
    rows = []
    for req in entry.requirements:
        pcap = got.verdicts.get(req, "missing")
        live = entry.verdicts.get(req, "missing")
        want = "inconclusive" if req in entry.not_on_wire else live
        why = "; ".join(dict.fromkeys(f.why for f in got.findings if f.rule == req))
        frames = sorted({n for f in got.findings if f.rule == req for n in f.frames})
        rows.append(
            {
                "requirement": req,
                "pcap": pcap,
                "live": live,
                "agree": pcap == want or live == "skipped",
                "why": why,
                "frames": frames,
            }
        )
    agree = all(r["agree"] for r in rows)
    if args.format == "json":
        text = json.dumps(
            {"scenario": entry.name, "device": entry.device, "capture": str(capture),
             "agree": agree, "requirements": rows, "notes": got.notes},
            indent=2,
        )  # fmt: skip
    else:
        lines = [f"scenario {entry.name} on {entry.device}, judged from {capture}:"]
        for r in rows:
            mark = "==" if r["agree"] else "!="
            lines.append(
                f"  {r['requirement']}: pcap {r['pcap']} {mark} live {r['live']}: {r['why']}"
            )
            if r["frames"]:
                lines.append(f"    frames {', '.join(map(str, r['frames'][:40]))}")
        lines.append("live and pcap verdicts agree" if agree else "live and pcap verdicts DIFFER")
        text = "\n".join(lines)
    if args.out:
        Path(args.out).write_text(text + "\n", "utf-8")
    else:
        print(text)
    for note in got.notes:
        print(f"harness analyze: {note}", file=err)
    failed = any(r["pcap"] == "fail" for r in rows)
    return 0 if agree and not failed else 1
