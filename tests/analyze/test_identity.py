"""Who a client is, judged from captures of stock tools (issue 10, items 5 and 6).

A curl client with a harness.pki client certificate (HTTPS, TLS 1.2: the certificate
is on the wire in clear) and a phone User-Agent (plain HTTP) from the same address is
one device; its certificate and User-Agent are judged against each other (fail naming
both values when they disagree, pass when they agree). A User-Agent is never judged
against itself: without an independent source UA-IDENTITY is inconclusive; a device
stated with --device is. curl against `python -m http.server` has no phone identity:
an other client, not judged, unless --device names it.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.cli import main
from harness.pki import DeviceCA, ServerCA
from tests.analyze.conftest import analyze_json, free_port, loopback_capture, only_verdict

PRODUCT, SERIAL, MAC = "CP-8831-3PCC", "88012BA01234", "000e08aabbcc"
UA = f"cisco/{PRODUCT} ({SERIAL})"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


analyze = analyze_json
verdict = only_verdict


class _Profile(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Servers:
    """A plain HTTP server and an HTTPS one asking for a client certificate (TLS 1.2)."""

    def __init__(self, tmp: Path, device_ca) -> None:  # noqa: ANN001
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _Profile)
        self.https = ThreadingHTTPServer(("127.0.0.1", 0), _Profile)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ServerCA().issue_cert("localhost").configure_cert(ctx)
        ctx.verify_mode = ssl.CERT_REQUIRED
        device_ca.configure_trust(ctx)
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        for s in (self.http, self.https):
            threading.Thread(target=s.serve_forever, daemon=True).start()
        self.ports = (self.http.server_address[1], self.https.server_address[1])

    def close(self) -> None:
        for s in (self.http, self.https):
            s.shutdown()
            s.server_close()


def curl(*args: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", *args], timeout=30, check=False)


@pytest.fixture
def cert_and_ua_capture(tmp_path):
    """make(cert_serial) -> a capture of one HTTPS fetch with that certificate and one
    plain-HTTP fetch with the User-Agent naming SERIAL, both from 127.0.0.1."""

    def make(cert_serial: str) -> Path:
        ca = DeviceCA()
        cert, key = ca.issue_client_cert(PRODUCT, cert_serial, MAC).write_to_path(
            tmp_path / "client.pem", tmp_path / "client.key"
        )
        servers = Servers(tmp_path, ca)
        http_port, https_port = servers.ports
        cap = tmp_path / f"cert-{cert_serial}.pcap"
        try:
            with loopback_capture(cap, f"tcp port {http_port} or tcp port {https_port}"):
                curl("-A", UA, f"http://127.0.0.1:{http_port}/{PRODUCT}.cfg")
                curl(
                    "-k", "--tlsv1.2", "--tls-max", "1.2", "--cert", str(cert), "--key", str(key),
                    "-A", UA, f"https://127.0.0.1:{https_port}/{PRODUCT}.cfg",
                )  # fmt: skip
        finally:
            servers.close()
        return cap

    return make


def test_certificate_disagreeing_with_the_user_agent_is_one_device_failing(
    cert_and_ua_capture, capsys
):
    report = analyze(capsys, cert_and_ua_capture("88012BA09999"))
    assert [d["id"] for d in report["devices"]] == [SERIAL]
    tls = [t for t in report["transactions"] if t["kind"] == "tls"]
    assert tls and tls[0]["client_cert_subject"]["L"] == "88012BA09999"
    v, why = verdict(report, "TLS-CLIENT-CERT")
    assert v == "fail" and "88012BA09999" in why and SERIAL in why, why
    v, why = verdict(report, "UA-IDENTITY")
    assert v == "fail" and "88012BA09999" in why and SERIAL in why, why


def test_certificate_agreeing_with_the_user_agent_passes(cert_and_ua_capture, capsys):
    report = analyze(capsys, cert_and_ua_capture(SERIAL))
    assert [d["id"] for d in report["devices"]] == [SERIAL]
    for rule in ("TLS-CLIENT-CERT", "UA-IDENTITY"):
        v, why = verdict(report, rule)
        assert v == "pass", (rule, why)
    assert "client certificate" in verdict(report, "UA-IDENTITY")[1]
    assert "User-Agent" in verdict(report, "TLS-CLIENT-CERT")[1]


@pytest.fixture
def ua_capture(tmp_path):
    """A plain-HTTP fetch whose User-Agent names a 7841, not an 8831."""
    servers = Servers(tmp_path, DeviceCA())
    port = servers.ports[0]
    cap = tmp_path / "ua.pcap"
    try:
        with loopback_capture(cap, f"tcp port {port}"):
            curl("-A", f"cisco/CP-7841-3PCC ({SERIAL})", f"http://127.0.0.1:{port}/{PRODUCT}.cfg")
    finally:
        servers.close()
    return cap


def test_user_agent_alone_is_not_judged_against_itself(ua_capture, capsys):
    v, why = verdict(analyze(capsys, ua_capture), "UA-IDENTITY")
    assert v == "inconclusive" and "not judged against itself" in why, why


def test_stated_device_against_a_user_agent_of_another_product_fails(ua_capture, capsys):
    report = analyze(capsys, ua_capture, "--device", f"serial={SERIAL},product={PRODUCT}")
    v, why = verdict(report, "UA-IDENTITY")
    assert v == "fail" and "CP-7841-3PCC" in why and PRODUCT in why and "--device" in why, why
    report = analyze(capsys, ua_capture, "--device", f"serial={SERIAL},product=CP-7841-3PCC")
    assert verdict(report, "UA-IDENTITY")[0] == "pass"


def test_devices_file_states_the_device(ua_capture, tmp_path, capsys):
    lab = tmp_path / "lab.toml"
    lab.write_text(
        f'[desk]\nkind = "remote"\naddress = "127.0.0.1:80"\nmac = "00:0e:08:aa:bb:cc"\n'
        f'serial = "{SERIAL}"\nproduct = "{PRODUCT}"\n'
    )
    v, why = verdict(analyze(capsys, ua_capture, "--devices", lab), "UA-IDENTITY")
    assert v == "fail" and "CP-7841-3PCC" in why, why


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("serial", "KEY=VALUE"),
        ("mac=zz", "not a MAC"),
        ("ip=300.1.1.1", "not an IP"),
        ("", "at least one"),
    ],
)
def test_bad_device_arguments_are_usage_errors(ua_capture, capsys, arg, message):
    assert main(["analyze", str(ua_capture), "--device", arg]) == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def http_server_capture(tmp_path):
    """curl fetching a file from `python -m http.server` (no phone anywhere)."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "CP-8831-3PCC.cfg").write_text("not a profile\n")
    port = free_port(kind=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path / "www",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cap = tmp_path / "curl.pcap"
    try:
        for _ in range(100):
            if (
                subprocess.run(
                    ["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"]
                ).returncode
                == 0
            ):
                break
            import time

            time.sleep(0.1)
        with loopback_capture(cap, f"tcp port {port}"):
            curl(f"http://127.0.0.1:{port}/CP-8831-3PCC.cfg")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return cap


def test_curl_against_http_server_is_an_other_client_without_findings(http_server_capture, capsys):
    report = analyze(capsys, http_server_capture)
    assert report["findings"] == [] and report["devices"] == []
    (other,) = report["other_clients"]
    assert other["ip"] == "127.0.0.1" and other["transactions"] == 1
    assert other["kinds"] == {"http": 1} and other["first"] == other["last"]
    assert report["transactions"] == []  # counted, not listed (docs/report-json.md)
    listed = analyze(capsys, http_server_capture, "--list-other-clients")
    assert listed["other_clients"] == report["other_clients"] and listed["findings"] == []
    (t,) = listed["transactions"]
    assert t["device"] == other["id"] and t["status"] == 200
    main(["analyze", str(http_server_capture), "--no-progress"])
    text = capsys.readouterr().out
    assert "127.0.0.1 (1 transaction: http 1)" in text and "not judged" in text
    main(["analyze", str(http_server_capture), "--no-progress", "--list-other-clients"])
    text = capsys.readouterr().out
    assert "other client 127.0.0.1" in text and "not judged" in text


def test_curl_named_by_device_is_judged(http_server_capture, capsys):
    report = analyze(capsys, http_server_capture, "--device", "ip=127.0.0.1")
    assert report["other_clients"] == [] and len(report["devices"]) == 1
    assert verdict(report, "UA-FORMAT")[0] == "fail"
    assert verdict(report, "HTTP-CORRUPT")[0] in ("fail", "inconclusive")
