"""Key log parsing, the PRFs and HKDF-Expand-Label on published vectors, and pcapng
Decryption Secrets Blocks read by the capture reader."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.capture.reader import CaptureReader
from harness.tls.decrypt import TlsDecryptor, hkdf_expand_label, prf
from harness.tls.keylog import parse_keylog

RANDOM = "ab" * 32


def test_key_log_lines_and_problems():
    text = "\n".join(
        [
            "# comment",
            f"CLIENT_RANDOM {RANDOM} {'01' * 48}",
            f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {'02' * 32}",
            f"EXPORTER_SECRET {RANDOM} {'03' * 32}",
            "CLIENT_RANDOM zz 00",
            f"CLIENT_RANDOM {RANDOM} {'01' * 10}",
            "BOGUS_LABEL a b",
            "two fields",
        ]
    )
    log = parse_keylog(text, "keys.log")
    got = log.get(bytes.fromhex(RANDOM))
    assert got["CLIENT_RANDOM"] == b"\x01" * 48 and got["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
    assert [p.split(":")[0] for p in log.problems] == [
        "keys.log line 5",
        "keys.log line 6",
        "keys.log line 7",
        "keys.log line 8",
    ]


def test_tls12_prf_vector():
    # the TLS 1.2 PRF (P_SHA256) test vector published on the IETF TLS list
    secret = bytes.fromhex("9bbe436ba940f017b17652849a71db35")
    seed = bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c")
    out = prf(0x0303, "sha256", secret, b"test label", seed, 100)
    assert out.hex().startswith("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")


def test_hkdf_expand_label_rfc8448():
    # RFC 8448 "Simple 1-RTT Handshake": server handshake traffic secret -> write key, iv
    secret = bytes.fromhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
    assert hkdf_expand_label("sha256", secret, "key", b"", 16).hex() == (
        "3fce516009c21727d0f2e4e86ee403bc"
    )
    assert hkdf_expand_label("sha256", secret, "iv", b"", 12).hex() == "5d313eb2671276ee13000b30"


def test_garbage_never_raises():
    d = TlsDecryptor(parse_keylog(f"CLIENT_RANDOM {RANDOM} {'01' * 48}"))
    for chunk in (b"\x16\x03\x01\x00\x05hello", b"\xff" * 40, b"\x17\x03\x03\x40\x00" + b"x" * 10):
        d.feed_client(chunk)
        d.feed_server(chunk)
    assert d.problems


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def test_decryption_secrets_blocks_are_handed_over(tmp_path):
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    secrets = f"CLIENT_RANDOM {RANDOM} {'01' * 48}\n".encode()
    dsb = _block(0x0A, struct.pack("<II", 0x544C534B, len(secrets)) + secrets)
    bad = _block(0x0A, struct.pack("<II", 0x544C534B, 4000) + b"short")
    path = tmp_path / "s.pcapng"
    path.write_bytes(shb + dsb + bad)
    seen = []
    with CaptureReader(path) as reader:
        reader.on_secrets = lambda kind, data: seen.append((kind, data))
        assert list(reader) == []
    assert seen == [(0x544C534B, secrets)]
    assert reader.problems and "overruns" in reader.problems[0].why


@given(st.lists(st.binary(max_size=64), max_size=20), st.lists(st.booleans(), max_size=20))
@settings(max_examples=200, deadline=None)
def test_any_bytes_in_any_split_never_raise(chunks, sides):
    d = TlsDecryptor(parse_keylog(f"CLIENT_RANDOM {RANDOM} {'01' * 48}"))
    hello = (
        bytes.fromhex("16030100") + b"\x2f" + b"\x01\x00\x00\x2b\x03\x03" + bytes.fromhex(RANDOM)
    )
    d.feed_client(hello + b"\x00" * 10)
    for chunk, client in zip(chunks, sides + [True] * len(chunks), strict=False):
        out = d.feed_client(chunk) if client else d.feed_server(chunk)
        assert isinstance(out, list)
