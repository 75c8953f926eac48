"""The ClientHello parse reused for a repeated hello: the same result as a fresh parse."""

from __future__ import annotations

import pytest

from harness.tls import handshake
from harness.tls.fields import TlsParseError
from tests.tls.builders import client_hello_body, groups, sni, versions

_EXTS = [sni("prov.example.net"), groups(0x001D, 0x0A0A), versions(0x0304, 0x0303)]


def _body(random: bytes, session_id: bytes) -> bytes:
    b = client_hello_body([0x1301, 0xC02F, 0x00FF], _EXTS, session_id=session_id)
    return b[:2] + random + b[34:]


def test_a_repeated_hello_gets_its_own_random_and_session_id() -> None:
    handshake._HELLOS.clear()
    first = handshake.parse_client_hello_body(_body(b"\x01" * 32, b"\x02" * 32))
    again = handshake.parse_client_hello_body(_body(b"\x03" * 32, b"\x04" * 32))
    fresh = handshake._parse_client_hello_body(_body(b"\x03" * 32, b"\x04" * 32))
    assert again == fresh and again != first
    assert (again.random, again.session_id) == (b"\x03" * 32, b"\x04" * 32)
    assert (first.random, first.session_id) == (b"\x01" * 32, b"\x02" * 32)
    shorter = handshake.parse_client_hello_body(_body(b"\x05" * 32, b"\x06" * 8))
    assert shorter == handshake._parse_client_hello_body(_body(b"\x05" * 32, b"\x06" * 8))


def test_a_broken_hello_still_raises_after_a_good_one() -> None:
    good = _body(b"\x01" * 32, b"")
    handshake.parse_client_hello_body(good)
    with pytest.raises(TlsParseError):
        handshake.parse_client_hello_body(good[:-3])
    with pytest.raises(TlsParseError):
        handshake.parse_client_hello_body(good[:34] + b"\x21" + good[35:])


def test_the_cache_stays_bounded() -> None:
    handshake._HELLOS.clear()
    for i in range(handshake._HELLOS_MAX + 5):
        handshake.parse_client_hello_body(client_hello_body([0x1301, i + 1], _EXTS, session_id=b""))
    assert len(handshake._HELLOS) <= handshake._HELLOS_MAX
