"""ClientHello/ServerHello parsing, fingerprints, GREASE/signalling, SSLv2, clear errors."""

from __future__ import annotations

import hashlib

import pytest

from harness.spec.ciphers import is_signalling
from harness.tls import (
    TlsConversation,
    TlsParseError,
    alert_name,
    parse_client_hello,
    version_name,
)
from harness.tls.handshake import parse_server_hello_body
from harness.tls.tables import HELLO_RETRY_REQUEST_RANDOM
from tests.tls.builders import (
    alpn,
    client_hello,
    ext,
    groups,
    handshake,
    point_formats,
    record,
    records,
    sigalgs,
    sni,
    sslv2_client_hello,
    vec,
    versions,
)

# A published Chrome 143 ClientHello summary (browserleaks.com JSON, as quoted in a public
# repository): ja4_ro gives the wire order, ja3_text the JA3 string; the expected
# fingerprints are the ones published next to them.
CHROME_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                  0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]  # fmt: skip
CHROME_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
CHROME_EXTENSIONS = [
    ext(0x002D, b"\x01\x01"),
    ext(0x0033, b"\x00\x00"),
    alpn("h2", "http/1.1"),
    ext(0xFE0D),
    ext(0x0017),
    ext(0x44CD),
    sni("tls.browserleaks.com"),
    point_formats(0),
    groups(4588, 29, 23, 24),
    versions(0x0304, 0x0303),
    ext(0xFF01, b"\x00"),
    ext(0x0023),
    ext(0x0012),
    ext(0x0005),
    sigalgs(*CHROME_SIGALGS),
    ext(0x001B),
]


def test_published_ja3_and_ja4_vector():
    hello = parse_client_hello(record(22, client_hello(CHROME_CIPHERS, CHROME_EXTENSIONS)))
    assert hello.ja3 == (
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
    )
    assert hello.ja3_hash == "98487aa16281980e7d1120d399efb6a4"
    assert hello.ja4 == "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    assert hello.alpn == ("h2", "http/1.1")
    assert hello.offered_versions == ("TLS1.3", "TLS1.2")
    assert hello.server_name == "tls.browserleaks.com"


def test_grease_is_marked_and_left_out_of_fingerprints():
    exts = [ext(0x1A1A), sni("pv.example.test"), groups(0x2A2A, 29), versions(0x3A3A, 0x0304),
            sigalgs(0x0403), ext(0x4A4A, b"\x00")]  # fmt: skip
    hello = parse_client_hello(client_hello([0x0A0A, 0x1301, 0x00FF], exts))
    assert hello.cipher_suites == (0x0A0A, 0x1301, 0x00FF)
    assert hello.grease == (0x0A0A, 0x1A1A, 0x4A4A, 0x2A2A, 0x3A3A)
    assert hello.real_cipher_suites == (0x1301,)
    assert hello.signalling_values == (0x00FF,) and is_signalling(0x00FF)
    assert hello.cipher_suite_names[0] == "GREASE_0x0a0a"
    assert hello.offered_versions == ("TLS1.3",)
    assert hello.ja3 == "771,4865-255,0-10-43-13,29,"
    # hand-computed JA4: 2 ciphers (1301, 00ff), 4 extensions (0000 000a 002b 000d), no ALPN
    b = hashlib.sha256(b"00ff,1301").hexdigest()[:12]
    c = hashlib.sha256(b"000a,000d,002b_0403").hexdigest()[:12]
    assert hello.ja4 == f"t13d020400_{b}_{c}"


@pytest.mark.parametrize(
    ("legacy", "offered"),
    [
        (0x0303, ("TLS1.2", "TLS1.1", "TLS1.0")),
        (0x0301, ("TLS1.0",)),
        (0x0300, ("SSL3.0",)),
    ],
)
def test_offered_versions_from_legacy_version(legacy, offered):
    hello = parse_client_hello(client_hello([0x002F], None, version=legacy))
    assert hello.offered_versions == offered
    assert hello.extensions == () and hello.server_name is None
    assert hello.ja4.startswith("t" + {0x0303: "12", 0x0301: "10", 0x0300: "s3"}[legacy] + "i")


def test_ja4_alpn_edge_cases():
    def j(*names):
        return parse_client_hello(client_hello([0x002F], [alpn(*names)])).ja4.split("_")[0][-2:]

    assert j("http/1.1") == "h1"
    assert j("h2") == "h2"
    assert j("x") == "xx"
    assert j("\x01ab\xff") == "0f"  # non-alphanumeric: first and last hex digits
    assert parse_client_hello(client_hello([], [])).ja4 == "t12i000000_000000000000_000000000000"


def test_sslv2_compatible_client_hello():
    data = sslv2_client_hello([0x010080, 0x000039, 0x000035, 0x0000FF, 0x070040])
    hello = parse_client_hello(data)
    assert hello.sslv2_compatible
    assert hello.cipher_suites == (0x0039, 0x0035, 0x00FF)  # SSLv2-only kinds dropped
    assert hello.legacy_version == 0x0301 and hello.extensions == ()
    conv = TlsConversation()
    conv.feed_client(data)
    assert conv.client_hello == hello and conv.errors == []
    assert any("SSLv2-compatible ClientHello" in n for n in conv.notes)
    assert "SSLv2-compatible" in conv.to_observation(time=0.0).note


def test_bare_message_one_record_and_many_records_agree():
    msg = client_hello([0xC02F, 0x0035], [sni("a.example"), alpn("http/1.1")])
    bare = parse_client_hello(msg)
    assert parse_client_hello(record(22, msg)) == bare
    assert parse_client_hello(records(22, msg, 5)) == bare


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"", 0, "no data"),
        (b"GET / HTTP/1.1\r\n", 0, "first byte 0x47"),
        (record(22, client_hello([0x002F]))[:-3], None, "ends"),
        (record(23, b"abc"), 0, "first byte 0x17"),
        (record(22, b"\x01\x00") + record(23, b"abc"), 7, "not handshake"),
        (record(22, handshake(2, b"\x03\x03")), 5, "server_hello"),
        # cipher_suites length 3: odd; the length field is at record 5 + header 4 + 2 + 32 + 1
        (record(22, handshake(1, b"\x03\x03" + bytes(32) + b"\x00\x00\x03abc\x01\x00")), 44, "odd"),
        # supported_groups list length 3 at 5 + 4 + 2 + 32 + 1 + 4 + 2 + 2 (block) + 4 (ext hdr)
        (record(22, client_hello([0x002F], [ext(0x000A, b"\x00\x03\x00\x1d\x00")])), 56, "odd"),
        (
            record(22, handshake(1, client_hello([0x002F], [sni("x")])[4:] + b"\x00")),
            62,
            "trailing",
        ),
    ],
)
def test_parse_errors_name_offset_and_reason(data, offset, words):
    with pytest.raises(TlsParseError) as info:
        parse_client_hello(data)
    assert words in str(info.value)
    assert f"at byte {info.value.offset}" in str(info.value)
    if offset is not None:
        assert info.value.offset == offset


def test_trailing_bytes_inside_an_extension_are_reported():
    bad = client_hello([0x002F], [ext(0x000B, vec(1, b"\x00") + b"\xff")])
    with pytest.raises(TlsParseError, match="ec_point_formats.*1 trailing bytes"):
        parse_client_hello(bad)


def test_conversation_reports_garbage_without_raising():
    conv = TlsConversation()
    conv.feed_client(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    conv.feed_client(b"more")
    conv.feed_server(record(22, client_hello([1])[:6] + b"\x00"))  # not a ServerHello
    (err,) = [e for e in conv.errors if e.startswith("client")]
    assert "stream offset 0" in err and "content type 0x47" in err
    assert conv.client_hello is None
    conv.to_observation(time=0.0)


def test_server_hello_and_hello_retry_request():
    body = b"\x03\x03" + HELLO_RETRY_REQUEST_RANDOM + vec(1, b"") + b"\x13\x01\x00"
    hrr = parse_server_hello_body(body + vec(2, ext(0x002B, b"\x03\x04")))
    assert hrr.is_hello_retry_request and hrr.chosen_version_name == "TLS1.3"
    plain = parse_server_hello_body(b"\x03\x01" + bytes(32) + b"\x00\x00\x2f\x00")
    assert plain.chosen_version_name == "TLS1.0" and plain.selected_version is None


def test_hello_retry_request_then_second_client_hello():
    first = client_hello([0x1301], [versions(0x0304), groups(23)])
    second = client_hello([0x1301], [versions(0x0304), groups(29)])
    hrr = (
        b"\x03\x03"
        + HELLO_RETRY_REQUEST_RANDOM
        + b"\x00\x13\x01\x00"
        + vec(2, ext(0x002B, b"\x03\x04"))
    )
    sh = b"\x03\x03" + bytes(32) + b"\x00\x13\x01\x00" + vec(2, ext(0x002B, b"\x03\x04"))
    conv = TlsConversation()
    conv.feed_client(record(22, first))
    conv.feed_server(record(22, handshake(2, hrr)))
    conv.feed_client(record(20, b"\x01") + record(22, second))
    conv.feed_server(record(22, handshake(2, sh)) + record(20, b"\x01") + record(23, bytes(40)))
    conv.feed_client(record(23, bytes(53)) + record(23, bytes(100)))
    assert conv.errors == []
    assert conv.hello_retry_request and conv.client_hello_retry.supported_groups == (29,)
    assert conv.client_hello.supported_groups == (23,)
    assert conv.is_tls13 and conv.established and conv.client_application_data


def test_names():
    assert version_name(0x0303) == "TLS1.2" and version_name(0x7F1C) == "TLS1.3-draft28"
    assert version_name(0x1A1A) == "GREASE" and version_name(0x0999) == "0x0999"
    assert alert_name(48) == "unknown_ca" and alert_name(250) == "alert_250"


def _server_hello(version_ext: bool, suite: int = 0x1301) -> bytes:
    body = b"\x03\x03" + bytes(32) + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    if version_ext:
        body += vec(2, ext(0x002B, b"\x03\x04"))
    return record(22, handshake(2, body), 0x0303)


@pytest.mark.parametrize(("suite", "finished"), [(0x1301, 53), (0x1302, 69)])
def test_tls13_record_size_heuristics(suite, finished):
    """A 19-byte type-23 record is an encrypted alert; the client's flight ends with a
    Finished-sized record; only later client records are application data."""
    hello = record(22, client_hello([suite], [versions(0x0304)]))
    rejected = TlsConversation()
    rejected.feed_client(hello)
    rejected.feed_server(_server_hello(True, suite) + record(23, bytes(900)))
    rejected.feed_client(record(20, b"\x01") + record(23, bytes(19)))
    assert rejected.encrypted_alerts == ["client"] and rejected.alerts == []
    assert not rejected.established and not rejected.client_application_data

    ok = TlsConversation()
    ok.feed_client(hello)
    ok.feed_server(_server_hello(True, suite) + record(23, bytes(900)))
    ok.feed_client(record(20, b"\x01") + record(23, bytes(finished)))
    assert ok.established and not ok.client_application_data
    ok.feed_client(record(23, bytes(60)))
    ok.feed_server(record(23, bytes(300)) + record(23, bytes(19)))
    assert ok.client_application_data and ok.server_application_data
    assert ok.encrypted_alerts == ["server"]


def test_tls12_encrypted_alert_after_change_cipher_spec():
    conv = TlsConversation()
    conv.feed_client(record(22, client_hello([0x002F])))
    conv.feed_server(_server_hello(False, 0x002F) + record(20, b"\x01", 0x0303))
    conv.feed_client(record(20, b"\x01") + record(22, bytes(48)) + record(21, bytes(26)))
    assert conv.encrypted_alerts == ["client"] and conv.alerts == []
    assert conv.errors == [] and conv.established and not conv.client_application_data
    conv.feed_client(record(21, b"\x02\x28"))  # a cleartext alert is 2 bytes even now
    assert conv.alerts[0].name == "handshake_failure" and not conv.established
