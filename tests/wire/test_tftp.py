"""The sans-I/O TFTP packet format: round trips, precise decode errors, options, netascii."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.wire.tftp import (
    Ack,
    Data,
    Error,
    Opcode,
    OptionAck,
    ReadRequest,
    TftpDecodeError,
    WriteRequest,
    decode,
    encode,
    encode_ack,
    encode_data,
    from_netascii,
    negotiate,
    to_netascii,
)

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
options = st.dictionaries(text.filter(bool).map(str.lower), text, max_size=4)
packets = st.one_of(
    st.builds(ReadRequest, text, text, options),
    st.builds(WriteRequest, text, text, options),
    st.builds(Data, st.integers(0, 0xFFFF), st.binary(max_size=600)),
    st.builds(Ack, st.integers(0, 0xFFFF)),
    st.builds(Error, st.integers(0, 0xFFFF), text),
    st.builds(OptionAck, options),
)


@given(packets)
def test_encode_decode_round_trip(packet) -> None:
    if getattr(packet, "options", None) and len({k.lower() for k in packet.options}) != len(
        packet.options
    ):
        return
    assert decode(encode(packet)) == packet


@given(st.binary(max_size=200))
def test_decode_raises_only_decode_errors(raw: bytes) -> None:
    try:
        decode(raw)
    except TftpDecodeError as exc:
        assert exc.offset <= len(raw)


def test_wire_layout() -> None:
    assert encode(ReadRequest("/CP-8831-3PCC.cfg", "octet", {"blksize": "1428"})) == (
        b"\x00\x01/CP-8831-3PCC.cfg\x00octet\x00blksize\x001428\x00"
    )
    assert encode(Error(1, "File not found")) == b"\x00\x05\x00\x01File not found\x00"
    assert encode_data(70000, b"ab") == encode(Data(70000 & 0xFFFF, b"ab"))
    assert encode_ack(65536) == b"\x00\x04\x00\x00"


@pytest.mark.parametrize(
    "raw,message,offset",
    [
        (b"\x01", "too short for an opcode", 0),
        (b"\x00\x07", "unknown opcode 7", 0),
        (b"\x00\x01name", "filename: string not terminated by NUL", 2),
        (b"\x00\x01name\x00", "mode: missing", 7),
        (b"\x00\x01n\x00octet\x00\x00x\x00", "empty option name", 10),
        (b"\x00\x01n\x00octet\x00tsize\x00", "option 'tsize' has no value", 16),
        (b"\x00\x04\x00", "block: packet ends before", 2),
        (b"\x00\x04\x00\x01\x02", "ACK: 1 unexpected trailing byte", 4),
    ],
)
def test_decode_errors_say_what_and_where(raw: bytes, message: str, offset: int) -> None:
    with pytest.raises(TftpDecodeError) as info:
        decode(raw)
    assert message in str(info.value) and info.value.offset == offset


def test_negotiation() -> None:
    got = negotiate(
        {"blksize": "1468", "tsize": "0", "timeout": "3", "windowsize": "16", "x": "1"},
        op=Opcode.RRQ,
        size=1234,
    )
    assert got.accepted == {"blksize": "1468", "tsize": "1234", "timeout": "3", "windowsize": "16"}
    assert got.problems == ()
    write = negotiate({"tsize": "99"}, op=Opcode.WRQ, size=None)
    assert write.accepted == {"tsize": "99"}
    clamped = negotiate({"blksize": "9000"}, op=Opcode.RRQ, size=1, max_blksize=1468)
    assert clamped.accepted == {"blksize": "1468"} and clamped.problems == ()


@given(st.binary(max_size=300))
def test_netascii_round_trip(data: bytes) -> None:
    wire = to_netascii(data)
    assert b"\n" not in wire.replace(b"\r\n", b"")
    assert from_netascii(wire) == data
