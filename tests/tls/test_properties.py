"""Property tests: truncated, garbled and random input never raises anything but
TlsParseError from parse_client_hello, and never raises at all from TlsConversation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.tls import ClientHello, TlsConversation, TlsParseError, parse_client_hello
from tests.tls.builders import (
    alpn,
    client_hello,
    groups,
    memory_handshake,
    point_formats,
    record,
    sigalgs,
    sni,
    sslv2_client_hello,
    versions,
)

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HELLO = record(
    22,
    client_hello(
        [0x0A0A, 0xC02F, 0x0035, 0x00FF],
        [
            sni("pv.example.test"),
            alpn("http/1.1"),
            groups(29, 23),
            point_formats(0),
            sigalgs(0x0401, 0x0804),
            versions(0x0304, 0x0303),
        ],  # fmt: skip
    ),
)
SSLV2 = sslv2_client_hello([0x000039, 0x010080])


def _parse(data: bytes) -> ClientHello | None:
    try:
        return parse_client_hello(data)
    except TlsParseError as e:
        assert f"at byte {e.offset}" in str(e) and e.why
        return None


@SETTINGS
@given(st.binary(max_size=600))
@example(b"\x16\x03\x01\x00\x04\x01\xff\xff\xff")
@example(b"\x80\x03\x01")
@example(b"\x01\x00\x00\x00")
def test_random_bytes_raise_only_tls_parse_error(data):
    _parse(data)


@pytest.mark.parametrize("base", [HELLO, SSLV2], ids=["tls", "sslv2"])
def test_every_truncation_is_a_tls_parse_error(base):
    assert _parse(base) is not None
    for n in range(len(base)):
        assert _parse(base[:n]) is None, n


@SETTINGS
@given(st.data())
def test_garbled_hellos_raise_only_tls_parse_error(data):
    base = bytearray(data.draw(st.sampled_from([HELLO, SSLV2])))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    _parse(bytes(base))


@pytest.fixture(scope="module")
def real_flights(pki):
    return memory_handshake(pki, client_cert=True)


def _feed_all(conv: TlsConversation, chunks, cuts) -> None:
    for side, data in chunks:
        f = conv.feed_client if side == "client" else conv.feed_server
        for piece in cuts(data):
            f(piece)


@SETTINGS
@given(st.data())
def test_conversation_never_raises_on_garbled_real_traffic(real_flights, data):
    chunks = [(side, bytearray(b)) for side, b in real_flights.chunks]
    for _ in range(data.draw(st.integers(1, 8))):
        k = data.draw(st.integers(0, len(chunks) - 1))
        buf = chunks[k][1]
        if not buf:  # an earlier cut emptied it
            continue
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[i : i + data.draw(st.integers(1, 40))]
        else:
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=20))

    def cuts(d: bytes) -> list[bytes]:
        n = data.draw(st.integers(1, 400))
        return [bytes(d[i : i + n]) for i in range(0, len(d), n)]

    conv = TlsConversation()
    _feed_all(conv, chunks, cuts)
    assert not [e for e in conv.errors if "internal error" in e], conv.errors
    assert all(e.startswith(("client:", "server:")) for e in conv.errors)
    conv.to_observation(time=0.0)


@SETTINGS
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=12))
def test_conversation_never_raises_on_random_input(feeds):
    conv = TlsConversation()
    for to_server, data in feeds:
        (conv.feed_client if to_server else conv.feed_server)(data)
    assert not [e for e in conv.errors if "internal error" in e], conv.errors
    obs = conv.to_observation(time=0.0)
    assert isinstance(obs.note, str)


@SETTINGS
@given(st.binary(min_size=1, max_size=200))
def test_valid_records_with_random_handshake_bodies(body):
    """Well-framed records carrying random handshake bytes: errors, never exceptions."""
    conv = TlsConversation()
    conv.feed_client(record(22, body))
    conv.feed_server(record(22, body) + record(21, body[:2]) + record(20, b"\x01"))
    conv.feed_server(record(22, body))
    assert not [e for e in conv.errors if "internal error" in e], conv.errors
