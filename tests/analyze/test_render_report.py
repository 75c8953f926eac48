"""`harness analyze --format html|junit` renders through harness.report: the same junit.xml
and report.html as `harness conform` (per-device suites, the requirement matrix, timelines,
the capture as evidence), checked by parsing and in a headless browser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.analyze.render import analysis_run, capture_links
from harness.cli import main
from harness.observe.events import DeviceKey, Evidence, HttpExchange
from harness.observe.timeline import build_timelines
from harness.rules.finding import Finding, Verdict
from tests.analyze.test_tcp_http import _segments
from tests.report.test_browser import CHROMIUM, chromium


def analyze(capsys, *args) -> int:
    code = main(["analyze", *map(str, args)])
    capsys.readouterr()
    return code


@pytest.fixture
def capture(tmp_path) -> Path:
    return _segments(tmp_path, [0, 1, 2, 3, 4, 5, 6, 7, 8])


def json_findings(capsys, capture) -> list[dict]:
    main(["analyze", str(capture), "--format", "json"])
    return json.loads(capsys.readouterr().out)["findings"]


def test_junit_is_the_report_junit_with_one_suite_per_device(capture, tmp_path, capsys):
    out = tmp_path / "junit.xml"
    code = analyze(capsys, capture, "--format", "junit", "--out", out)
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("name") == "harness analyze"
    (suite,) = root.findall("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.findall("./properties/property")}
    assert props["device"] == "SN42" and props["serial"] == "SN42"
    assert props["product"] == "CP-8831-3PCC" and props["family"] == "cisco-8831-3pcc"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    findings = json_findings(capsys, capture)
    assert set(cases) == {f["rule"] for f in findings}
    failed = {f["rule"] for f in findings if f["verdict"] == "fail"}
    assert {n for n, c in cases.items() if c.find("failure") is not None} == failed
    assert (code == 1) == bool(failed)
    for name, case in cases.items():
        verdict = case.find("./properties/property[@name='verdict']").get("value")
        assert verdict in {f["verdict"] for f in findings if f["rule"] == name}


def test_html_has_the_matrix_timelines_and_the_capture_link(capture, tmp_path, capsys):
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    analyze(capsys, capture, "--format", "html", "--out", out)
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert '<table class="matrix" id="requirement-matrix">' in html
    assert '<h2 id="timelines">' in html and '<svg class="timeline"' in html
    assert 'data-requirement="UA-FORMAT"' in html
    assert 'href="../f.pcap"' in html  # the capture, relative to the page
    assert "harness analyze" in html


def test_analysis_run_puts_each_device_with_its_findings_and_capture(tmp_path):
    def ex(ip, serial, t):
        return HttpExchange(
            time=t, client=(ip, 4000), server=("198.51.100.1", 80),
            device=DeviceKey(ip=ip, serial=serial, product="CP-8831-3PCC"),
            evidence=Evidence(f"capture:{tmp_path}/{serial}.pcap", (1,)),
            method="GET", url="/p.cfg", status=200,
        )  # fmt: skip

    obs = [ex("192.0.2.1", "A1", 1.0), ex("192.0.2.2", "B2", 2.0)]
    findings = [Finding("UA-FORMAT", Verdict.FAIL, "bad", "B2"), Finding("UA-FORMAT", Verdict.PASS, "ok", "A1")]  # fmt: skip
    caps = [tmp_path / "A1.pcap", tmp_path / "B2.pcap"]
    run = analysis_run(build_timelines(obs), findings, caps, family="cisco-spa")
    assert [d.id for d in run.devices] == ["A1", "B2"]
    a, b = run.devices
    assert a.captures == [caps[0]] and b.captures == [caps[1]]
    assert [f.why for f in b.findings] == ["bad"] and a.family == "cisco-spa"
    assert b.verdict("UA-FORMAT") is Verdict.FAIL
    links = capture_links(run, tmp_path / "r" / "x.html")
    assert links[str(caps[0])] == "../A1.pcap"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_rendered_in_a_browser(capture, tmp_path, capsys):
    out = tmp_path / "report.html"
    analyze(capsys, capture, "--format", "html", "--out", out)
    done = chromium(tmp_path, "--dump-dom", out.as_uri())
    dom = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '<table class="matrix" id="requirement-matrix">' in dom
    assert 'data-requirement="UA-FORMAT"' in dom and '<svg class="timeline"' in dom
