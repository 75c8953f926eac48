"""A capture of a scenario run, judged by `harness analyze`, gives the live run's verdicts.

The simulated phone runs a Table 3-1 / profile scenario against the lab on a
virtual clock while dumpcap/tcpdump (`LiveCapture`) records the loopback. The
capture's timestamps are real time, the lab's virtual: every jump of the
virtual clock is logged with the real time it happened at, and the capture's
packets are re-stamped on the virtual time line (the bytes stay as captured).
`harness analyze` then judges the re-stamped capture with the run's parameters,
and must say what the live rules said: the clean phone passes, each quirk
fails what it names.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from bisect import bisect_right
from pathlib import Path

import pytest

from harness.capture.live import LiveCapture
from harness.capture.pcapwrite import write_pcap
from harness.capture.reader import read_records
from harness.cli import main
from harness.clock import VirtualClock
from harness.conformance.scenario import ScenarioRun, lab_clock_start, scenarios
from harness.device.sim_device import SimDevice
from harness.endpoints.lab import ProvisioningLab
from harness.rules.finding import Verdict

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="live capture on lo needs root"),
    pytest.mark.skipif(
        not (shutil.which("dumpcap") or shutil.which("tcpdump")), reason="no capture tool"
    ),
]
FAMILY = "cisco-8831-3pcc"


class LoggedVirtualClock(VirtualClock):
    """A VirtualClock that remembers (real time, virtual time) after each jump."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.marks: list[tuple[float, float]] = [(time.time(), self.now())]

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self.marks.append((time.time(), self.now()))


def restamp(src: Path, dest: Path, marks: list[tuple[float, float]]) -> Path:
    """Write `src`'s packets to `dest` (pcap) on the virtual time line of `marks`."""
    records, problems = read_records(src)
    assert not problems, problems
    reals = [r for r, _ in marks]
    out = []
    for ts, _linktype, data in records:
        i = max(0, bisect_right(reals, ts) - 1)
        real, virtual = marks[i]
        out.append((virtual + (ts - real), data))
    write_pcap(dest, out, linktype=records[0][1] if records else 1)
    return dest


async def captured_run(
    name: str, quirks: tuple[str, ...], tmp: Path
) -> tuple[dict[str, str], dict[str, str], Path]:
    """(live verdicts, the device's parameters, re-stamped capture) of one scenario run."""
    sc = scenarios()[name]
    clock = LoggedVirtualClock(lab_clock_start())
    device = SimDevice(FAMILY, quirks=quirks)
    lab = ProvisioningLab(tmp / "root", clock=clock)
    await lab.start_async()
    cap = None
    try:
        cap = LiveCapture("lo", f"tcp port {lab.http.port}", tmp / "run.pcapng").start()
        run = ScenarioRun(lab, device, device.family)
        try:
            await sc.run(run)
        finally:
            await device.stop()
        live = {f.rule: f.verdict.value for f in run.findings(only=sc.requirements)}
        path = cap.stop()
    finally:
        if cap is not None and cap.running:
            cap.stop()
        await lab.stop_async()
    return live, dict(run.parameters), restamp(path, tmp / "virtual.pcap", clock.marks)


def analyze(capsys, path: Path, params: dict[str, str], *extra: str) -> tuple[int, dict]:
    args = ["analyze", str(path), "--family", FAMILY, "--format", "json", *extra]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def verdicts(report: dict, rules) -> dict[str, str]:
    from harness.report.model import requirement_verdict
    from harness.rules.finding import Finding

    out = {}
    for r in rules:
        found = [
            Finding(f["rule"], Verdict(f["verdict"]), f["why"])
            for f in report["findings"]
            if f["rule"] == r
        ]
        v = requirement_verdict(found)
        out[r] = v.value if v else "none"
    return out


CASES = [
    ("http-404", (), "pass"),
    ("http-404", ("retry-404-too-soon",), "fail"),
    ("http-corrupt", (), "pass"),
    ("http-corrupt", ("accept-corrupt-profile",), "fail"),
    ("encrypted-profile-over-http", (), "pass"),
    ("encrypted-profile-over-http", ("aes-wrong-kdf",), "fail"),
    ("gzip-profile", ("ignore-gzip",), "fail"),
    ("http-1.0-and-chunked", ("no-chunked",), "fail"),
    # the server closes without an answer: a connection error, from the wire as live
    ("http-connerr", (), "pass"),
    ("http-connerr", ("retry-unreachable-too-soon",), "fail"),
]


@pytest.mark.parametrize(
    "name,quirks,expected", CASES, ids=[f"{n}-{'+'.join(q) or 'clean'}" for n, q, _ in CASES]
)
async def test_capture_gives_the_live_verdicts(name, quirks, expected, tmp_path, capsys):
    live, params, pcap = await captured_run(name, quirks, tmp_path)
    requirement = scenarios()[name].requirements[0]
    assert live[requirement] == expected, live
    code, report = analyze(capsys, pcap, params)
    got = verdicts(report, live)
    assert got == live, [f for f in report["findings"] if f["rule"] in live]
    assert code == (1 if "fail" in got.values() or _other_fail(report, live) else 0)


def _other_fail(report: dict, judged) -> bool:
    return any(f["verdict"] == "fail" and f["rule"] not in judged for f in report["findings"])


async def test_encrypted_profile_without_any_key_is_inconclusive(tmp_path, capsys):
    live, params, pcap = await captured_run("encrypted-profile-over-http", (), tmp_path)
    assert live["PROFILE-AES"] == "pass"
    params.pop("Profile_Rule")  # the analyst knows neither the rule nor the key
    _, report = analyze(capsys, pcap, params)
    (aes,) = [f for f in report["findings"] if f["rule"] == "PROFILE-AES"]
    assert aes["verdict"] == "inconclusive" and "--key" in aes["why"]
    # the observation says what the answer carried, even without the key
    (tx,) = {
        t["response_body_sha256"]: t
        for t in report["transactions"]
        if t["kind"] == "http" and t["status"] == 200
    }.values()
    assert tx["response_content_kind"] == "aes-openssl" and tx["profile_valid"] is None


async def test_the_key_given_on_the_command_line_decides(tmp_path, capsys):
    live, params, pcap = await captured_run("encrypted-profile-over-http", (), tmp_path)
    rule = params.pop("Profile_Rule")
    key = rule.split("--key ", 1)[1].split("]", 1)[0]
    _, report = analyze(capsys, pcap, params, "--key", key)
    answers = [t for t in report["transactions"] if t["kind"] == "http" and t["status"] == 200]
    assert answers and all(t["profile_valid"] is True for t in answers)
    (aes,) = [f for f in report["findings"] if f["rule"] == "PROFILE-AES"]
    assert aes["verdict"] == live["PROFILE-AES"] == "pass"
