"""The HTTPS endpoint's tlslite-ng path (RC4 suites of Table 3-2, which OpenSSL here cannot
serve): a tlslite-ng client gets the profile and the same records as over OpenSSL;
OpenSSL clients (curl, Python ssl) without RC4 fail cleanly; EXPORT stays inconclusive."""

from __future__ import annotations

import errno
import random
import socket
import ssl

import pytest

from harness.endpoints.https import HttpsServer, is_legacy_only
from harness.endpoints.legacy_tls import TLSError  # tlslite-ng's, imported quietly there
from harness.observe.events import HttpExchange, TlsHandshake
from harness.pki import SERVER_CERT_VARIANTS, DeviceCA
from harness.spec.ciphers import TABLE_3_2, cipher_suite_name

from .test_https_helpers import curl
from .test_https_legacy_helpers import Refused, TLSConnection, tlslite_get, tlslite_settings

RC4 = [s for s in TABLE_3_2 if "_RC4_128_" in cipher_suite_name(s)]
EXPORT = [s for s in TABLE_3_2 if "_EXPORT" in cipher_suite_name(s)]
PROFILE = "/CP-8831-3PCC.cfg"
# what tlslite-ng answers a ClientHello without its suites (TLS 1.3-capable clients: the latter)
NO_SHARED_SUITE = {"handshake_failure", "insufficient_security"}

pytestmark = pytest.mark.requirement("TLS-NEGOTIATE")


def get(server: HttpsServer, suites: list[int], **kw) -> object:
    return tlslite_get("127.0.0.1", server.port, PROFILE, sni=server.fqdn, suites=suites, **kw)


def test_the_rc4_suites_of_table_3_2_are_served_here():
    assert sorted(RC4) == [0x0004, 0x0005]
    for suite in RC4:
        assert is_legacy_only(suite)
        assert HttpsServer.can_offer(suite) and HttpsServer.offer_verdict(suite) == "ok"


@pytest.mark.parametrize("suite", EXPORT, ids=lambda s: f"0x{s:04x}")
def test_export_suites_stay_explicitly_inconclusive(suite):
    reason = f"inconclusive: this machine's TLS stack cannot offer 0x{suite:04x}"
    assert not HttpsServer.can_offer(suite) and HttpsServer.offer_verdict(suite) == reason
    with pytest.raises(ValueError, match=reason):
        HttpsServer(cipher_suites=[suite])


@pytest.mark.parametrize("version", ["TLS1.0", "TLS1.2"])
@pytest.mark.parametrize("suite", RC4, ids=lambda s: f"0x{s:04x}")
def test_tlslite_client_offering_only_rc4_gets_the_profile(suite, version, tmp_path):
    keylog = tmp_path / "keys.log"
    with HttpsServer(cipher_suites=[suite], keylog_path=keylog) as server:
        server.expect(PROFILE).respond(200, body="<flat-profile/>")
        got = get(server, [suite], max_version=version)
        assert (got.status, got.body) == (200, b"<flat-profile/>")
        assert got.cipher_suite == suite
        [hs] = server.wait_for_handshakes(1)
        [x] = server.wait_for_requests(1)
    assert isinstance(hs, TlsHandshake)
    # offered suites as parsed from the wire: the client's one suite (+ the RFC 5746 SCSV)
    assert [s for s in hs.offered_cipher_suites if s != 0x00FF] == [suite]
    assert hs.chosen_cipher_suite == suite and hs.chosen_version == version
    assert hs.established and hs.application_data and hs.alert is None
    assert hs.server_cert_variant == "valid" and hs.server_cert_subject_cn == "prov.example.test"
    assert hs.server_cert_chain and hs.server_cert_chain[0].key_type == "rsa"
    assert hs.server_name == "prov.example.test" and hs.ja3 and hs.ja4
    assert isinstance(x, HttpExchange) and x.scheme == "https" and x.status == 200
    assert x.client == hs.client
    # the key log lets Wireshark decrypt the capture: the client's own master secret
    line = f"CLIENT_RANDOM {got.client_random.hex()} {got.master_secret.hex()}"
    assert keylog.read_text().splitlines() == [line]


@pytest.mark.parametrize("suite", RC4, ids=lambda s: f"0x{s:04x}")
def test_curl_without_rc4_fails_cleanly_with_an_alert(suite, tmp_path):
    with HttpsServer(cipher_suites=[suite]) as server:
        server.expect(PROFILE).respond(200, body="secret")
        out, err, code = curl(server, tmp_path, path=PROFILE)
        assert code != 0 and "secret" not in out, (out, err)
        [hs] = server.wait_for_handshakes(1)
        assert server.requests == []
        assert server.problems == []
    assert not hs.established and not hs.application_data
    assert suite not in hs.offered_cipher_suites and hs.offered_cipher_suites
    assert hs.alert is not None and hs.alert.sender == "server"
    assert hs.alert.name in NO_SHARED_SUITE
    assert hs.chosen_cipher_suite is None and "handshake failed" in hs.note


def test_python_ssl_client_fails_cleanly_and_the_server_keeps_serving():
    with HttpsServer(cipher_suites=[0x0005]) as server:
        server.expect(PROFILE).respond(200, body="ok")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        server.ca.configure_trust(ctx)
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with (
            raw,
            pytest.raises(ssl.SSLError, match="ALERT_(HANDSHAKE_FAILURE|INSUFFICIENT_SECURITY)"),
        ):
            ctx.wrap_socket(raw, server_hostname=server.fqdn)
        assert get(server, [0x0005]).body == b"ok"
        first, second = server.wait_for_handshakes(2)
    assert first.alert is not None and first.alert.sender == "server" and not first.established
    assert first.alert.name in NO_SHARED_SUITE
    assert second.established and second.chosen_cipher_suite == 0x0005


def test_client_giving_up_mid_handshake_is_recorded_as_such():
    with HttpsServer(cipher_suites=[0x0004]) as server:
        with pytest.raises(Refused):
            get(server, [0x0005, 0x0004], refuse=frozenset({0x0004}))
        [hs] = server.wait_for_handshakes(1)
        assert server.requests == [] and server.problems == []
    assert hs.chosen_cipher_suite == 0x0004 and set(hs.offered_cipher_suites) >= {4, 5}
    assert not hs.established and not hs.application_data and hs.server_cert_chain
    assert "handshake failed" in hs.note


def test_rc4_for_one_device_openssl_for_the_others():
    with HttpsServer() as server:
        server.personality(sni="rc4.example.test", cipher_suites=[0x0005])
        server.expect(PROFILE).respond(200, body="ok")
        by_sni = tlslite_get(
            "127.0.0.1", server.port, PROFILE, sni="rc4.example.test", suites=[0x0005, 0x002F]
        )
        other = get(server, [0x0005, 0x002F])
        legacy, default = server.wait_for_handshakes(2)
    assert by_sni.cipher_suite == 0x0005 and legacy.chosen_cipher_suite == 0x0005
    assert other.cipher_suite == 0x002F and default.chosen_cipher_suite == 0x002F


def test_max_version_is_honoured_on_the_legacy_path():
    with HttpsServer(cipher_suites=[0x0005], max_version="TLS1.0") as server:
        server.expect(PROFILE).respond(200, body="ok")
        got = get(server, [0x0005])
        [hs] = server.wait_for_handshakes(1)
    assert got.version == (3, 1) and hs.chosen_version == "TLS1.0"
    assert "TLS1.2" in hs.offered_versions


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"cipher_suites": [0x0005, 0x002F]}, "cannot mix 0x0005"),
        ({"cipher_suites": [0x0005], "min_version": "TLS1.3"}, "min_version 'TLS1.3'"),
        (
            {"cipher_suites": [0x0005], "min_version": "TLS1.2", "max_version": "TLS1.0"},
            "is above max_version",
        ),
        ({"cipher_suites": [0x0004], "client_cert": "optional"}, "needs client_ca"),
    ],
)
def test_settings_the_legacy_path_cannot_honour_fail_at_configuration(settings, message):
    with pytest.raises(ValueError, match=message):
        HttpsServer(**settings)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",  # a ClientHello cut short
        b"\x16\x03\x01\x00\x04\x01\x00\x00\x00",  # an empty ClientHello body
        b"\x15\x03\x01\x00\x02\x02\x28",  # an alert instead of a hello
    ],
    ids=["close", "short-hello", "empty-hello", "alert-first"],
)
def test_hostile_clients_do_not_stop_the_legacy_path(payload):
    with HttpsServer(cipher_suites=[0x0005], handshake_timeout=5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.recv(100)
        [hs] = server.wait_for_handshakes(1)
        assert not hs.established and hs.note
        server.expect(PROFILE).respond(200, body="still here")
        assert get(server, [0x0005]).body == b"still here"


def rc4_client_hello() -> bytes:
    """The first flight of a tlslite-ng client offering RC4 (its bytes, captured in memory)."""
    sent = bytearray()

    class Capture:
        def send(self, data):
            sent.extend(data)
            return len(data)

        def sendall(self, data):
            sent.extend(data)

        def recv(self, n):
            raise BlockingIOError(errno.EWOULDBLOCK, "capture only")

    steps = TLSConnection(Capture()).handshakeClientCert(
        settings=tlslite_settings([0x0005]), serverName="prov.example.test", async_=True
    )
    assert next(steps) == 0  # the hello is out; it waits for the server
    return bytes(sent)


def test_garbage_after_a_good_client_hello_never_stops_the_legacy_path():
    rng = random.Random(3)
    hello = rc4_client_hello()
    tails = [
        bytes([t, 3, 3, 0, n]) + rng.randbytes(n) for t in (20, 21, 22, 23, 99) for n in (1, 7)
    ]
    tails += [rng.randbytes(rng.randrange(1, 300)) for _ in range(10)]
    with HttpsServer(cipher_suites=[0x0005], handshake_timeout=5) as server:
        for tail in tails:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(hello + tail)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
        got = server.wait_for_handshakes(len(tails))
        assert all(not hs.established and hs.note for hs in got)
        assert all([s for s in hs.offered_cipher_suites if s != 0xFF] == [5] for hs in got)
        assert server.problems == []
        server.expect(PROFILE).respond(200, body="still here")
        assert get(server, [0x0005]).body == b"still here"


def refused(server: HttpsServer, suites: tuple[int, ...] = (0x0005,), **kw) -> bool:
    """True when the server ended the connection without an answer (at or right after the
    handshake: tlslite-ng checks the client's certificate once the handshake is through)."""
    try:
        got = get(server, list(suites), **kw)
    except (TLSError, OSError):
        return True
    return got.status == 0 and got.body == b""


@pytest.mark.requirement("TLS-CLIENT-CERT")
def test_client_certificate_on_the_legacy_path():
    device_ca = DeviceCA()
    own = device_ca.issue_client_cert("CP-8831-3PCC", "88012BA01234", "000e08abcdef")
    with HttpsServer(cipher_suites=[0x0005], client_cert="optional", client_ca=device_ca) as server:
        server.expect(PROFILE).respond(200, body="ok")
        assert get(server, [0x0005], client_cert=own).body == b"ok"
        assert get(server, [0x0005]).body == b"ok"  # optional: none is fine
        # a certificate from another CA is refused
        assert refused(server, client_cert=DeviceCA().issue_client_cert("X", "1", "2"))
        signed, unsigned, foreign = server.wait_for_handshakes(3)
        assert len(server.requests) == 2
    assert all(hs.client_cert_requested for hs in (signed, unsigned, foreign))
    assert signed.client_cert_subject == {
        "OU": "CP-8831-3PCC",
        "L": "88012BA01234",
        "ST": "000e08abcdef",
    }
    assert unsigned.client_cert_subject is None and unsigned.established
    assert not foreign.application_data and "not issued by the client CA" in foreign.note
    assert foreign.alert is not None and foreign.alert.sender == "server"


def test_required_client_certificate_missing_is_refused():
    with HttpsServer(
        cipher_suites=[0x0004], client_cert="required", client_ca=DeviceCA()
    ) as server:
        assert refused(server, suites=[0x0004])
        [hs] = server.wait_for_handshakes(1)
        assert server.requests == []
    assert "no certificate" in hs.note and hs.alert is not None and hs.alert.sender == "server"


@pytest.mark.parametrize("variant", SERVER_CERT_VARIANTS)
def test_every_certificate_variant_is_served_on_the_legacy_path(variant):
    with HttpsServer(cipher_suites=[0x0005], variant=variant) as server:
        server.expect(PROFILE).respond(200, body="ok")
        if variant == "rsa-512":  # tlslite-ng's client refuses keys under 1023 bits
            with pytest.raises(TLSError, match="too small"):
                get(server, [0x0005])
        else:
            assert get(server, [0x0005]).body == b"ok"
        [hs] = server.wait_for_handshakes(1)
    assert hs.server_cert_variant == variant and hs.server_cert_chain
    if variant == "rsa-512":
        assert hs.server_cert_chain[0].key_bits == 512 and not hs.application_data
        assert hs.alert is not None and hs.alert.sender == "client"
    else:
        assert hs.established and hs.chosen_cipher_suite == 0x0005
