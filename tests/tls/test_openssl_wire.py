"""Real OpenSSL clients and servers, captured by tcpdump, parsed by TlsConversation and
cross-checked against tshark's dissection of the same capture."""

from __future__ import annotations

import hashlib

import pytest

from harness.spec.ciphers import is_grease
from harness.tls import TlsConversation, parse_client_hello
from tests.tls.wire import (
    SERVER_NAME,
    conversation_from_pcap,
    openssl_session,
    streams_from_pcap,
    tshark_fields,
)

pytestmark = pytest.mark.usefixtures("real_tools")

CLIENT_HELLO_FIELDS = (
    "tls.handshake.ciphersuite",
    "tls.handshake.extensions_server_name",
    "tls.handshake.ja3",
    "tls.handshake.ja3_full",
    "tls.handshake.extension.type",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.version",
)


def _ints(field: str) -> list[int]:
    return [int(v, 0) for v in field.split(",") if v]


def ja4_from_tshark(row: list[str]) -> str:
    """JA4 recomputed by hand from tshark's fields (tshark 4.0 has no ja4 field).

    a: 't' + version (max supported_version else handshake version: 13/12/11/10)
       + 'd' if SNI else 'i' + 2-digit counts of ciphers and extensions (GREASE ignored)
       + first/last character of the first ALPN value ('00' when none);
    b: sha256 of the sorted 4-hex-digit cipher list, comma-joined, first 12 hex digits;
    c: sha256 of sorted extensions without SNI (0000) and ALPN (0010), '_', then the
       signature algorithms in wire order; first 12 hex digits."""
    ciphers = [c for c in _ints(row[0]) if not is_grease(c)]
    exts = [e for e in _ints(row[4]) if not is_grease(e)]
    sigalgs = [s for s in _ints(row[5]) if not is_grease(s)]
    versions = [v for v in _ints(row[6]) if not is_grease(v)]
    version = max(versions) if versions else int(row[8], 0)
    codes = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}
    alpn = row[7].split(",")[0] if row[7] else ""
    a = "t" + codes[version] + ("d" if 0 in exts else "i")
    a += f"{len(ciphers):02d}{len(exts):02d}" + (alpn[0] + alpn[-1] if alpn else "00")
    b = hashlib.sha256(",".join(sorted(f"{c:04x}" for c in ciphers)).encode()).hexdigest()
    c_text = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0, 0x10)))
    c_text += "_" + ",".join(f"{s:04x}" for s in sigalgs)
    c = hashlib.sha256(c_text.encode()).hexdigest()
    return f"{a}_{b[:12]}_{c[:12]}"


CASES = [
    pytest.param(["-tls1_2", "-cipher", "AES256-SHA:AES128-SHA"], 0x0035, id="tls12-rsa-aes256"),
    pytest.param(["-tls1_2", "-cipher", "DHE-RSA-AES256-SHA"], 0x0039, id="tls12-dhe"),
    pytest.param(
        ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA", "-alpn", "http/1.1"],
        0xC02F,
        id="tls12-ecdhe-alpn",
    ),
    pytest.param(["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"], 0x1302, id="tls13-aes256"),
    pytest.param(
        ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"],
        0x1303,
        id="tls13-chacha",
    ),
]


@pytest.mark.parametrize(("client_args", "chosen"), CASES)
def test_conversation_matches_tshark(tmp_path, pki, client_args, chosen):
    run = openssl_session(tmp_path, pki, client_args=[*client_args, "-CAfile", str(pki.ca)])
    assert run.client_rc == 0, run.client_output
    conv = conversation_from_pcap(run.pcap, run.port)
    assert conv.errors == []

    (ch_row,) = tshark_fields(run.pcap, run.port, "tls.handshake.type == 1", *CLIENT_HELLO_FIELDS)
    hello = conv.client_hello
    assert hello is not None
    assert list(hello.cipher_suites) == _ints(ch_row[0])  # order too, 0x00ff included
    assert hello.server_name == ch_row[1] == SERVER_NAME
    assert hello.ja3_hash == ch_row[2]
    assert hello.ja3 == ch_row[3]
    assert list(hello.extensions) == _ints(ch_row[4])
    assert hello.ja4 == ja4_from_tshark(ch_row)

    sh_rows = tshark_fields(
        run.pcap, run.port, "tls.handshake.type == 2", "tls.handshake.ciphersuite"
    )
    assert conv.server_hello is not None
    assert conv.server_hello.cipher_suite == int(sh_rows[0][0], 0) == chosen
    tls13 = chosen >> 8 == 0x13
    assert conv.server_hello.chosen_version_name == ("TLS1.3" if tls13 else "TLS1.2")
    assert conv.established
    assert conv.client_application_data and conv.server_application_data
    assert conv.alerts == []
    assert "server" in conv.encrypted_alerts  # s_server -www ends with an encrypted close_notify

    if tls13:  # the certificate is encrypted in TLS 1.3
        assert conv.server_certificates == []
        assert hello.offered_versions == ("TLS1.3",)
    else:
        (cert_row,) = tshark_fields(run.pcap, run.port, "tls.handshake.type == 11",
                                    "x509sat.uTF8String")  # fmt: skip
        names = cert_row[0].split(",")
        chain = conv.server_certificates
        assert [c.subject_cn for c in chain] == [SERVER_NAME, "Harness Test CA"]
        assert SERVER_NAME in names and "Harness Test CA" in names
        leaf = chain[0]
        assert leaf.san_dns == (SERVER_NAME, "alt.example.test")
        assert leaf.key_type == "rsa" and leaf.key_bits == 2048
        assert leaf.signature_algorithm == "sha256WithRSAEncryption"
        assert leaf.issuer == chain[1].subject == "O=harness,CN=Harness Test CA"
        assert leaf.not_before < leaf.not_after

    # the same ClientHello straight from the client's byte stream
    client_stream, _ = streams_from_pcap(run.pcap, run.port)
    assert (
        parse_client_hello(client_stream[: 5 + client_stream[3] * 256 + client_stream[4]]) == hello
    )

    obs = conv.to_observation(time=1.0, client=("127.0.0.1", 1), server=("127.0.0.1", run.port))
    assert obs.offered_cipher_suites == hello.cipher_suites
    assert obs.chosen_cipher_suite == chosen
    assert obs.ja3 == ch_row[2] and obs.ja4 == hello.ja4
    assert obs.application_data and obs.established
    assert obs.to_dict()["kind"] == "tls"


@pytest.mark.parametrize("order", ["capture", "client-first", "server-first"])
def test_feed_order_does_not_change_tls13_verdicts(tmp_path, pki, order):
    run = openssl_session(
        tmp_path, pki, client_args=["-tls1_3", "-CAfile", str(pki.ca), "-verify_return_error"]
    )
    assert run.client_rc == 0, run.client_output
    if order == "capture":
        conv = conversation_from_pcap(run.pcap, run.port)
    else:
        c, s = streams_from_pcap(run.pcap, run.port)
        conv = TlsConversation()
        feeds = [(conv.feed_client, c), (conv.feed_server, s)]
        for feed, data in feeds if order == "client-first" else feeds[::-1]:
            feed(data)
    assert conv.errors == []
    assert conv.is_tls13 and conv.client_finished and conv.established
    assert conv.client_application_data


def test_client_certificate_is_requested_and_summarised(tmp_path, pki):
    run = openssl_session(
        tmp_path,
        pki,
        server_args=["-Verify", "1", "-CAfile", str(pki.ca)],
        client_args=[
            "-tls1_2",
            "-CAfile",
            str(pki.ca),
            "-cert",
            str(pki.client),
            "-key",
            str(pki.client_key),
        ],  # fmt: skip
    )
    assert run.client_rc == 0, run.client_output
    conv = conversation_from_pcap(run.pcap, run.port)
    assert conv.errors == []
    assert conv.certificate_request
    cert = conv.client_certificates[0]
    assert cert.subject_cn == "phone" and cert.key_type == "ecdsa" and cert.key_bits == 256
    obs = conv.to_observation(time=0.0)
    assert obs.client_cert_requested
    assert obs.client_cert_subject == {
        "CN": "phone", "OU": "CP-8831-3PCC", "L": "FCH1234ABCD", "ST": "001122aabbcc"
    }  # fmt: skip


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_untrusted_server_certificate_gives_unknown_ca(tmp_path, pki, version):
    run = openssl_session(
        tmp_path,
        pki,
        client_args=[version, "-CAfile", str(pki.other_ca), "-verify_return_error"],
    )
    assert run.client_rc != 0
    conv = conversation_from_pcap(run.pcap, run.port)
    assert conv.errors == []
    assert not conv.client_application_data
    assert not conv.established
    # OpenSSL rejects the chain while reading the server's flight, before its own write
    # keys change: the alert is cleartext in TLS 1.3 too, and tshark must agree.
    alerts = tshark_fields(run.pcap, run.port, "tls.alert_message", "tls.alert_message.desc")
    assert [int(r[0]) for r in alerts] == [48]
    (alert,) = conv.alerts
    assert (alert.sender, alert.level, alert.description, alert.name) == (
        "client", 2, 48, "unknown_ca"
    )  # fmt: skip
    assert conv.to_observation(time=0.0).to_dict()["alert"] == {
        "from": "client", "level": 2, "description": "unknown_ca"
    }  # fmt: skip
