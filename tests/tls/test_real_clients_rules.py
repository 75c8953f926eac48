"""The TLS rules judging real TLS clients nobody here wrote, against the lab HTTPS endpoint.

curl with and without `-k` for certificate variants (TLS-SERVER-CN, TLS-SERVER-CA),
`openssl s_client -cipher` with known lists (TLS-CIPHERS), Python's ssl client with a
client certificate (TLS-CLIENT-CERT). The "device" is the client, judged as a
cisco-8831-3pcc with the facts the scenario would set.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

from harness.endpoints.https import HttpsServer
from harness.observe import build_timelines
from harness.pki import DeviceCA, ServerCA
from harness.rules import RuleContext, Verdict, evaluate
from harness.rules.registry import DeviceIdentity
from harness.spec import load_family
from harness.spec.ciphers import cipher_suite_name

FQDN = "prov.example.test"
PRODUCT, SERIAL, MAC = "CP-8831-3PCC", "88012BA01234", "000e08abcdef"
TIMEOUT = 20


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool} (make system)")


def judge(server: HttpsServer, rule: str, connections: int, **facts) -> tuple[Verdict, str]:
    server.wait_for_handshakes(connections)
    (timeline,) = build_timelines(server.recorder.observations)
    ctx = RuleContext(
        load_family("cisco-8831-3pcc"),
        DeviceIdentity(product=PRODUCT, serial=SERIAL, mac=MAC),
        facts=dict(facts),
    )
    (f,) = evaluate([timeline], ctx, only=[rule])
    return f.verdict, f.why


def curl(server: HttpsServer, tmp_path, *args: str) -> int:
    need("curl")
    ca = server.ca.cert_pem.write_to_path(tmp_path / "server-ca.pem")
    cmd = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--cacert", str(ca)]
    cmd += ["--resolve", server.resolve, *args, f"{server.url}/CP-8831-3PCC.cfg"]
    return subprocess.run(cmd, capture_output=True, timeout=TIMEOUT).returncode


@pytest.fixture
def profile_server():
    def start(**kwargs) -> HttpsServer:
        server = HttpsServer(ca=ServerCA(), fqdn=FQDN, **kwargs)
        server.expect("/CP-8831-3PCC.cfg").respond(200, body="<flat-profile/>")
        server.start()
        started.append(server)
        return server

    started: list[HttpsServer] = []
    try:
        yield start
    finally:
        for s in started:
            s.stop()


# -- curl and the certificate variants ------------------------------------------------------
def test_curl_k_accepting_a_wrong_cn_fails_tls_server_cn(profile_server, tmp_path):
    server = profile_server(variant="wrong-cn")
    assert curl(server, tmp_path, "-k") == 0
    verdict, why = judge(server, "TLS-SERVER-CN", 1)
    assert verdict is Verdict.FAIL and "wrong-cn" in why and "TLS_" in why


def test_curl_with_the_right_ca_refusing_a_wrong_cn_passes(profile_server, tmp_path):
    server = profile_server(variant="wrong-cn")
    assert curl(server, tmp_path) == 60  # certificate does not name the host
    server.personality(sni=FQDN, variant="valid")
    assert curl(server, tmp_path) == 0  # the control: a valid certificate is taken
    verdict, why = judge(server, "TLS-SERVER-CN", 2)
    assert verdict is Verdict.PASS, why


@pytest.mark.parametrize("variant", ["self-signed", "untrusted-ca"])
def test_curl_and_the_server_ca(profile_server, tmp_path, variant):
    server = profile_server(variant=variant)
    assert curl(server, tmp_path) == 60
    assert judge(server, "TLS-SERVER-CA", 1)[0] is Verdict.PASS
    assert curl(server, tmp_path, "-k") == 0
    verdict, why = judge(server, "TLS-SERVER-CA", 2)
    assert verdict is Verdict.FAIL and variant in why


def test_curl_accepts_the_cn_suffix_form_only_with_k(profile_server, tmp_path):
    server = profile_server(variant="cn-suffix")
    # curl checks names against the SAN only; the suffix variant has none, so curl refuses:
    # the rule must say so (a client that is not a spec-following phone).
    assert curl(server, tmp_path) == 60
    verdict, why = judge(server, "TLS-CN-SUFFIX", 1)
    assert verdict is Verdict.FAIL and "cn-suffix" in why


# -- openssl s_client and the offered suites --------------------------------------------------
def s_client(server: HttpsServer, ciphers: str) -> None:
    need("openssl")
    cmd = ["openssl", "s_client", "-connect", f"{server.host}:{server.port}"]
    cmd += ["-servername", FQDN, "-tls1_2", "-cipher", f"{ciphers}:@SECLEVEL=0"]
    subprocess.run(cmd, input=b"", capture_output=True, timeout=TIMEOUT)


def test_s_client_with_table_3_2_suites_passes_tls_ciphers(profile_server):
    server = profile_server()
    s_client(server, "DHE-RSA-AES256-SHA:AES256-SHA:DHE-RSA-AES128-SHA:AES128-SHA")
    verdict, why = judge(server, "TLS-CIPHERS", 1)
    assert verdict is Verdict.PASS, why
    (hs,) = server.handshakes
    assert 0x00FF in hs.offered_cipher_suites  # s_client's renegotiation SCSV, ignored


def test_s_client_offering_a_gcm_suite_fails_tls_ciphers(profile_server):
    server = profile_server()
    s_client(server, "AES256-SHA:AES128-GCM-SHA256")
    verdict, why = judge(server, "TLS-CIPHERS", 1)
    assert verdict is Verdict.FAIL and cipher_suite_name(0x009C) in why


def test_s_client_closing_after_the_handshake_fails_tls_negotiate(profile_server):
    server = profile_server(cipher_suites=[0x0035])
    s_client(server, "AES256-SHA")  # completes the handshake, then closes with no request
    verdict, why = judge(server, "TLS-NEGOTIATE", 1)
    assert verdict is Verdict.FAIL and cipher_suite_name(0x0035) in why


# -- Python's ssl client with a client certificate --------------------------------------------
def python_fetch(server: HttpsServer, tmp_path, cert) -> None:
    ctx = ssl.create_default_context(cafile=server.ca.cert_pem.write_to_path(tmp_path / "ca.pem"))
    cert.cert_pem.write_to_path(tmp_path / "client.pem")
    cert.private_key_pem.write_to_path(tmp_path / "client.key")
    ctx.load_cert_chain(tmp_path / "client.pem", tmp_path / "client.key")
    request = (
        f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: {FQDN}\r\n"
        f"User-Agent: cisco/{PRODUCT} ({SERIAL})\r\nConnection: close\r\n\r\n"
    )
    raw = socket.create_connection((server.host, server.port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname=FQDN) as tls:
        tls.sendall(request.encode())
        while tls.recv(4096):
            pass


@pytest.mark.parametrize(
    ("which", "verdict"),
    [("own", Verdict.PASS), ("other", Verdict.FAIL), ("generic", Verdict.FAIL)],
)
def test_python_client_certificate(profile_server, tmp_path, which, verdict):
    device_ca = DeviceCA()
    server = profile_server(client_cert="optional", client_ca=device_ca)
    cert = {
        "own": lambda: device_ca.issue_client_cert(PRODUCT, SERIAL, MAC),
        "other": lambda: device_ca.issue_client_cert(PRODUCT, "OTHER0001", MAC),
        "generic": device_ca.generic_client_cert,
    }[which]()
    python_fetch(server, tmp_path, cert)
    got, why = judge(server, "TLS-CLIENT-CERT", 1)
    assert got is verdict, why
