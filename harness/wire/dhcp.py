"""DHCP/BOOTP messages as bytes (RFC 2131, RFC 2132 options): encode and decode only.

Sans-I/O. Options are kept raw (`dict[int, bytes]`); `encode_option_value`
turns a configured value into bytes by the option's kind (OPTION_KINDS: text,
an address, a list of addresses), `decode_option_value` gives the readable form
every path records (endpoint, netsim client, analyzer). Bad bytes raise
`DhcpError` naming the offset. Lenient mode (`decode(data, problems=[])`, the
analyzer): a missing or unknown message type is kept as `TYPE<n>` and said in
`problems`. No sockets, no clock, no spec facts here.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

MAGIC = b"\x63\x82\x53\x63"
FIXED = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
BOOTREQUEST, BOOTREPLY = 1, 2
FLAG_BROADCAST = 0x8000

MESSAGE_TYPE, REQUESTED_IP, SERVER_ID, PARAM_LIST, LEASE_TIME, END, PAD = 53, 50, 54, 55, 51, 255, 0
SUBNET_MASK, ROUTER, DNS = 1, 3, 6
MESSAGE_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
                 7: "RELEASE", 8: "INFORM"}  # fmt: skip
TYPE_CODES = {v: k for k, v in MESSAGE_TYPES.items()}
# how a configured value is written: RFC 2132, and Cisco's 150 (TFTP server list), 159/160
OPTION_KINDS = {1: "ip", 3: "ips", 6: "ips", 51: "u32", 54: "ip", 61: "hex", 66: "text",
                67: "text", 150: "ips", 159: "text", 160: "text"}  # fmt: skip


class DhcpError(ValueError):
    """Bytes that are not a DHCP message; says what and where."""


@dataclass
class DhcpMessage:
    op: int
    xid: int
    chaddr: bytes  # 6-byte MAC
    message_type: str
    ciaddr: str = "0.0.0.0"
    yiaddr: str = "0.0.0.0"
    siaddr: str = "0.0.0.0"
    flags: int = 0
    options: dict[int, bytes] = field(default_factory=dict)

    @property
    def mac(self) -> str:
        return self.chaddr[:6].hex()

    def requested_options(self) -> tuple[int, ...]:
        return tuple(self.options.get(PARAM_LIST, b""))


def encode_option_value(code: int, value: str | bytes | int | list[str]) -> bytes:
    if isinstance(value, bytes):
        return value
    kind = OPTION_KINDS.get(code, "text")
    if kind == "u32":
        return struct.pack("!I", int(value))  # type: ignore[arg-type]
    if kind in ("ip", "ips"):
        items = [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]
        return b"".join(ipaddress.IPv4Address(str(v).strip()).packed for v in items)
    return str(value).encode()


def decode_option_value(code: int, raw: bytes) -> str:
    """A readable form of an option value (for DhcpExchange.offered_options)."""
    kind = OPTION_KINDS.get(code, "text")
    if kind in ("ip", "ips") and len(raw) % 4 == 0:
        return ",".join(".".join(map(str, raw[i : i + 4])) for i in range(0, len(raw), 4))
    if kind == "u32" and len(raw) == 4:
        return str(struct.unpack("!I", raw)[0])
    if kind == "hex":  # the client identifier (61): type byte and hardware address
        return raw.hex()
    return raw.rstrip(b"\x00").decode("latin-1")  # text options may carry a NUL terminator


def encode(msg: DhcpMessage) -> bytes:
    head = FIXED.pack(
        msg.op, 1, 6, 0, msg.xid, 0, msg.flags,
        ipaddress.IPv4Address(msg.ciaddr).packed, ipaddress.IPv4Address(msg.yiaddr).packed,
        ipaddress.IPv4Address(msg.siaddr).packed, bytes(4), msg.chaddr.ljust(16, b"\0"),
        bytes(64), bytes(128),
    )  # fmt: skip
    opts = bytes([MESSAGE_TYPE, 1, TYPE_CODES[msg.message_type]])
    for code, value in msg.options.items():
        if code in (MESSAGE_TYPE, END, PAD):
            continue
        for i in range(0, max(len(value), 1), 255):  # long values split (RFC 3396)
            chunk = value[i : i + 255]
            opts += bytes([code, len(chunk)]) + chunk
    return head + MAGIC + opts + bytes([END])


def _dotted(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def decode(data: bytes, *, problems: list[str] | None = None) -> DhcpMessage:
    """The message in `data`; `problems` given: lenient about its type (module docstring)."""
    if len(data) < FIXED.size + 4:
        raise DhcpError(f"DHCP message too short: {len(data)} bytes (need {FIXED.size + 4})")
    op, _htype, hlen, _, xid, _, flags, ci, yi, si, _gi, chaddr, _, _ = FIXED.unpack_from(data)
    if data[FIXED.size : FIXED.size + 4] != MAGIC:
        raise DhcpError(f"no DHCP magic cookie at offset {FIXED.size}")
    options: dict[int, bytes] = {}
    off = FIXED.size + 4
    while off < len(data):
        code = data[off]
        if code == END:
            break
        if code == PAD:
            off += 1
            continue
        if off + 1 >= len(data) or off + 2 + data[off + 1] > len(data):
            raise DhcpError(f"option {code} at offset {off} runs past the end")
        length = data[off + 1]
        options[code] = options.get(code, b"") + data[off + 2 : off + 2 + length]
        off += 2 + length
    mtype = options.get(MESSAGE_TYPE, b"")
    if len(mtype) != 1 or mtype[0] not in MESSAGE_TYPES:
        if problems is None:
            raise DhcpError(f"missing or unknown DHCP message type (option 53 = {mtype!r})")
        problems.append(f"missing or unknown DHCP message type (option 53 = {mtype!r})")
    kind = mtype[0] if mtype else 0
    return DhcpMessage(
        op, xid, chaddr[: min(hlen, 16)], MESSAGE_TYPES.get(kind, f"TYPE{kind}"),
        _dotted(ci), _dotted(yi),
        _dotted(si), flags, options,
    )  # fmt: skip
