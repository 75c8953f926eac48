"""A capture of a TLS scenario run, judged by `harness analyze --trust-ca --keylog`, gives
the live run's verdicts for the server-certificate requirements.

The live rules learn the served variant from the lab's HTTPS endpoint; the analyzer
learns it by classifying the chain on the wire (TLS 1.3 certificates decrypted with the
endpoint's key log). The clean simulated phone passes, each quirk fails what it names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.capture.live import LiveCapture
from harness.conformance.scenario import ScenarioRun, lab_clock_start, scenarios
from harness.device.sim_device import SimDevice
from harness.endpoints.lab import ProvisioningLab
from tests.analyze.test_capture_judging import (
    FAMILY,
    LoggedVirtualClock,
    analyze,
    verdicts,
)


async def captured_tls_run(name: str, quirks: tuple[str, ...], tmp: Path):
    """(live verdicts, parameters, re-stamped capture, key log, server CA PEM) of one run."""
    sc = scenarios()[name]
    clock = LoggedVirtualClock(lab_clock_start())
    device = SimDevice(FAMILY, quirks=quirks)
    keylog = tmp / "tls-keys.log"
    lab = ProvisioningLab(tmp / "root", clock=clock, keylog_path=keylog)
    await lab.start_async()
    cap = None
    try:
        cap = LiveCapture("lo", f"tcp port {lab.https.port}", tmp / "run.pcapng").start()
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
    ca = tmp / "server-ca.pem"
    lab.server_ca.cert_pem.write_to_path(ca)
    # not re-stamped on the virtual time line: the certificates' validity is real time, and
    # these rules judge what the device did on each connection, not when
    return live, dict(run.parameters), path, keylog, ca


CASES = [
    ("tls-wrong-cn", (), "pass"),
    ("tls-wrong-cn", ("accept-wrong-cn",), "fail"),
    ("tls-untrusted-server-certificates", (), "pass"),
    ("tls-untrusted-server-certificates", ("accept-self-signed",), "fail"),
    ("tls-cn-suffix", (), "pass"),
    ("tls-cn-suffix", ("reject-cn-suffix",), "fail"),
]


@pytest.mark.parametrize(
    "name,quirks,expected", CASES, ids=[f"{n}-{'+'.join(q) or 'clean'}" for n, q, _ in CASES]
)
async def test_capture_gives_the_live_certificate_verdicts(
    name, quirks, expected, tmp_path, capsys
):
    live, params, pcap, keylog, ca = await captured_tls_run(name, quirks, tmp_path)
    requirement = scenarios()[name].requirements[0]
    assert live[requirement] == expected, live
    _, report = analyze(capsys, pcap, params, "--trust-ca", str(ca), "--keylog", str(keylog))
    got = verdicts(report, live)
    assert got == live, (
        [f["why"] for f in report["findings"] if f["rule"] in live],
        [
            (t.get("server_cert_variant"), t.get("server_cert_reason"), t.get("note"))
            for t in report["transactions"]
            if t["kind"] == "tls"
        ],
        report.get("notes"),
    )
    tls = [t for t in report["transactions"] if t["kind"] == "tls"]
    assert tls and all(t["server_cert_variant"] for t in tls), tls
