"""report.json (schema), junit.xml (shape CI reads), the baseline diff, and the written files."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from harness.report.diff import BaselineError, diff_reports, load_baseline
from harness.report.junit import junit_xml
from harness.report.write import build_run_json, write_reports

from .runs import SERIAL, UA, device_run, finding, run_report

SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())


def test_report_json_validates_and_carries_the_device_runs(tmp_path):
    paths = write_reports(run_report(device_run()), tmp_path)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    (dr,) = report["device_runs"]
    assert dr["requirements"]["TLS-SERVER-CN"]["verdict"] == "fail"
    assert dr["user_agents"] == [UA] and dr["ja3"] == ["ja3-a"]
    assert {f["rule"] for f in report["findings"]} >= {"HTTP-404", "RESYNC-IDLE"}
    assert report["meta"]["tool"].startswith("harness ")


def test_junit_has_one_suite_per_device_and_requirement_properties():
    a = device_run()
    b = device_run(ua_verdict="fail")
    b.id, b.description = "SECOND", "second phone"
    root = ET.fromstring(junit_xml(run_report(a, b)))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["hand-made CP-8831-3PCC", "second phone"]
    assert root.get("tests") == "10" and root.get("failures") == "3"
    cases = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert set(cases) == {"HTTP-404", "UA-FORMAT", "TLS-SERVER-CN", "RESYNC-IDLE", "DNS-FAILOVER"}
    for name, case in cases.items():
        props = {p.get("name"): p.get("value") for p in case.find("properties")}
        assert props["requirement"] == name
    fail = cases["TLS-SERVER-CN"].find("failure")
    assert fail.get("message") == "the phone fetched over a certificate for the wrong CN"
    assert "frames 4" in fail.text
    assert cases["RESYNC-IDLE"].find("skipped").get("message") == "the device cannot take calls"
    assert cases["DNS-FAILOVER"].find("skipped").get("message").startswith("inconclusive: ")
    assert cases["HTTP-404"].find("failure") is None and cases["HTTP-404"].find("skipped") is None
    assert suites[0].get("failures") == "1" and suites[0].get("skipped") == "2"
    suite_props = {p.get("name"): p.get("value") for p in suites[0].find("properties")}
    assert suite_props["serial"] == SERIAL and suite_props["family"] == "cisco-8831-3pcc"


def test_junit_survives_control_characters_in_a_reason():
    d = device_run(extra_findings=[finding("HTTP-GET", "fail", "method was \x00\x07GET")])
    case = next(c for c in ET.fromstring(junit_xml(run_report(d))).iter("testcase")
                if c.get("name") == "HTTP-GET")  # fmt: skip
    assert "GET" in case.find("failure").get("message")


def test_diff_shows_verdict_fingerprint_and_user_agent_changes():
    old = build_run_json(run_report(device_run()))
    new_ua = "cisco/CP-8831-3PCC-12.0.2 (88012BA01234)"
    new = build_run_json(run_report(device_run(ua=new_ua, ua_verdict="fail", ja3="ja3-b")))
    (d,) = diff_reports(old, new).devices
    assert [(c.requirement, c.old, c.new, c.worse) for c in d.verdicts] == [
        ("UA-FORMAT", "pass", "fail", True)
    ]
    assert (d.ua_removed, d.ua_added) == ([UA], [new_ua])
    assert (d.ja3_removed, d.ja3_added) == (["ja3-a"], ["ja3-b"])
    assert not diff_reports(old, old).changed


def test_diff_reads_a_plain_analyze_report_and_pairs_lone_devices_by_position():
    old = build_run_json(run_report(device_run()))
    del old["device_runs"]  # what `harness analyze --format json` writes
    newer = device_run(ua_verdict="fail")
    newer.id = "OTHER-ID"
    new = build_run_json(run_report(newer))
    (d,) = diff_reports(old, new).devices
    assert d.baseline_device == SERIAL
    assert [(c.requirement, c.old, c.new) for c in d.verdicts] == [("UA-FORMAT", "pass", "fail")]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read"),
        ("{not json", "not a JSON report"),
        ('{"devices": []}', "no 'findings' list"),
        ('{"findings": [{"rule": "X", "verdict": "great"}]}', r"findings\[0\]"),
        ('{"findings": [], "device_runs": [{"no": "id"}]}', "device_runs is malformed"),
    ],
)
def test_a_bad_baseline_says_which_file_and_why(tmp_path, content, says):
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BaselineError, match=says) as info:
        load_baseline(path)
    assert str(path) in str(info.value)


def test_write_reports_with_a_bad_baseline_still_writes_and_says_why(tmp_path):
    bad = tmp_path / "old.json"
    bad.write_text("[]")
    paths = write_reports(run_report(device_run()), tmp_path / "out", baseline=bad)
    assert "no &#39;findings&#39; list" in paths["html"].read_text()
    assert any("old.json" in n for n in json.loads(paths["json"].read_text())["meta"]["notes"])


def test_captures_and_key_logs_are_copied_and_linked_from_the_failure(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pcap = src / "lab.pcapng"
    pcap.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\x00" * 24)  # a truncated pcapng: kept, flagged
    keys = src / "tls-keys.log"
    keys.write_text("CLIENT_RANDOM 00 11\n")
    d = device_run(captures=[pcap], keylogs=[keys, src / "missing.log"])
    paths = write_reports(run_report(d), tmp_path / "out")
    assert (tmp_path / "out/captures/lab.pcapng").read_bytes() == pcap.read_bytes()
    assert (tmp_path / "out/captures/tls-keys.log").exists()
    html = paths["html"].read_text()
    failure = html[html.index('id="d0-TLS-SERVER-CN"') :].split("</div>\n</div>")[0]
    assert 'href="captures/lab.pcapng"' in failure and 'href="captures/tls-keys.log"' in failure
    report = json.loads(paths["json"].read_text())
    assert report["captures"][0]["path"] == "captures/lab.pcapng"
    assert any("missing.log does not exist" in n for n in report["meta"]["notes"])


def test_same_named_captures_of_two_devices_do_not_overwrite_each_other(tmp_path):
    pcaps = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        p = tmp_path / name / "phone.pcap"
        p.write_bytes(name.encode())
        pcaps.append(p)
    one, two = device_run(captures=[pcaps[0]]), device_run(captures=[pcaps[1]])
    two.id = "TWO"
    write_reports(run_report(one, two), tmp_path / "out")
    copied = sorted(p.read_bytes() for p in (tmp_path / "out/captures").iterdir())
    assert copied == [b"a", b"b"]


def test_html_escapes_what_the_device_sent(tmp_path):
    evil = "<script>alert(1)</script>"
    d = device_run(ua=evil, extra_findings=[finding("HTTP-GET", "fail", evil)])
    html = write_reports(run_report(d, title=evil), tmp_path)["html"].read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
