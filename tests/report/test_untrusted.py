"""Device-controlled text in human outputs: `printable` and its use in text, terminal and JUnit."""

import json
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analyze.render import render_junit, render_text
from harness.observe.events import DeviceKey, Evidence, SyslogMessage
from harness.report.junit import junit_xml
from harness.report.text import describe, observation_line
from harness.report.untrusted import printable

from .runs import device_run, finding, run_report

HOSTILE = "a\x1b[31mb\x1b]0;title\x07c\r\nFORGED LINE\x85\u202eevil\x00"


def test_printable_shows_each_control_character():
    assert printable(HOSTILE) == (
        "a\\x1b[31mb\\x1b]0;title\\x07c\\r\\nFORGED LINE\\x85\\u202eevil\\x00"
    )
    assert printable("plain text, ünïcode ✓") == "plain text, ünïcode ✓"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_printable_output_is_one_line_without_control_characters(text):
    out = printable(text)
    assert len(out.splitlines()) <= 1
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)


def _syslog(message: str) -> SyslogMessage:
    return SyslogMessage(
        time=0.0,
        client=("192.0.2.7", 514),
        server=("192.0.2.1", 514),
        device=DeviceKey(ip="192.0.2.7"),
        evidence=Evidence("endpoint:syslog:192.0.2.1:514"),
        facility=16,
        severity=6,
        message=message,
    )


def test_observation_line_is_one_line():
    line = observation_line(_syslog(HOSTILE))
    assert "\n" not in line and "\x1b" not in line and "FORGED LINE" in line
    assert describe(_syslog(HOSTILE)).endswith(printable(HOSTILE))


def test_analyze_text_and_junit_escape_but_json_keeps_the_raw_text():
    report = {
        "captures": [{"path": "x.pcap", "packets": 1, "malformed": 1,
                      "problems": [{"frame": 1, "why": HOSTILE}]}],
        "transactions": [{"kind": "syslog", "time": 0.0, "device": "dev", "frames": [1],
                          "facility": 16, "severity": 6, "message": HOSTILE}],
        "devices": [{"id": "dev"}],
        "findings": [{"rule": "SYSLOG-X", "verdict": "fail", "device": "dev\x1b[2J",
                      "frames": [1], "why": HOSTILE}],
        "meta": {"notes": [HOSTILE]},
    }  # fmt: skip
    text = render_text(report, width=400)
    assert "\x1b" not in text and "\x07" not in text
    assert not any(line.startswith("FORGED") for line in text.splitlines())
    assert "[31m" in text  # markup-looking text is shown, not interpreted
    junit = render_junit(report)
    case = ET.fromstring(junit).find(".//testcase")
    assert case.find("failure").get("message") == printable(HOSTILE)
    assert json.loads(json.dumps(report))["findings"][0]["why"] == HOSTILE


def test_run_junit_keeps_one_line_per_finding():
    d = device_run(extra_findings=[finding("HTTP-GET", "fail", HOSTILE)])
    case = next(
        c
        for c in ET.fromstring(junit_xml(run_report(d))).iter("testcase")
        if c.get("name") == "HTTP-GET"
    )
    failure = case.find("failure")
    assert failure.get("message") == printable(HOSTILE)
    assert len(failure.text.splitlines()) == 1
