"""Writing a run's reports to a directory: report.html, report.json, junit.xml, captures/.

`write_reports(run, out_dir, baseline=...)` copies the evidence files (captures
and TLS key logs) into `out_dir/captures/`, builds report.json with
`harness.report.json_report.build_report` plus the extras below, compares it
with the baseline report (if any), and renders the HTML and JUnit files. The
only module of harness.report that touches files.

Extras in report.json (the schema welcomes more fields): `meta.devices`,
`meta.notes` (evidence that could not be copied, a baseline that could not be
read), and `device_runs[]`: per device its `id`, `description`, `family`,
`identity`, `quirks`, `captures`/`keylogs` (paths relative to the report),
`sessions`, `requirements` (requirement ID -> folded `verdict`, first `why`,
number of `findings`), `user_agents`, `ja3`, `ja4` (what the diff compares);
`kill_matrix` (top level) when the run had quirky simulated phones: the
`KillMatrixTable` (quirks x requirements: KILL / SURVIVES / not run / EXTRA FAIL)
the run carries (`RunReport.kill_matrix`: the conformance run derives it with
harness.conformance.killmatrix; the report renders it and imports nothing from
conformance);
`scenarios[]` (harness conform): one entry per scenario run and device, with its own
pcap and what re-judging it needs (docs/report-json.md).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import shutil
from pathlib import Path
from typing import Any

import harness
from harness.capture.reader import CaptureFormatError, CaptureReader
from harness.observe.events import HttpExchange, TlsHandshake
from harness.report.diff import BaselineError, diff_reports, diff_to_dict, load_baseline
from harness.report.html import render_html
from harness.report.json_report import build_report, dumps
from harness.report.junit import junit_xml
from harness.report.model import (
    DeviceRun,
    RunReport,
    ScenarioRecord,
    identity_dict,
)

EVIDENCE_DIR = "captures"


def _evidence_files(run: RunReport) -> list[tuple[DeviceRun, Path, str]]:
    """(device, file, kind) for every capture, key log and capture named in a finding."""
    out = []
    for d in run.devices:
        files = [(p, "capture") for p in d.captures] + [(p, "keylog") for p in d.keylogs]
        for f in d.findings:
            for src in f.evidence:
                if src.startswith("capture:"):
                    files.append((Path(src.removeprefix("capture:")), "capture"))
        seen: set[Path] = set()
        for p, kind in files:
            if p not in seen:
                seen.add(p)
                out.append((d, Path(p), kind))
    return out


def copy_evidence(run: RunReport, out_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Copy evidence into out_dir/captures; (original path -> relative link, notes)."""
    dest = out_dir / EVIDENCE_DIR
    links: dict[str, str] = {}
    notes: list[str] = []
    used: dict[str, Path] = {}
    for device, src, kind in _evidence_files(run):
        if str(src) in links:
            continue
        if not src.is_file():
            notes.append(f"device {device.id}: {kind} {src} does not exist; not copied")
            continue
        resolved = src.resolve()
        if resolved.parent == dest.resolve():
            links[str(src)] = f"{EVIDENCE_DIR}/{src.name}"
            used[src.name] = resolved
            continue
        name = src.name
        if name in used and used[name] != resolved:
            name = f"{device.id}-{name}"
        n = 1
        while name in used and used[name] != resolved:
            n += 1
            name = f"{device.id}-{n}-{src.name}"
        dest.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(src, dest / name)
        except OSError as exc:
            notes.append(f"device {device.id}: cannot copy {kind} {src}: {exc.strerror or exc}")
            continue
        used[name] = resolved
        links[str(src)] = f"{EVIDENCE_DIR}/{name}"
    _link_run_captures(run, out_dir, links, notes)
    return links, notes


def _link_run_captures(
    run: RunReport, out_dir: Path, links: dict[str, str], notes: list[str]
) -> None:
    """The run's own captures (a conform run's whole capture): linked where they are when
    inside `out_dir` (no copy of a large file), else copied beside the other evidence."""
    base = out_dir.resolve()
    for src in run.captures:
        if str(src) in links:
            continue
        resolved = Path(src).resolve()
        if not resolved.is_file():
            notes.append(f"run capture {src} does not exist; not linked")
        elif resolved.is_relative_to(base):
            links[str(src)] = resolved.relative_to(base).as_posix()
        else:
            dest = out_dir / EVIDENCE_DIR / f"run-{resolved.name}"
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(resolved, dest)
            except OSError as exc:
                notes.append(f"cannot copy run capture {src}: {exc.strerror or exc}")
                continue
            links[str(src)] = f"{EVIDENCE_DIR}/{dest.name}"


def _capture_entry(path: Path, link: str) -> dict[str, Any]:
    try:
        with CaptureReader(path) as reader:
            packets = sum(1 for _ in reader)
            problems = [{"frame": p.record, "why": str(p)} for p in reader.problems]
            fmt = reader.format + (".gz" if reader.compressed else "")
    except (CaptureFormatError, OSError) as exc:
        return {
            "path": link,
            "packets": 0,
            "malformed": 0,
            "problems": [{"frame": 0, "why": str(exc)}],
        }
    return {
        "path": link,
        "packets": packets,
        "malformed": len(problems),
        "format": fmt,
        "problems": problems,
    }


def device_run_entry(d: DeviceRun, links: dict[str, str]) -> dict[str, Any]:
    requirements = {}
    for req_id, verdict in d.verdicts().items():
        found = d.findings_for(req_id)
        why = next((f.why for f in found if f.verdict is verdict), "")
        requirements[req_id] = {"verdict": verdict.value, "why": why, "findings": len(found)}
    http = [o for o in d.observations if isinstance(o, HttpExchange)]
    tls = [o for o in d.observations if isinstance(o, TlsHandshake)]
    return {
        "id": d.id,
        "description": d.description,
        "family": d.family,
        "identity": identity_dict(d.identity),
        "quirks": list(d.quirks),
        "captures": [links.get(str(p), str(p)) for p in d.captures],
        "keylogs": [links.get(str(p), str(p)) for p in d.keylogs],
        "sessions": [s.name for s in d.sessions],
        "requirements": requirements,
        "user_agents": list(dict.fromkeys(o.user_agent for o in http if o.user_agent)),
        "ja3": list(dict.fromkeys(o.ja3 for o in tls if o.ja3)),
        "ja4": list(dict.fromkeys(o.ja4 for o in tls if o.ja4)),
    }


def _rel(path: Path | None, links: dict[str, str], out_dir: Path | None) -> str | None:
    """A file's path relative to the report: its evidence link, else relative to out_dir."""
    if path is None:
        return None
    if str(path) in links:
        return links[str(path)]
    if out_dir is not None:
        try:
            return path.resolve().relative_to(out_dir.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def scenario_entry(
    rec: ScenarioRecord, links: dict[str, str], out_dir: Path | None = None
) -> dict[str, Any]:
    """One `scenarios[]` entry of report.json (docs/report-json.md)."""
    entry: dict[str, Any] = {
        "name": rec.name,
        "device": rec.device,
        "requirements": list(rec.requirements),
        "capture": _rel(rec.capture, links, out_dir),
        "keylog": _rel(rec.keylog, links, out_dir),
        "family": rec.family,
        "params": dict(rec.params),
        "identity": rec.identity,
        "trust_ca": _rel(rec.trust_ca, links, out_dir),
        "verdicts": dict(rec.verdicts),
        "not_on_wire": dict(rec.not_on_wire),
        "facts": rec.facts,
        "ports": dict(rec.ports),
        "frames": rec.frames,
        "pcap_verdicts": dict(rec.pcap_verdicts),
        "pcap_frames": {k: list(v) for k, v in rec.pcap_frames.items()},
    }
    if rec.note:
        entry["note"] = rec.note
    return entry


def build_run_json(
    run: RunReport,
    links: dict[str, str] | None = None,
    notes: list[str] | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """report.json's dict for a run (the contract plus the extras of the module docstring)."""
    links = links or {}
    meta: dict[str, Any] = {"tool": f"harness {harness.__version__}", **run.meta}
    meta.setdefault("devices", [d.description or d.id for d in run.devices])
    all_notes = [*meta.get("notes", []), *(notes or [])]
    if all_notes:
        meta["notes"] = all_notes
    captures = []
    for d in run.devices:
        for p in d.captures:
            link = links.get(str(p))
            if link and all(c["path"] != link for c in captures):
                captures.append(_capture_entry(p, link))
    report = build_report(
        captures=captures,
        observations=[o for d in run.devices for o in d.observations],
        findings=[f for d in run.devices for f in d.attributed_findings()],
        meta=meta,
    )
    report["device_runs"] = [device_run_entry(d, links) for d in run.devices]
    if run.scenarios:
        report["scenarios"] = [scenario_entry(r, links, out_dir) for r in run.scenarios]
    if run.kill_matrix is not None:
        report["kill_matrix"] = run.kill_matrix.to_dict()
    return report


def write_reports(
    run: RunReport, out_dir: Path, *, baseline: Path | None = None
) -> dict[str, Path]:
    """Write the reports of `run` into `out_dir`; returns {"html", "json", "junit"[, "captures"]}
    -> path. A baseline that cannot be read is reported in the page and in meta.notes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    run = dataclasses.replace(run, meta={"written": written, **run.meta})
    links, notes = copy_evidence(run, out_dir)
    diff = None
    problem = None
    old = None
    if baseline is not None:
        try:
            old = load_baseline(baseline)
        except BaselineError as exc:
            problem = str(exc)
            notes.append(problem)
            old = None
    report = build_run_json(run, links, notes, out_dir)
    if baseline is not None and old is not None:
        diff = diff_reports(old, report, baseline_name=str(baseline))
    if baseline is not None:
        report["baseline_diff"] = diff_to_dict(diff, problem)
        if diff is None:
            report["baseline_diff"]["baseline"] = str(baseline)
    paths = {
        "json": out_dir / "report.json",
        "html": out_dir / "report.html",
        "junit": out_dir / "junit.xml",
    }
    paths["json"].write_text(dumps(report), "utf-8")
    paths["html"].write_text(
        render_html(run, diff=diff, diff_problem=problem, links=links), "utf-8"
    )
    paths["junit"].write_text(junit_xml(run), "utf-8")
    if links:
        paths["captures"] = out_dir / EVIDENCE_DIR
    return paths
