"""The HTTPS endpoint against Python's ssl client and openssl s_client: client
certificates, refused certificates (alert, no request), single-suite and per-device
personalities, suites this machine cannot offer."""

from __future__ import annotations

import socket
import ssl

import pytest

from harness.endpoints.https import HttpsServer, is_legacy_only
from harness.pki import DeviceCA, ServerCA, generic_client_cert
from harness.spec.ciphers import TABLE_3_2

from .test_https_helpers import s_client

GET = b"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov.example.test\r\nConnection: close\r\n\r\n"


def fetch(
    server: HttpsServer,
    ctx: ssl.SSLContext,
    *,
    sni: str | None = None,
    source: str = "127.0.0.1",
) -> bytes:
    address = ("127.0.0.1", server.port)
    raw = socket.create_connection(address, timeout=10, source_address=(source, 0))
    with raw, ctx.wrap_socket(raw, server_hostname=sni or server.fqdn) as tls:
        tls.sendall(GET)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data


def trusting(server_ca: ServerCA, max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    server_ca.configure_trust(ctx)
    if max_version:
        ctx.maximum_version = max_version
    return ctx


@pytest.mark.requirement("TLS-CLIENT-CERT")
@pytest.mark.parametrize("generic", [False, True])
def test_python_client_certificate_subject_recorded(generic):
    device_ca = DeviceCA()
    if generic:
        cert = generic_client_cert(device_ca)
        want = {"OU": "cisco.com", "L": "ciscogeneric", "ST": "ciscogeneric"}
    else:
        cert = device_ca.issue_client_cert("CP-8831-3PCC", "88012BA01234", "000e08abcdef")
        want = {"OU": "CP-8831-3PCC", "L": "88012BA01234", "ST": "000e08abcdef"}
    with HttpsServer(client_cert="required", client_ca=device_ca) as server:
        server.expect("/CP-8831-3PCC.cfg").respond(200, body="ok")
        ctx = trusting(server.ca)
        cert.configure_cert(ctx)
        assert fetch(server, ctx).endswith(b"ok")
        [hs] = server.wait_for_handshakes(1)
        assert hs.client_cert_subject == want
        [ex] = server.requests
        assert ex.status == 200 and ex.scheme == "https"


@pytest.mark.requirement("TLS-SERVER-CA")
@pytest.mark.parametrize("max_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_client_refusing_the_certificate_leaves_an_alert_and_no_request(max_version):
    with HttpsServer(variant="untrusted-ca") as server:
        server.expect("/CP-8831-3PCC.cfg").respond(200, body="ok")
        ctx = trusting(server.ca, max_version)
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(server, ctx)
        [hs] = server.wait_for_handshakes(1)
        assert not hs.established and not hs.application_data
        assert hs.alert is not None and hs.alert.sender == "client"
        assert hs.alert.name == "unknown_ca" and hs.alert.level == 2
        assert hs.server_cert_variant == "untrusted-ca"
        assert server.requests == []


def test_keylog_written(https_server):
    https_server.expect("/CP-8831-3PCC.cfg").respond(200, body="ok")
    fetch(https_server, trusting(https_server.ca, ssl.TLSVersion.TLSv1_2))
    https_server.wait_for_handshakes(1)
    text = https_server.keylog_path.read_text()
    assert "CLIENT_RANDOM " in text  # TLS 1.2 master secret line, Wireshark's format


def test_s_client_single_suite_personality_refuses_others():
    with HttpsServer(cipher_suites=[0x0035]) as server:
        ok = s_client(server, "-tls1_2", "-cipher", "AES256-SHA")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "AES256-SHA" in ok.stdout
        bad = s_client(server, "-tls1_2", "-cipher", "AES128-SHA:DHE-RSA-AES256-SHA")
        assert bad.returncode != 0
        assert "handshake failure" in bad.stderr
        first, second = server.wait_for_handshakes(2)
        assert first.established and first.chosen_cipher_suite == 0x0035
        assert not second.established and second.alert and second.alert.sender == "server"


def test_version_personality():
    with HttpsServer(min_version="TLS1.2", max_version="TLS1.2") as server:
        assert s_client(server, "-tls1_3").returncode != 0
        assert s_client(server, "-tls1_2").returncode == 0
        refused, ok = server.wait_for_handshakes(2)
        assert refused.offered_versions == ("TLS1.3",) and not refused.established
        assert ok.chosen_version == "TLS1.2"


def test_personality_by_sni_and_by_client_address():
    server_ca = ServerCA()
    with HttpsServer(ca=server_ca) as server:
        server.expect("/CP-8831-3PCC.cfg").respond(200, body="ok")
        server.personality(sni="a.example.test", variant="wrong-cn", cipher_suites=[0x0035])
        server.personality(client_ip="127.0.0.2", variant="cn-suffix")
        ctx = trusting(server_ca, ssl.TLSVersion.TLSv1_2)
        ctx.check_hostname = False
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # Python's default list leaves out AES256-SHA
        fetch(server, ctx)  # default
        fetch(server, ctx, sni="a.example.test")
        fetch(server, ctx, source="127.0.0.2")
        default, by_sni, by_ip = server.wait_for_handshakes(3)
        assert default.server_cert_variant == "valid"
        assert by_sni.server_cert_variant == "wrong-cn" and by_sni.chosen_cipher_suite == 0x0035
        assert by_sni.server_cert_subject_cn == "other-host.example.test"
        assert by_ip.server_cert_variant == "cn-suffix" and by_ip.client == (
            "127.0.0.2",
            by_ip.client[1],
        )
        assert by_ip.server_cert_subject_cn == "prov.example.test/mailto:admin@example.test"


@pytest.mark.requirement("TLS-CIPHERS")
@pytest.mark.parametrize("suite", TABLE_3_2, ids=lambda s: f"0x{s:04x}")
def test_table_3_2_suites_are_served_or_explicitly_inconclusive(suite):
    if is_legacy_only(suite):  # RC4: served by tlslite-ng, see test_https_legacy.py
        assert HttpsServer.offer_verdict(suite) == "ok"
    elif HttpsServer.can_offer(suite):
        assert HttpsServer.offer_verdict(suite) == "ok"
        with HttpsServer(cipher_suites=[suite], min_version="TLS1.0") as server:
            r = s_client(server, "-tls1_2", "-cipher", "ALL:@SECLEVEL=0")
            assert r.returncode == 0, r.stderr
            assert server.wait_for_handshakes(1)[0].chosen_cipher_suite == suite
    else:
        reason = f"inconclusive: this machine's TLS stack cannot offer 0x{suite:04x}"
        assert HttpsServer.offer_verdict(suite) == reason
        with pytest.raises(ValueError, match=reason):
            HttpsServer(cipher_suites=[suite])


def test_garbage_instead_of_a_client_hello_does_not_stop_the_server(https_server):
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.recv(100)
    [hs] = https_server.wait_for_handshakes(1)
    assert not hs.established and "handshake failed" in hs.note
    assert any(p.startswith("TLS from 127.0.0.1") for p in https_server.problems)
    https_server.expect("/CP-8831-3PCC.cfg").respond(200, body="ok")
    assert fetch(https_server, trusting(https_server.ca)).endswith(b"ok")
