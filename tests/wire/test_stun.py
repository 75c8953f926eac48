"""STUN codec and the RFC 5780 classification rules (pure: no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.netsim.nat import (
    ADDRESS_AND_PORT_DEPENDENT,
    ADDRESS_DEPENDENT,
    ENDPOINT_INDEPENDENT,
)
from harness.netsim.stun_client import classify_filtering, classify_mapping
from harness.wire import stun as wire

ipv4 = st.ip_addresses(v=4).map(str)
ports = st.integers(0, 65535)


@given(ipv4, ports, st.binary(min_size=12, max_size=12))
def test_xor_address_round_trip(ip: str, port: int, txid: bytes) -> None:
    raw = wire.encode_address((ip, port), txid)
    assert wire.decode_address(raw, txid) == (ip, port)
    assert wire.decode_address(wire.encode_address((ip, port))) == (ip, port)


def test_rfc5769_sample_xor_mapped_address() -> None:
    # RFC 5769 §2.2: 192.0.2.1:32853 XOR-ed with the cookie
    txid = bytes.fromhex("b7e7a701bc34d686fa87dfae")
    raw = bytes.fromhex("0001a147e112a643")
    assert wire.decode_address(raw, txid) == ("192.0.2.1", 32853)


@given(st.booleans(), st.booleans())
def test_request_round_trip_with_fingerprint(change_ip: bool, change_port: bool) -> None:
    req = wire.binding_request(change_ip, change_port)
    back = wire.decode(wire.encode(req))
    assert back.type == wire.BINDING_REQUEST
    assert back.transaction_id == req.transaction_id
    assert back.change_request() == (change_ip, change_port)
    assert back.get(wire.FINGERPRINT) is not None


def test_success_carries_5780_attributes() -> None:
    req = wire.binding_request()
    ok = wire.binding_success(
        req, mapped=("203.0.113.1", 4000), origin=("198.51.100.1", 3479), other=("1.2.3.4", 5)
    )
    back = wire.decode(wire.encode(ok))
    assert back.address(wire.XOR_MAPPED_ADDRESS) == ("203.0.113.1", 4000)
    assert back.address(wire.RESPONSE_ORIGIN) == ("198.51.100.1", 3479)
    assert back.address(wire.OTHER_ADDRESS) == ("1.2.3.4", 5)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\x00\x01", "too short"),
        (b"\x00\x01\x00\x00\x00\x00\x00\x00" + bytes(12), "magic cookie"),
        (b"\x00\x01\x00\x08\x21\x12\xa4\x42" + bytes(12), "length"),
        (b"\x00\x01\x00\x04\x21\x12\xa4\x42" + bytes(12) + b"\x00\x20\x00\x09", "past the end"),
    ],
)
def test_bad_bytes_say_what_is_wrong(data: bytes, why: str) -> None:
    with pytest.raises(wire.StunError, match=why):
        wire.decode(data)


@given(st.binary(max_size=80))
def test_decode_never_crashes_otherwise(data: bytes) -> None:
    try:
        wire.decode(data)
    except wire.StunError:
        pass


L, X, Y, Z = ("10.0.0.2", 5000), ("203.0.113.1", 5000), ("203.0.113.1", 6000), ("203.0.113.1", 7)


@pytest.mark.parametrize(
    "x1, x2, x3, want",
    [
        (L, None, None, ENDPOINT_INDEPENDENT),  # no NAT at all
        (X, X, None, ENDPOINT_INDEPENDENT),
        (X, Y, Y, ADDRESS_DEPENDENT),
        (X, Y, Z, ADDRESS_AND_PORT_DEPENDENT),
    ],
)
def test_mapping_rules_of_rfc5780_4_3(x1, x2, x3, want) -> None:
    assert classify_mapping(L, x1, x2, x3) == want


@pytest.mark.parametrize(
    "both, port_only, want",
    [
        (True, False, ENDPOINT_INDEPENDENT),
        (False, True, ADDRESS_DEPENDENT),
        (False, False, ADDRESS_AND_PORT_DEPENDENT),
    ],
)
def test_filtering_rules_of_rfc5780_4_4(both, port_only, want) -> None:
    assert classify_filtering(both, port_only) == want
