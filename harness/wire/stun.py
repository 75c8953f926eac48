"""STUN messages as bytes (RFC 5389, RFC 5780 attributes): encode and decode, nothing else.

Sans-I/O: no sockets, no clock here. `Message` holds the method/class, the
transaction ID and attributes; the address attributes are decoded into
(ip, port) tuples, XOR-ed ones with the magic cookie as RFC 5389 §15.2 says.
Decoding bad bytes raises `StunError` saying what is wrong and at which offset.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import zlib
from dataclasses import dataclass, field

MAGIC_COOKIE = 0x2112A442
HEADER = struct.Struct("!HHI12s")

# message types (method BINDING = 0x001 with its classes)
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111

# attribute types
MAPPED_ADDRESS = 0x0001
CHANGE_REQUEST = 0x0003  # RFC 5780 §7.2
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
PADDING = 0x0026
RESPONSE_PORT = 0x0027
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
RESPONSE_ORIGIN = 0x802B  # RFC 5780 §7.3
OTHER_ADDRESS = 0x802C  # RFC 5780 §7.4
FINGERPRINT_XOR = 0x5354554E

CHANGE_IP = 0x04
CHANGE_PORT = 0x02

ADDRESS_ATTRIBUTES = {MAPPED_ADDRESS, RESPONSE_ORIGIN, OTHER_ADDRESS}
XOR_ADDRESS_ATTRIBUTES = {XOR_MAPPED_ADDRESS}
FAMILY_IPV4, FAMILY_IPV6 = 0x01, 0x02


class StunError(ValueError):
    """Bytes that are not a valid STUN message; says what and where."""


@dataclass
class Message:
    type: int
    transaction_id: bytes = field(default_factory=lambda: os.urandom(12))
    attributes: list[tuple[int, bytes]] = field(default_factory=list)

    def get(self, attr: int) -> bytes | None:
        return next((v for t, v in self.attributes if t == attr), None)

    def address(self, attr: int) -> tuple[str, int] | None:
        """An address attribute decoded (XOR-ed ones un-XOR-ed)."""
        raw = self.get(attr)
        if raw is None:
            return None
        return decode_address(raw, self.transaction_id if attr in XOR_ADDRESS_ATTRIBUTES else None)

    def change_request(self) -> tuple[bool, bool]:
        """(change IP, change port) asked by a CHANGE-REQUEST attribute."""
        raw = self.get(CHANGE_REQUEST)
        if raw is None:
            return (False, False)
        if len(raw) != 4:
            raise StunError(f"CHANGE-REQUEST must be 4 bytes, got {len(raw)}")
        (flags,) = struct.unpack("!I", raw)
        return (bool(flags & CHANGE_IP), bool(flags & CHANGE_PORT))

    def error_code(self) -> tuple[int, str] | None:
        raw = self.get(ERROR_CODE)
        if raw is None or len(raw) < 4:
            return None
        return (raw[2] * 100 + raw[3], raw[4:].decode("utf-8", "replace"))


def encode_address(addr: tuple[str, int], xor_txid: bytes | None = None) -> bytes:
    ip = ipaddress.ip_address(addr[0])
    port = addr[1]
    packed = ip.packed
    family = FAMILY_IPV4 if ip.version == 4 else FAMILY_IPV6
    if xor_txid is not None:
        port ^= MAGIC_COOKIE >> 16
        mask = struct.pack("!I", MAGIC_COOKIE) + xor_txid
        packed = bytes(b ^ m for b, m in zip(packed, mask, strict=False))
    return struct.pack("!BBH", 0, family, port) + packed


def decode_address(raw: bytes, xor_txid: bytes | None = None) -> tuple[str, int]:
    if len(raw) < 4:
        raise StunError(f"address attribute too short ({len(raw)} bytes)")
    _, family, port = struct.unpack("!BBH", raw[:4])
    size = {FAMILY_IPV4: 4, FAMILY_IPV6: 16}.get(family)
    if size is None or len(raw) != 4 + size:
        raise StunError(f"address attribute: family {family:#x} with {len(raw) - 4} address bytes")
    packed = raw[4:]
    if xor_txid is not None:
        port ^= MAGIC_COOKIE >> 16
        mask = struct.pack("!I", MAGIC_COOKIE) + xor_txid
        packed = bytes(b ^ m for b, m in zip(packed, mask, strict=False))
    return (str(ipaddress.ip_address(packed)), port)


def change_request(change_ip: bool, change_port: bool) -> bytes:
    return struct.pack("!I", (CHANGE_IP if change_ip else 0) | (CHANGE_PORT if change_port else 0))


def encode(msg: Message, *, fingerprint: bool = True) -> bytes:
    body = b""
    for attr, value in msg.attributes:
        body += struct.pack("!HH", attr, len(value)) + value + b"\0" * (-len(value) % 4)
    if fingerprint:
        length = len(body) + 8
        head = HEADER.pack(msg.type, length, MAGIC_COOKIE, msg.transaction_id)
        crc = (zlib.crc32(head + body) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
        body += struct.pack("!HHI", FINGERPRINT, 4, crc)
    return HEADER.pack(msg.type, len(body), MAGIC_COOKIE, msg.transaction_id) + body


def is_stun(data: bytes) -> bool:
    """Cheap test: first two bits zero, magic cookie in place (RFC 5389 §6)."""
    return len(data) >= 20 and data[0] & 0xC0 == 0 and data[4:8] == b"\x21\x12\xa4\x42"


def decode(data: bytes) -> Message:
    if len(data) < HEADER.size:
        raise StunError(f"STUN message too short: {len(data)} bytes, the header alone is 20")
    mtype, length, cookie, txid = HEADER.unpack_from(data)
    if mtype & 0xC000:
        raise StunError(f"first two bits of the type must be zero (type {mtype:#06x})")
    if cookie != MAGIC_COOKIE:
        raise StunError(f"magic cookie {cookie:#010x} at offset 4 (want {MAGIC_COOKIE:#010x})")
    if length % 4 or HEADER.size + length != len(data):
        raise StunError(f"length field {length} does not match {len(data) - 20} body bytes")
    msg = Message(mtype, txid, [])
    off = HEADER.size
    while off < len(data):
        if off + 4 > len(data):
            raise StunError(f"truncated attribute header at offset {off}")
        attr, alen = struct.unpack_from("!HH", data, off)
        end = off + 4 + alen
        if end > len(data):
            raise StunError(f"attribute {attr:#06x} at offset {off} runs past the end")
        msg.attributes.append((attr, data[off + 4 : end]))
        off = end + (-alen % 4)
    return msg


def binding_request(change_ip: bool = False, change_port: bool = False) -> Message:
    msg = Message(BINDING_REQUEST)
    if change_ip or change_port:
        msg.attributes.append((CHANGE_REQUEST, change_request(change_ip, change_port)))
    return msg


def binding_success(
    request: Message,
    *,
    mapped: tuple[str, int],
    origin: tuple[str, int] | None = None,
    other: tuple[str, int] | None = None,
    software: str = "harness-stun",
) -> Message:
    attrs = [
        (XOR_MAPPED_ADDRESS, encode_address(mapped, request.transaction_id)),
        (MAPPED_ADDRESS, encode_address(mapped)),
    ]
    if origin:
        attrs.append((RESPONSE_ORIGIN, encode_address(origin)))
    if other:
        attrs.append((OTHER_ADDRESS, encode_address(other)))
    attrs.append((SOFTWARE, software.encode()))
    return Message(BINDING_SUCCESS, request.transaction_id, attrs)


def binding_error(request: Message, code: int, reason: str) -> Message:
    value = struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()
    return Message(BINDING_ERROR, request.transaction_id, [(ERROR_CODE, value)])
