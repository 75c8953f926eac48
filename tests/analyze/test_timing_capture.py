"""Retry timing judged from a real capture: curl against the harness HTTP endpoint.

The endpoint answers 404 and then 200; curl comes back at once (too soon for
`Resync_Error_Retry_Delay=2`) or 2 s later (on time). tcpdump captures it on lo,
`harness analyze` (the real command line) judges the capture, and the live
endpoint's own records give the same verdict through the same rules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.endpoints.http import HttpServer
from harness.observe.timeline import build_timelines
from harness.profiles import render_xml_profile
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec import load_family

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")

UA = "cisco/CP-8831-3PCC (88012BA01234)"
PATH = "/CP-8831-3PCC.cfg"
DELAY = "2"
ROOT = Path(__file__).resolve().parents[2]


def _curl(url: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-A", UA, url], check=True, timeout=10)


def _analyze(cap: Path, out: Path, *extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "harness.cli", "analyze", str(cap), "--format", "json"]
    cmd += ["--out", str(out), "--no-progress", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(out.read_text())


def _finding(report: dict, rule: str) -> dict:
    found = [f for f in report["findings"] if f["rule"] == rule]
    assert len(found) == 1, report["findings"]
    return found[0]


@pytest.mark.parametrize(
    ("wait", "want"),
    [(0.0, Verdict.FAIL), (float(DELAY), Verdict.PASS)],
    ids=["too-soon", "on-time"],
)
def test_404_retry_timing_from_a_capture_and_live(tmp_path, sniff, wait, want):
    with HttpServer() as server:
        server.expect(PATH).respond(404).then(200, render_xml_profile({"GPP_A": "x"}))
        with sniff(f"tcp port {server.port}") as cap:
            _curl(server.url_for(PATH))
            time.sleep(wait)
            _curl(server.url_for(PATH))
        live = server.wait_for_requests(2)
    report = _analyze(cap, tmp_path / "r.json", "--param", f"Resync_Error_Retry_Delay={DELAY}")
    got = _finding(report, "HTTP-404")
    assert got["verdict"] == want.value, got
    assert f"expected {DELAY} s ± 1.5 s" in got["why"] and "tolerance" in got["why"], got
    # the same traffic as the endpoint recorded it, through the same rules: same verdict
    ctx = RuleContext(
        load_family("cisco-8831-3pcc"),
        DeviceIdentity(),
        {"Resync_Error_Retry_Delay": DELAY},
    )
    (f,) = evaluate(build_timelines(live), ctx, only=["HTTP-404"])
    assert f.verdict is want, f.why
    if want is Verdict.PASS:  # curl's start-up puts the gap past 2.0 s: zero tolerance fails it
        strict = _analyze(
            cap, tmp_path / "s.json", "--param", f"Resync_Error_Retry_Delay={DELAY}",
            "--timing-tolerance", "0",
        )  # fmt: skip
        got = _finding(strict, "HTTP-404")
        assert got["verdict"] == "fail" and "± 0 s" in got["why"], got


def test_bad_parameter_and_missing_out_directory_exit_2(tmp_path):
    cap = tmp_path / "empty.pcap"
    from scapy.all import IP, UDP, Ether, wrpcap

    wrpcap(str(cap), [Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=1, dport=2)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "harness.cli", "analyze", str(cap), "--no-progress"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=60, env=env)

    bad = run("--param", "Resync_Periodic=abc")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert "Resync_Periodic" in bad.stderr and "'abc'" in bad.stderr and "seconds" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    listed = run("--param", "Resync_Error_Retry_Delay=60,x")
    assert listed.returncode == 2 and "N+R" in listed.stderr, listed.stderr
    flag = run("--param", "Resync_On_Reset=maybe")
    assert flag.returncode == 2 and "Yes or No" in flag.stderr, flag.stderr
    typo = run("--param", "Resync_Periodc=12")
    assert typo.returncode == 0 and "did you mean Resync_Periodic?" in typo.stderr, typo.stderr
    good = run("--param", "Resync_Periodic=12", "--param", "Resync_Error_Retry_Delay=6+3,12")
    assert good.returncode == 0 and good.stderr == "", good.stderr
    out = run("--out", str(tmp_path / "missing" / "r.json"))
    assert out.returncode == 2 and "does not exist" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    tol = run("--timing-tolerance", "-2")
    assert tol.returncode == 2 and ">= 0" in tol.stderr, tol.stderr


@pytest.mark.parametrize("late", [False, True], ids=["at-once", "3s-late"])
def test_credentialed_retry_timing_from_a_capture(tmp_path, sniff, late):
    """curl --anyauth retries a 401 at once with Basic credentials; a second curl run
    3 s later (credentials given only then) is not "at once"."""
    with HttpServer() as server:
        server.expect(PATH).require_auth("basic", "u", "p").respond(200, "<flat-profile/>")
        url = server.url_for(PATH)
        with sniff(f"tcp port {server.port}") as cap:
            if late:
                _curl(url)  # no credentials: 401
                time.sleep(3)
                cmd = ["curl", "-s", "-o", "/dev/null", "-A", UA, "-u", "u:p", url]
            else:
                cmd = ["curl", "-s", "-o", "/dev/null", "-A", UA, "--anyauth", "-u", "u:p", url]
            subprocess.run(cmd, check=True, timeout=10)
        server.wait_for_requests(2)
    rule = f"Profile_Rule=[--uid u --pwd p]{url}"
    report = _analyze(cap, tmp_path / "r.json", "--param", rule)
    got = _finding(report, "HTTP-401")
    want = "fail" if late else "pass"
    assert got["verdict"] == want, got
    assert "at once (within 1.5 s" in got["why"], got
    if late:
        assert "retry 1 with Authorization came 3." in got["why"], got
