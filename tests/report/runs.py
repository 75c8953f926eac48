"""Hand-made devices for report tests: observations and findings as a run would give them."""

from pathlib import Path

from harness.observe.events import (
    DeviceKey,
    Evidence,
    HttpExchange,
    TftpTransfer,
    TlsAlert,
    TlsHandshake,
)
from harness.report.model import DeviceRun, RunReport, Session
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import DeviceIdentity

T0 = 1_700_000_000.0
IP = "192.0.2.10"
SERVER = ("198.51.100.5", 80)
PRODUCT, SERIAL, MAC = "CP-8831-3PCC", "88012BA01234", "000e08abcdef"
UA = f"cisco/{PRODUCT} ({SERIAL})"
DEV = DeviceKey(ip=IP, serial=SERIAL)
CAPTURE = "capture:lab.pcapng"
_frame = iter(range(1, 100_000))


def ev(source: str = CAPTURE) -> Evidence:
    return Evidence(source, frames=(next(_frame),))


def http(t, url="/CP-8831-3PCC.cfg", *, status=200, ua=UA, scheme="http", outcome="answered"):
    return HttpExchange(
        time=T0 + t, client=(IP, 40000), server=SERVER, device=DEV, evidence=ev(),
        method="GET", url=url, user_agent=ua, status=status, scheme=scheme, outcome=outcome,
    )  # fmt: skip


def tftp(t, filename="CP-8831-3PCC.cfg", *, outcome="complete", error_code=None):
    return TftpTransfer(
        time=T0 + t, client=(IP, 3000), server=(SERVER[0], 69), device=DEV, evidence=ev(),
        op="RRQ", filename=filename, outcome=outcome, error_code=error_code,
    )  # fmt: skip


def tls(t, variant="good", *, accepted=True, suites=(0x0035, 0x002F, 0x00FF), ja3="ja3-a"):
    return TlsHandshake(
        time=T0 + t, client=(IP, 40001), server=(SERVER[0], 443), device=DEV, evidence=ev(),
        server_name="prov.example.test", offered_versions=("TLS1.2",),
        offered_cipher_suites=suites, chosen_version="TLS1.2" if accepted else None,
        chosen_cipher_suite=0x0035 if accepted else None, server_cert_variant=variant,
        alert=None if accepted else TlsAlert("client", 2, 42, "bad_certificate"),
        application_data=accepted, established=accepted, ja3=ja3, ja4="ja4-" + ja3,
    )  # fmt: skip


def finding(rule, verdict, why, *, frames=(), evidence=(CAPTURE,), device=SERIAL):
    return Finding(rule, Verdict(verdict), why, device, T0, tuple(frames), tuple(evidence))


def device_run(
    *, ua=UA, ua_verdict="pass", ja3="ja3-a", captures=(), keylogs=(), extra_findings=()
) -> DeviceRun:
    """A device that fetched over HTTP (404, then 200 an hour later) and over HTTPS."""
    obs = [
        http(0, status=404, ua=ua),
        http(3600, ua=ua),
        tls(3700, "wrong-cn", accepted=False, ja3=ja3),
        tls(3800, "good", ja3=ja3),
        http(3800.1, scheme="https", ua=ua),
    ]
    findings = [
        finding("HTTP-404", "pass", "the 404 was retried after Resync_Error_Retry_Delay"),
        finding("UA-FORMAT", ua_verdict, f"User-Agent {ua!r}", frames=(1, 2)),
        finding("TLS-SERVER-CN", "fail", "the phone fetched over a certificate for the wrong CN",
                frames=(4,)),
        finding("RESYNC-IDLE", "skipped", "the device cannot take calls"),
        finding("DNS-FAILOVER", "inconclusive", "only one A record was served"),
        *extra_findings,
    ]  # fmt: skip
    return DeviceRun(
        id=SERIAL,
        description="hand-made CP-8831-3PCC",
        family="cisco-8831-3pcc",
        identity=DeviceIdentity(PRODUCT, SERIAL, MAC, "12.0.1"),
        findings=findings,
        observations=obs,
        captures=[Path(p) for p in captures],
        keylogs=[Path(p) for p in keylogs],
        sessions=[Session("hand-made", obs, {"Resync_Error_Retry_Delay": "3600"})],
    )


def run_report(*devices: DeviceRun, **meta) -> RunReport:
    return RunReport(meta={"title": "test run", "started": T0, **meta}, devices=list(devices))
