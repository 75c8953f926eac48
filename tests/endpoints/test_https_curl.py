"""The HTTPS endpoint against curl: trust, -k, ciphers, versions, client certificates."""

from __future__ import annotations

import pytest

from harness.endpoints.https import HttpsServer
from harness.pki import DeviceCA, ServerCA

from .test_https_helpers import curl

pytestmark = pytest.mark.requirement("TLS-NEGOTIATE")


def test_curl_fetches_a_profile_over_https(https_server, tmp_path):
    https_server.expect("/CP-8831-3PCC.cfg").respond(200, body="<flat-profile/>")
    out, err, rc = curl(https_server, tmp_path, path="/CP-8831-3PCC.cfg")
    assert rc == 0, err
    assert out.endswith("\n200") and "<flat-profile/>" in out
    [hs] = https_server.wait_for_handshakes(1)
    assert hs.established and hs.application_data
    assert hs.server_name == "prov.example.test"
    assert hs.server_cert_variant == "valid"
    assert hs.chosen_version == "TLS1.3"
    assert hs.offered_cipher_suites and hs.chosen_cipher_suite in hs.offered_cipher_suites
    [ex] = https_server.requests
    assert ex.scheme == "https" and ex.url == "/CP-8831-3PCC.cfg" and ex.status == 200
    assert https_server.keylog_path.stat().st_size > 0
    keylog = https_server.keylog_path.read_text()
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog


def test_curl_rejects_a_wrong_cn_unless_told_not_to_check(tmp_path):
    ca = ServerCA()
    with HttpsServer(ca=ca, variant="wrong-cn") as server:
        server.expect("/x").respond(200, body="x")
        _, err, rc = curl(server, tmp_path, path="/x")
        assert rc == 60, err  # peer certificate cannot be authenticated with given CA / name
        [hs] = server.wait_for_handshakes(1)
        assert hs.server_cert_variant == "wrong-cn" and not hs.application_data
        assert server.requests == []
        out, err, rc = curl(server, tmp_path, "-k", path="/x")
        assert rc == 0 and out.endswith("\n200"), err
        assert len(server.requests) == 1


@pytest.mark.parametrize("variant", ["untrusted-ca", "self-signed", "expired"])
def test_curl_refuses_bad_certificates(variant, tmp_path):
    with HttpsServer(variant=variant) as server:
        _, err, rc = curl(server, tmp_path)
        assert rc == 60, err
        [hs] = server.wait_for_handshakes(1)
        assert hs.server_cert_variant == variant
        assert not hs.application_data and server.requests == []


def test_curl_tls12_only_with_one_cipher(tmp_path):
    with HttpsServer(cipher_suites=[0x0035]) as server:  # TLS_RSA_WITH_AES_256_CBC_SHA
        out, err, rc = curl(
            server, tmp_path, "--tlsv1.2", "--tls-max", "1.2", "--ciphers", "AES256-SHA"
        )
        assert rc == 0 and out.endswith("\n404"), err
        _, err, rc = curl(server, tmp_path, "--tls-max", "1.2", "--ciphers", "AES128-SHA")
        assert rc == 35, err  # handshake failure: no shared cipher
        ok, refused = server.wait_for_handshakes(2)
        assert ok.chosen_cipher_suite == 0x0035 and ok.chosen_version == "TLS1.2"
        assert ok.offered_cipher_suites == (0x0035, 0x00FF)
        assert not refused.established
        assert refused.alert is not None and refused.alert.sender == "server"
        assert refused.alert.name == "handshake_failure"


def test_curl_dhe_suite(tmp_path):
    with HttpsServer(cipher_suites=[0x0039]) as server:  # DHE-RSA-AES256-SHA
        out, err, rc = curl(server, tmp_path, "--tls-max", "1.2", "--ciphers", "DHE-RSA-AES256-SHA")
        assert rc == 0, err
        [hs] = server.wait_for_handshakes(1)
        assert hs.chosen_cipher_suite == 0x0039


def test_curl_presents_a_client_certificate(tmp_path):
    device_ca = DeviceCA()
    dev = device_ca.issue_client_cert("CP-8831-3PCC", "88012BA01234", "000e08abcdef")
    dev.write_to_path(tmp_path / "dev.pem", tmp_path / "dev.key")
    with HttpsServer(client_cert="required", client_ca=device_ca) as server:
        out, err, rc = curl(
            server,
            tmp_path,
            "--cert",
            str(tmp_path / "dev.pem"),
            "--key",
            str(tmp_path / "dev.key"),
        )
        assert rc == 0, err
        [hs] = server.wait_for_handshakes(1)
        assert hs.client_cert_requested
        assert hs.client_cert_subject == {
            "OU": "CP-8831-3PCC",
            "L": "88012BA01234",
            "ST": "000e08abcdef",
        }
        _, err, rc = curl(server, tmp_path)  # no certificate: the server refuses
        assert rc != 0
        hs2 = server.wait_for_handshakes(2)[1]
        assert not hs2.application_data and len(server.requests) == 1
