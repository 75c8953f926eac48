"""Renderings of an analysis other than JSON: text (rich), and the full HTML and JUnit reports.

`render_text` takes the dict of `harness.report.json_report.build_report`;
`analysis_run` folds the analysis (device timelines, findings, capture paths)
into a `harness.report.model.RunReport` (one DeviceRun per device, the captures
as its evidence), which `render_report_html` / `render_report_junit` render
with harness.report (the same look as `harness conform`). `render_html` and
`render_junit` are the minimal dict-based forms, kept for callers of the
JSON dict alone. No analysis and no file I/O here.
"""

from __future__ import annotations

import html
import io
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.observe.others import OtherClient
from harness.observe.timeline import DeviceTimeline
from harness.report.html import render_html as _report_html
from harness.report.junit import junit_xml
from harness.report.model import DeviceRun, RunReport
from harness.report.untrusted import printable
from harness.rules.finding import Finding
from harness.rules.registry import DeviceIdentity

_SUMMARY = {
    "http": lambda t: (
        f"{t.get('method')} {t.get('url')} -> {_status(t)}  UA={t.get('user_agent')}"
        if t.get("outcome") != "connection-error"
        else f"{t.get('scheme')} connection failed: {t.get('note')}"
    ),
    "tftp": lambda t: (
        f"{t.get('op')} {t.get('filename')} {t.get('outcome')} {t.get('bytes')} B"
        + (f" error {t.get('error_code')}" if t.get("error_code") is not None else "")
    ),
    "tls": lambda t: (
        f"SNI={t.get('server_name')} suites={len(t.get('offered_cipher_suites', []))}"
        f" chosen={_hex(t.get('chosen_cipher_suite'))} CN={t.get('server_cert_subject_cn')}"
        + (f" certificate={t['server_cert_variant']}" if t.get("server_cert_variant") else "")
        + (" decrypted" if t.get("decrypted") else "")
        + (f" alert={t['alert']}" if t.get("alert") else "")
    ),
    "syslog": lambda t: f"<{t.get('facility')}.{t.get('severity')}> {t.get('message')}",
    "dns": lambda t: f"{t.get('qname')} {t.get('qtype')} {t.get('rcode')} {t.get('answers')}",
    "dhcp": lambda t: (
        f"{t.get('message_type')} mac={t.get('client_mac')}"
        f" req={t.get('requested_options')} opts={t.get('offered_options')}"
    ),
}


def _status(t: dict[str, Any]) -> Any:
    return t.get("status") if t.get("status") is not None else t.get("outcome")


def _hex(v: Any) -> str:
    return f"0x{v:04x}" if isinstance(v, int) else str(v)


def summary(t: dict[str, Any]) -> str:
    fn = _SUMMARY.get(t.get("kind", ""))
    return fn(t) if fn else ""


def _iso(t: float) -> str:
    stamp = datetime.fromtimestamp(t, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def verdict_summary(report: dict[str, Any]) -> str:
    """One line: how many devices, and the findings by verdict."""
    counts = Counter(f["verdict"] for f in report.get("findings", []))
    order = ["pass", "fail", "inconclusive", "skipped"]
    parts = [f"{counts.get(v, 0)} {v}" for v in order]
    parts += [f"{n} {v}" for v, n in sorted(counts.items()) if v not in order]
    devices = len(report.get("devices", []))
    return f"summary: {devices} device{'s' if devices != 1 else ''}; findings: {', '.join(parts)}"


def _shown(text: Any) -> str:
    """Capture-controlled text for the rich console: control characters and markup escaped."""
    return escape(printable(text))


def render_text(report: dict[str, Any], width: int = 120) -> str:
    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=False, color_system=None)
    times = [t["time"] for t in report.get("transactions", []) if t.get("time") is not None]
    start = min(times, default=0.0)
    if times:
        con.print(f"times: seconds from the first transaction, {_iso(start)} (UTC)")
    for c in report.get("captures", []):
        con.print(
            f"capture {_shown(c['path'])}: {c['packets']} packets, {c['malformed']} malformed"
        )
        for p in c.get("problems", [])[:10]:
            con.print(f"  frame {p['frame']}: {_shown(p['why'])}")
    by_dev: dict[str | None, list[dict]] = {}
    for t in report.get("transactions", []):
        by_dev.setdefault(t.get("device"), []).append(t)
    devices = {d["id"]: d for d in report.get("devices", [])}
    others = {d["id"]: d for d in report.get("other_clients", [])}
    for dev_id, ts in by_dev.items():
        d = devices.get(dev_id or "") or others.get(dev_id or "", {})
        what = "other client" if dev_id in others else "device"
        title = (
            _shown(
                f"{what} {dev_id}  ip={d.get('ip')} mac={d.get('mac')} serial={d.get('serial')}"
                f" product={d.get('product')}"
            )
            + (f"\n  not judged: {_shown(d['why'])}" if "why" in d else "")
            if dev_id
            else "unattributed"
        )
        table = Table(title=title, title_justify="left")
        for col in ("+s", "kind", "frames", "what"):
            table.add_column(col)
        for t in ts:
            fr = t.get("frames", [])
            frames = ",".join(map(str, fr[:4])) + ("…" if len(fr) > 4 else "")
            table.add_row(f"+{t['time'] - start:.3f}", t["kind"], frames, _shown(summary(t)))
        con.print(table)
    findings = report.get("findings", [])
    table = Table(title=f"findings ({len(findings)})", title_justify="left")
    for col in ("rule", "verdict", "device", "frames", "why"):
        table.add_column(col)
    for f in findings:
        table.add_row(
            f["rule"],
            f["verdict"],
            _shown(f.get("device")),
            ",".join(map(str, f["frames"][:4])),
            _shown(f["why"]),
        )
    con.print(table)
    if others:
        con.print(
            f"other clients ({len(others)}, not judged: no phone identity; name one with "
            "--device to judge it): "
            + ", ".join(_shown(f"{i} ({_kinds(d)})") for i, d in others.items())
        )
    for note in report.get("meta", {}).get("notes", []):
        con.print(f"note: {_shown(note)}")
    con.print(verdict_summary(report))
    return buf.getvalue()


def _kinds(entry: dict[str, Any]) -> str:
    """An other client's transactions in a few words: `3 transactions: dns 2, http 1`."""
    n = entry.get("transactions", 0)
    kinds = ", ".join(f"{k} {v}" for k, v in (entry.get("kinds") or {}).items())
    return f"{n} transaction{'' if n == 1 else 's'}" + (f": {kinds}" if kinds else "")


def render_junit(report: dict[str, Any]) -> str:
    findings = report.get("findings", [])
    suite = ET.Element(
        "testsuite",
        name="harness analyze",
        tests=str(len(findings)),
        failures=str(sum(f["verdict"] == "fail" for f in findings)),
        skipped=str(sum(f["verdict"] in ("inconclusive", "skipped") for f in findings)),
    )
    for f in findings:
        case = ET.SubElement(
            suite, "testcase", classname=printable(f"device.{f.get('device')}"), name=f["rule"]
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="rule", value=f["rule"])
        ET.SubElement(props, "property", name="frames", value=",".join(map(str, f["frames"])))
        if f["verdict"] == "fail":
            why = printable(f["why"])
            ET.SubElement(case, "failure", message=why).text = why
        elif f["verdict"] in ("inconclusive", "skipped"):
            ET.SubElement(case, "skipped", message=printable(f"{f['verdict']}: {f['why']}"))
    root = ET.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(f['rule']))}</td><td class='{e(f['verdict'])}'>{e(f['verdict'])}</td>"
        f"<td>{e(str(f.get('device')))}</td><td>{e(f['why'])}</td></tr>"
        for f in report.get("findings", [])
    )
    tx = "".join(
        f"<tr><td>{t['time']:.3f}</td><td>{e(str(t.get('device')))}</td><td>{e(t['kind'])}</td>"
        f"<td>{e(summary(t))}</td></tr>"
        for t in report.get("transactions", [])
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>harness analyze</title>"
        "<style>.fail{color:#b00}.pass{color:#070}td{padding:0 .5em}</style></head><body>"
        f"<h1>Findings</h1><table>{rows}</table><h1>Transactions</h1><table>{tx}</table>"
        "</body></html>\n"
    )


def analysis_run(
    timelines: Iterable[DeviceTimeline],
    findings: Iterable[Finding],
    captures: Iterable[str | Path],
    *,
    family: str = "",
    parameters: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    other_clients: Mapping[str, str] | None = None,
    other_summaries: Iterable[OtherClient] = (),
) -> RunReport:
    """A RunReport of an analysis: one DeviceRun per attributed device, in timeline order.

    Each device's findings are those naming it; its evidence is the capture(s) its
    observations came from (all given captures when that is not known).
    """
    paths = [Path(c) for c in captures]
    by_device: dict[str, list[Finding]] = {}
    for f in findings:
        by_device.setdefault(str(f.device), []).append(f)
    devices = []
    others = []
    for tl in timelines:
        if tl.id == "unknown":
            continue
        d = tl.device
        if other_clients and tl.id in other_clients:
            where = " ".join(x for x in (d.ip, d.mac) if x and x != tl.id)
            others.append(
                f"{tl.id}{f' ({where})' if where else ''}: {len(tl.observations)} "
                f"transactions, not judged ({other_clients[tl.id]})"
            )
            continue
        sources = {
            o.evidence.source.removeprefix("capture:")
            for o in tl.observations
            if o.evidence.source.startswith("capture:")
        }
        mine = [p for p in paths if str(p) in sources] or list(paths)
        described = " ".join(x for x in (d.product, d.serial or d.mac, d.ip) if x)
        devices.append(
            DeviceRun(
                id=tl.id,
                description=described or tl.id,
                family=family,
                identity=DeviceIdentity(product=d.product, serial=d.serial, mac=d.mac),
                findings=by_device.get(tl.id, []),
                observations=list(tl.observations),
                captures=mine,
                parameters=dict(parameters or {}),
            )
        )
    for s in other_summaries:
        where = " ".join(x for x in (s.ip, s.mac) if x and x != s.id)
        why = (other_clients or {}).get(s.id, "")
        others.append(
            f"{s.id}{f' ({where})' if where else ''}: {s.transactions} transactions, "
            f"not judged ({why})"
        )
    info = {"title": "harness analyze", "name": "harness analyze", **(meta or {})}
    info.setdefault("captures", [str(p) for p in paths])
    if others:
        info["other clients"] = others
    return RunReport(meta=info, devices=devices, captures=paths)


def capture_links(run: RunReport, out: str | Path | None) -> dict[str, str]:
    """Capture path -> link for the page: relative to the report's directory when written."""
    links: dict[str, str] = {}
    base = Path(out).resolve().parent if out else None
    for p in run.capture_files():
        target = Path(p).resolve()
        links[str(p)] = os.path.relpath(target, base) if base else target.as_uri()
    return links


def render_report_html(run: RunReport, links: Mapping[str, str] | None = None) -> str:
    """The analysis as report.html (matrix, failures with frames, timelines, TLS)."""
    return _report_html(run, links=links or {})


def render_report_junit(run: RunReport) -> str:
    """The analysis as junit.xml: one testsuite per device, one testcase per requirement."""
    return junit_xml(run)
