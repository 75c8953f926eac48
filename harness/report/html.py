"""report.html: one self-contained page (inline CSS and SVG, no network) from a `RunReport`.

`render_html(run, diff=..., links=...)` gathers a plain view model (matrix
cells, failures with their evidence links, timeline lanes as SVG, the TLS
section, the baseline diff) and renders templates/report.html.j2 with
autoescaping. `links` maps evidence files (captures, key logs) to the relative
paths they were copied to. Rendering only: no judging and no file writes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.observe.events import TlsHandshake
from harness.report.diff import RunDiff
from harness.report.model import (
    EXTRA_FAIL,
    KILL,
    NOT_RUN,
    SURVIVES,
    DeviceRun,
    KillMatrixTable,
    RunReport,
)
from harness.report.plot import build_lane, format_duration, lane_svg, legend_svg
from harness.rules.finding import Finding, Verdict
from harness.spec.catalog import catalog
from harness.spec.ciphers import cipher_suite_name, is_grease, is_signalling
from harness.spec.family import Family, FamilyError, load_family

TEMPLATES = Path(__file__).parent / "templates"
TIME_KEYS = frozenset({"started", "finished", "written"})


@dataclass
class Cell:
    verdict: str  # pass | fail | inconclusive | skipped | none
    title: str  # the reasons, for hover
    anchor: str  # id of the details entry


@dataclass
class Evidence:
    label: str
    href: str | None  # relative link, None when the file was not copied


@dataclass
class FindingView:
    requirement: str
    text: str
    verdict: str
    why: str
    frames: str
    evidence: list[Evidence] = field(default_factory=list)
    anchor: str = ""


def _family(name: str) -> Family | None:
    if not name:
        return None
    try:
        return load_family(name)
    except FamilyError:
        return None


def _anchor(device_index: int, req_id: str, nth: int = 0) -> str:
    """The id of a finding's entry: the first finding of a requirement takes the matrix
    cell's target, later ones a numbered id (ids are unique on the page)."""
    base = f"d{device_index}-{req_id}"
    return base if nth == 0 else f"{base}-{nth + 1}"


def _listed_keylog(p: Path) -> bool:
    """Empty key logs are not listed (a missing one is: it shows as not copied)."""
    try:
        return Path(p).stat().st_size > 0
    except OSError:
        return True


# more evidence files than this are grouped in a collapsed <details>
COLLAPSE_OVER = 6


def _file_groups(
    captures: list[Path], keylogs: list[Path], links: Mapping[str, str]
) -> dict[str, Any]:
    """Evidence files grouped by kind, for the page: captures, then non-empty key logs."""
    groups = [
        ("captures", [Evidence(Path(p).name, links.get(str(p))) for p in captures]),
        (
            "TLS key logs",
            [Evidence(Path(p).name, links.get(str(p))) for p in keylogs if _listed_keylog(p)],
        ),
    ]
    groups = [(name, files) for name, files in groups if files]
    total = sum(len(files) for _, files in groups)
    return {"groups": groups, "total": total, "collapsed": total > COLLAPSE_OVER}


def _evidence(
    f: Finding, device: DeviceRun, links: Mapping[str, str], *, with_device_files: bool
) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[str] = set()
    for src in f.evidence:
        path = src.removeprefix("capture:")
        href = links.get(path)
        label = f"capture {Path(path).name}" if src.startswith("capture:") else src
        out.append(Evidence(label, href))
        seen.add(path)
    own_capture = any(  # a scenario's finding links its own pcap, not every file of the device
        src.startswith("capture:") and links.get(src.removeprefix("capture:")) for src in f.evidence
    )
    if with_device_files and not own_capture:
        keylogs = [p for p in device.keylogs if _listed_keylog(p)]
        for p in [*device.captures, *keylogs]:
            if str(p) not in seen:
                kind = "TLS key log" if p in device.keylogs else "capture"
                out.append(Evidence(f"{kind} {p.name}", links.get(str(p))))
    return out


def _finding_view(
    f: Finding, device: DeviceRun, index: int, links: Mapping[str, str], nth: int = 0
) -> FindingView:
    req = catalog().get(f.rule)
    return FindingView(
        requirement=f.rule,
        text=req.text if req else "(not in the catalog)",
        verdict=f.verdict.value,
        why=f.why,
        frames=", ".join(map(str, f.frames)),
        evidence=_evidence(f, device, links, with_device_files=f.verdict is Verdict.FAIL),
        anchor=_anchor(index, f.rule, nth),
    )


def _tls_view(
    device: DeviceRun, family: Family | None, links: Mapping[str, str] | None = None
) -> dict[str, Any]:
    handshakes = sorted(
        (o for o in device.observations if isinstance(o, TlsHandshake)), key=lambda h: h.time
    )
    hellos: dict[tuple[int, ...], dict[str, Any]] = {}
    rows = []
    accepted: dict[str, int] = {}
    refused: dict[str, int] = {}
    for h in handshakes:
        offered = tuple(h.offered_cipher_suites)
        if offered not in hellos:
            suites = []
            for s in offered:
                note = ""
                if is_grease(s):
                    note = "GREASE"
                elif is_signalling(s):
                    note = "signalling"
                elif family is not None and s not in family.cipher_suites:
                    note = f"not in {family.cipher_suite_set}"
                suites.append({"code": f"0x{s:04x}", "name": cipher_suite_name(s), "note": note})
            hellos[offered] = {
                "suites": suites,
                "versions": ", ".join(h.offered_versions),
                "ja3": h.ja3 or "",
                "ja4": h.ja4 or "",
                "count": 0,
            }
        hellos[offered]["count"] += 1
        variant = h.server_cert_variant or "(unnamed)"
        if h.established and h.application_data:
            result = "accepted"
            accepted[variant] = accepted.get(variant, 0) + 1
        elif h.alert is not None or not h.established:
            result = "refused"
            refused[variant] = refused.get(variant, 0) + 1
        else:
            result = "no request"
        alert = ""
        if h.alert is not None:
            alert = f"{h.alert.name or h.alert.description} from {h.alert.sender}"
        rows.append(
            {
                "sni": h.server_name or "-",
                "variant": variant,
                "chosen": (
                    cipher_suite_name(h.chosen_cipher_suite)
                    if h.chosen_cipher_suite is not None
                    else "-"
                ),
                "version": h.chosen_version or "-",
                "result": result,
                "alert": alert,
                "client_cert": ", ".join(
                    f"{k}={v}" for k, v in (h.client_cert_subject or {}).items()
                ),
                "frames": ", ".join(map(str, h.evidence.frames)),
                "href": (links or {}).get(h.evidence.source.removeprefix("capture:")),
            }
        )
    return {
        "handshakes": rows,
        "hellos": list(hellos.values()),
        "accepted": sorted(accepted.items()),
        "refused": sorted(refused.items()),
    }


def _timeline_view(
    device: DeviceRun, family: Family | None, index: int = 0
) -> list[dict[str, Any]]:
    lanes = []
    for n, session in enumerate(device.timeline_sessions()):
        params = {**device.parameters, **session.parameters}
        lane = build_lane(session.name, session.observations, params, family)
        if not lane.marks:
            continue
        lanes.append(
            {
                "name": session.name,
                "svg": Markup(
                    lane_svg(lane, title=f"{device.id}: {session.name}", ident=f"d{index}-{n}")
                ),
                "marks": [
                    {
                        "at": "+" + format_duration(m.time),
                        "protocol": m.protocol,
                        "outcome": m.outcome,
                        "detail": m.detail,
                    }
                    for m in lane.marks
                ],
                "gaps": [
                    {
                        "after": g.after,
                        "delay": format_duration(g.delay),
                        "band": (
                            f"{format_duration(g.band[0])}..{format_duration(g.band[1])}"
                            if g.band
                            else "-"
                        ),
                        "source": g.source,
                        "within": {None: "no band", True: "inside", False: "OUTSIDE"}[g.within],
                    }
                    for g in lane.gaps
                ],
            }
        )
    return lanes


def _diff_view(diff: RunDiff | None) -> dict[str, Any] | None:
    if diff is None:
        return None
    return {
        "baseline": diff.baseline,
        "changed": diff.changed,
        "missing": diff.missing,
        "devices": [
            {
                "device": d.device,
                "baseline_device": d.baseline_device,
                "changed": d.changed,
                "verdicts": [
                    {
                        "requirement": c.requirement,
                        "old": c.old or "not judged",
                        "new": c.new or "not judged",
                        "old_class": c.old or "none",
                        "new_class": c.new or "none",
                        "worse": c.worse,
                        "why": c.why,
                    }
                    for c in d.verdicts
                ],
                "fingerprints": [
                    ("JA3", d.ja3_removed, d.ja3_added),
                    ("JA4", d.ja4_removed, d.ja4_added),
                ],
                "ua_removed": d.ua_removed,
                "ua_added": d.ua_added,
            }
            for d in diff.devices
        ],
    }


_KILL_CLASS = {KILL: "fail", EXTRA_FAIL: "inconclusive", SURVIVES: "pass", NOT_RUN: "none"}


def _kill_matrix_view(table: KillMatrixTable | None) -> dict[str, Any] | None:
    """Rows of quirk x requirement cells; a cell's class colours it like the verdicts."""
    if table is None:
        return None
    rows = []
    for r in table.rows:
        cells = []
        for req in table.requirements:
            text = r.cells.get(req, "")
            cells.append({"requirement": req, "text": text, "css": _KILL_CLASS.get(text, "")})
        rows.append(
            {
                "quirk": r.quirk,
                "status": r.status,
                "families": ", ".join(r.families),
                "cells": cells,
                "ok": r.status.startswith("killed"),
            }
        )
    return {"requirements": table.requirements, "rows": rows, "source": table.source}


def _meta_value(key: str, value: Any) -> Any:
    """Epoch seconds under a time-like key read as a UTC date and time."""
    if key in TIME_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value, _dt.UTC).isoformat(timespec="seconds")
    return value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(
    run: RunReport,
    *,
    diff: RunDiff | None = None,
    diff_problem: str | None = None,
    links: Mapping[str, str] | None = None,
) -> str:
    """The report page's HTML text."""
    links = links or {}
    req_ids = run.requirement_ids()
    devices = []
    for i, d in enumerate(run.devices):
        family = _family(d.family)
        nth: dict[str, int] = {}
        views = []
        for f in d.findings:
            views.append(_finding_view(f, d, i, links, nth.get(f.rule, 0)))
            nth[f.rule] = nth.get(f.rule, 0) + 1
        cells = {}
        for req_id in req_ids:
            found = d.findings_for(req_id)
            v = d.verdict(req_id)
            title = "\n".join(f"{f.verdict.value}: {f.why}" for f in found) or "not judged"
            cells[req_id] = Cell(v.value if v else "none", title, _anchor(i, req_id))
        devices.append(
            {
                "index": i,
                "id": d.id,
                "description": d.description or d.id,
                "family": d.family,
                "identity": {
                    k: v
                    for k, v in (
                        ("product", d.identity.product),
                        ("serial", d.identity.serial),
                        ("mac", d.identity.mac),
                        ("firmware", d.identity.firmware),
                    )
                    if v
                },
                "quirks": d.quirks,
                "cells": cells,
                "counts": {
                    v.value: sum(1 for x in d.verdicts().values() if x is v) for v in Verdict
                },
                "failures": [v for v in views if v.verdict == "fail"],
                "others": [v for v in views if v.verdict != "fail"],
                "files": _file_groups(d.captures, d.keylogs, links),
                "timelines": _timeline_view(d, family, i),
                "tls": _tls_view(d, family, links),
            }
        )
    rows = []
    for req_id in req_ids:
        req = catalog().get(req_id)
        rows.append(
            {
                "id": req_id,
                "group": req.group if req else "",
                "text": req.text if req else "(not in the catalog)",
                "judged": any(dv["cells"][req_id].verdict != "none" for dv in devices),
            }
        )
    made_from = _file_groups(run.capture_files(), [], links)
    meta = {
        k: _meta_value(k, v)
        for k, v in run.meta.items()
        if v not in (None, "", [], {}) and not (k == "captures" and made_from["total"])
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=str(run.meta.get("title", "harness report")),
            meta=meta,
            counts=run.counts(),
            rows=rows,
            devices=devices,
            diff=_diff_view(diff),
            diff_problem=diff_problem,
            legend=Markup(legend_svg()),
            kill_matrix=_kill_matrix_view(run.kill_matrix),
            captures=made_from,
        )
    )
