"""junit.xml for CI (Jenkins, GitLab, any JUnit reader), from a `RunReport`.

One <testsuite> per device (its identity as properties), one <testcase> per
requirement that has a finding on it, named by the requirement ID, with
`<property name="requirement" value="HTTP-404"/>` and the folded verdict as a
property. A fail is a <failure> (the sentences, frames and evidence in its
text), a skipped a <skipped message="the reason">, an inconclusive also a
<skipped> whose message starts "inconclusive: " (CI shows it as not passed,
not as broken; the `verdict` property says which). Rendering only: returns text.
"""

from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from typing import Any

from harness.report.model import DeviceRun, RunReport
from harness.report.untrusted import printable
from harness.rules.finding import Finding, Verdict
from harness.spec.catalog import catalog

_UNSAFE = re.compile(r"[^0-9A-Za-z_-]+")
# XML 1.0 cannot carry most control characters, whatever the escaping: every value
# goes through `printable` (one line each); lines are joined with real newlines.


def timestamp(value: Any) -> str:
    """ISO 8601 without zone (what the JUnit XSD wants) from epoch seconds or a string."""
    if isinstance(value, int | float):
        return _dt.datetime.fromtimestamp(value, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, str) and value:
        return value[:19]
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _finding_line(f: Finding) -> str:
    frames = f" frames {','.join(map(str, f.frames))}" if f.frames else ""
    evidence = f" [{'; '.join(f.evidence)}]" if f.evidence else ""
    return printable(f"{f.verdict.value}: {f.why}{frames}{evidence}")


def _prop(parent: ET.Element, name: str, value: Any) -> None:
    ET.SubElement(parent, "property", name=name, value=printable(value))


def _testcase(suite: ET.Element, device: DeviceRun, req_id: str) -> Verdict | None:
    findings = device.findings_for(req_id)
    verdict = device.verdict(req_id)
    if verdict is None:
        return None
    case = ET.SubElement(
        suite,
        "testcase",
        name=req_id,
        classname=f"harness.{_UNSAFE.sub('_', device.id)}",
        time="0",
    )
    props = ET.SubElement(case, "properties")
    _prop(props, "requirement", req_id)
    _prop(props, "verdict", verdict.value)
    _prop(props, "device", device.id)
    lines = [_finding_line(f) for f in findings]
    first = next((f.why for f in findings if f.verdict is verdict), "")
    if verdict is Verdict.FAIL:
        failure = ET.SubElement(
            case, "failure", message=printable(first), type="requirement-failed"
        )
        failure.text = "\n".join(lines)
    elif verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", message=printable(first))
    elif verdict is Verdict.INCONCLUSIVE:
        ET.SubElement(case, "skipped", message=printable(f"inconclusive: {first}"))
    req = catalog().get(req_id)
    out = ET.SubElement(case, "system-out")
    head = f"{req_id}: {req.text} ({req.source})" if req else req_id
    out.text = "\n".join([printable(head), *lines])
    return verdict


def junit_xml(run: RunReport) -> str:
    """The junit.xml text of a run."""
    meta = run.meta
    root = ET.Element("testsuites", name=printable(str(meta.get("name", "harness conform"))))
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for index, device in enumerate(run.devices):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=printable(device.description or device.id),
            id=str(index),
            package="harness",
            hostname=printable(device.id),
            timestamp=timestamp(meta.get("started")),
            time="0",
        )
        props = ET.SubElement(suite, "properties")
        _prop(props, "device", device.id)
        if device.family:
            _prop(props, "family", device.family)
        for key in ("product", "serial", "mac", "firmware"):
            value = getattr(device.identity, key)
            if value:
                _prop(props, key, value)
        if device.quirks:
            _prop(props, "quirks", ",".join(device.quirks))
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for req_id in run.requirement_ids(all_catalog=False):
            verdict = _testcase(suite, device, req_id)
            if verdict is None:
                continue
            counts["tests"] += 1
            if verdict is Verdict.FAIL:
                counts["failures"] += 1
            elif verdict in (Verdict.SKIPPED, Verdict.INCONCLUSIVE):
                counts["skipped"] += 1
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("errors", "0")
        # The XSD's order: properties, testcase*, system-out, system-err.
        ET.SubElement(suite, "system-out").text = printable(device.description or device.id)
        ET.SubElement(suite, "system-err")
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
