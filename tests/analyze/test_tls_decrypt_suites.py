"""Decryption with a key log, suite by suite: curl against openssl s_server pinned to one
suite and version, captured on lo; the analyzer's decrypted HTTP must equal tshark's with
the same key log, and the record must name the suite and version that were pinned."""

from __future__ import annotations

import shutil

import pytest

from harness.analyze.engine import analyze_capture
from harness.analyze.tls import TlsOptions
from harness.observe.events import HttpExchange, TlsHandshake
from harness.pki.cli import init_pki
from tests.analyze.conftest import loopback_capture
from tests.analyze.tls_wire_helpers import FQDN, PATH, UA, curl_insecure, s_servers, tshark_http

pytestmark = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("curl") and shutil.which("tcpdump")),
    reason="openssl, curl and tcpdump are needed",
)
OLD = "@SECLEVEL=0"
# (id, s_server args, curl args, suite, version)
CASES = [
    ("tls12-aes256-cbc-sha", ["-tls1_2", "-cipher", "AES256-SHA"], (), 0x0035, "TLS1.2"),
    ("tls12-dhe-aes128-cbc", ["-tls1_2", "-cipher", "DHE-RSA-AES128-SHA"], (), 0x0033, "TLS1.2"),
    (
        "tls12-cbc-mac-then-encrypt",
        ["-tls1_2", "-cipher", "AES128-SHA", "-no_etm"],
        (),
        0x002F,
        "TLS1.2",
    ),
    (
        "tls12-aes256-gcm-sha384",
        ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"],
        (),
        0xC030,
        "TLS1.2",
    ),
    ("tls12-chacha20", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"], (), 0xCCA8, "TLS1.2"),
    (
        "tls11-aes128-cbc",
        ["-tls1_1", "-cipher", f"AES128-SHA:{OLD}"],
        ("--tlsv1.1", "--tls-max", "1.1", "--ciphers", f"AES128-SHA:{OLD}"),
        0x002F,
        "TLS1.1",
    ),
    (
        "tls10-aes128-cbc-implicit-iv",
        ["-tls1", "-cipher", f"AES128-SHA:{OLD}", "-no_etm"],
        ("--tlsv1.0", "--tls-max", "1.0", "--ciphers", f"AES128-SHA:{OLD}"),
        0x002F,
        "TLS1.0",
    ),
    (
        "tls13-aes256-gcm",
        ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
        (),
        0x1302,
        "TLS1.3",
    ),
    (
        "tls13-chacha20",
        ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
        (),
        0x1303,
        "TLS1.3",
    ),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    init_pki(d, FQDN, [], ["valid"])
    return d


def _fetch(cap, keylog, port: int, curl_args: tuple[str, ...] = ()) -> int:
    """curl -k once, captured on lo: the HTTP status."""
    with loopback_capture(cap, f"tcp port {port}"):
        return curl_insecure(port, keylog, curl_args)


@pytest.mark.parametrize(
    ("server_args", "curl_args", "suite", "version"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decrypted_http_equals_tshark(tmp_path, pki, server_args, curl_args, suite, version):
    cap, keylog = tmp_path / "c.pcap", tmp_path / "keys.log"
    with s_servers(pki, ["valid"], tmp_path / "root", "", server_args) as ports:
        status = _fetch(cap, keylog, ports["valid"], curl_args)
    if status != 200:
        pytest.skip(f"this machine's OpenSSL would not serve {server_args} to curl {curl_args}")
    r = analyze_capture(cap, tls=TlsOptions(keylog_text=keylog.read_text()))
    (hs,) = [o for o in r.observations if isinstance(o, TlsHandshake)]
    assert (hs.chosen_cipher_suite, hs.chosen_version, hs.decrypted) == (suite, version, True)
    ours = [
        (x.method, x.url, x.user_agent, x.status)
        for x in r.observations
        if isinstance(x, HttpExchange)
    ]
    assert ours == [("GET", PATH, UA, 200)]
    pytest.importorskip("pyshark")
    assert ours == tshark_http(cap, keylog)
    assert not [p for p in r.problems if "decrypt" in p[1]]


def test_a_wrong_key_log_decrypts_nothing_and_says_so(tmp_path, pki):
    cap, keylog = tmp_path / "c.pcap", tmp_path / "keys.log"
    with s_servers(pki, ["valid"], tmp_path / "root", "1.2") as ports:
        assert _fetch(cap, keylog, ports["valid"]) == 200
    lines = keylog.read_text().split()
    wrong = "\n".join(
        f"CLIENT_RANDOM {lines[i + 1]} {'00' * 48}"
        for i, w in enumerate(lines)
        if w == "CLIENT_RANDOM"
    )
    r = analyze_capture(cap, tls=TlsOptions(keylog_text=wrong))
    assert not [o for o in r.observations if isinstance(o, HttpExchange)]
    assert any("does not decrypt" in why for _, why in r.problems)
    other = analyze_capture(
        cap, tls=TlsOptions(keylog_text=f"CLIENT_RANDOM {'11' * 32} {'00' * 48}")
    )
    assert any("no CLIENT_RANDOM in the key log" in why for _, why in other.problems)


@pytest.mark.parametrize("version", ["TLS1.0", "TLS1.2"])
@pytest.mark.parametrize("suite", [0x0005, 0x0004], ids=["rc4-sha", "rc4-md5"])
def test_rc4_from_the_harness_endpoint_decrypts_to_the_endpoints_own_record(
    tmp_path, suite, version
):
    """RC4 (Table 3-2) through the harness's HTTPS endpoint (tlslite-ng path) and its key
    log: the capture's exchange equals what the endpoint recorded, and tshark's."""
    from harness.endpoints.https import HttpsServer
    from tests.endpoints.test_https_legacy_helpers import tlslite_get

    cap, keylog = tmp_path / "c.pcap", tmp_path / "keys.log"
    with HttpsServer(cipher_suites=[suite], keylog_path=keylog) as server:
        server.expect(PATH).respond(200, body="<flat-profile/>")
        with loopback_capture(cap, f"tcp port {server.port}"):
            got = tlslite_get(
                "127.0.0.1", server.port, PATH, sni=server.fqdn, suites=[suite],
                max_version=version, user_agent=UA,
            )  # fmt: skip
        assert got.status == 200
        [live] = server.wait_for_requests(1)
    r = analyze_capture(cap, tls=TlsOptions(keylog_text=keylog.read_text()))
    (hs,) = [o for o in r.observations if isinstance(o, TlsHandshake)]
    assert (hs.chosen_cipher_suite, hs.chosen_version, hs.decrypted) == (suite, version, True)
    (x,) = [o for o in r.observations if isinstance(o, HttpExchange)]
    fields = ("method", "url", "user_agent", "status", "scheme", "response_body_sha256")
    assert [getattr(x, f) for f in fields] == [getattr(live, f) for f in fields]
    pytest.importorskip("pyshark")
    assert [(x.method, x.url, x.user_agent, x.status)] == tshark_http(cap, keylog)


def test_tls13_client_certificate_is_read_from_the_decrypted_handshake(tmp_path):
    pki = tmp_path / "pki"
    init_pki(pki, FQDN, [("CP-8831-3PCC", "88012BA01234", "000e08abcdef")], ["valid"])
    client = pki / "clients" / "88012BA01234"
    cap, keylog = tmp_path / "c.pcap", tmp_path / "keys.log"
    server_args = ["-tls1_3", "-verify", "1", "-CAfile", str(pki / "device-ca.pem")]
    curl_args = (
        "--cert",
        str(client.with_suffix(".pem")),
        "--key",
        str(client.with_suffix(".key")),
    )
    with s_servers(pki, ["valid"], tmp_path / "root", "", server_args) as ports:
        assert _fetch(cap, keylog, ports["valid"], curl_args) == 200
    (hs,) = [o for o in analyze_capture(cap).observations if isinstance(o, TlsHandshake)]
    assert hs.client_cert_subject is None  # encrypted: unseen without the key log
    r = analyze_capture(cap, tls=TlsOptions(keylog_text=keylog.read_text()))
    (hs,) = [o for o in r.observations if isinstance(o, TlsHandshake)]
    assert hs.client_cert_requested and hs.client_cert_subject["L"] == "88012BA01234"
    assert hs.device.serial == "88012BA01234"
