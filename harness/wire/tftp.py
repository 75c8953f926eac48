"""The TFTP packet format (RFC 1350, 2347-2349, 7440), sans-I/O.

Each packet type is a frozen dataclass whose wire layout is declared as a tuple
of fields (`fields_desc`, in the manner of scapy layers); one generic `encode`
and one generic `decode` walk those fields. `decode` raises `TftpDecodeError`
saying what is wrong and at which byte. Also here, as pure functions: the
option table and option negotiation, and netascii conversion.

Two modes of the one reader: strict (the server: anything malformed raises) and
lenient (`decode(..., problems=[])`, the analyzer reading a capture, which may
hold what a strict server refuses): text is read as latin-1 so every byte is a
character, an option without a value, with an empty name or given twice is
skipped or overridden and the problem appended to `problems`.
No sockets, no clocks, no files, no spec facts here; the server lives in
`harness.endpoints.tftp`, the capture tracker in `harness.analyze.tftp`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Protocol

TEXT_ENCODING = "utf-8"  # filenames: undecodable bytes survive via surrogateescape
LENIENT_ENCODING = "latin-1"  # lenient mode: every byte is a printable-or-escaped char
DEFAULT_BLKSIZE = 512  # RFC 1350
MAX_DATAGRAM = 65535 + 4


class Opcode(IntEnum):
    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6


class ErrorCode(IntEnum):
    """RFC 1350 error codes (plus 8 from RFC 2347)."""

    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5
    FILE_EXISTS = 6
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8


class TftpDecodeError(ValueError):
    """A datagram is not a well-formed TFTP packet; says what and at which byte."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} (at byte {offset})")
        self.what = what
        self.offset = offset


# -- fields ---------------------------------------------------------------------------
class Field(Protocol):
    name: str

    def decode(
        self, buf: bytes, offset: int, problems: list[str] | None = None
    ) -> tuple[Any, int]: ...

    def encode(self, value: Any) -> bytes: ...


@dataclass(frozen=True)
class ShortField:
    """An unsigned 16-bit big-endian integer."""

    name: str

    def decode(self, buf: bytes, offset: int, problems: list[str] | None = None) -> tuple[int, int]:
        if len(buf) < offset + 2:
            raise TftpDecodeError(f"{self.name}: packet ends before this 2-byte field", offset)
        return struct.unpack_from("!H", buf, offset)[0], offset + 2

    def encode(self, value: int) -> bytes:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"{self.name}: {value} does not fit 16 bits")
        return struct.pack("!H", value)


@dataclass(frozen=True)
class StrNullField:
    """A NUL-terminated string (netascii on the wire)."""

    name: str

    def decode(self, buf: bytes, offset: int, problems: list[str] | None = None) -> tuple[str, int]:
        end = buf.find(b"\x00", offset)
        if end < 0:
            if offset >= len(buf):
                if problems is None:
                    raise TftpDecodeError(f"{self.name}: missing (packet ends here)", offset)
                problems.append(f"{self.name}: missing (packet ends at byte {offset}); empty")
                return "", offset
            if problems is None:
                raise TftpDecodeError(f"{self.name}: string not terminated by NUL", offset)
            problems.append(f"{self.name}: string not terminated by NUL (at byte {offset})")
            return buf[offset:].decode(LENIENT_ENCODING), len(buf)
        if problems is not None:
            return buf[offset:end].decode(LENIENT_ENCODING), end + 1
        return buf[offset:end].decode(TEXT_ENCODING, "surrogateescape"), end + 1

    def encode(self, value: str) -> bytes:
        raw = value.encode(TEXT_ENCODING, "surrogateescape")
        if b"\x00" in raw:
            raise ValueError(f"{self.name}: NUL byte inside the string")
        return raw + b"\x00"


@dataclass(frozen=True)
class OptionsField:
    """RFC 2347 option name/value string pairs up to the end of the packet."""

    name: str

    def decode(
        self, buf: bytes, offset: int, problems: list[str] | None = None
    ) -> tuple[dict[str, str], int]:
        options: dict[str, str] = {}
        name_f, value_f = StrNullField("option name"), StrNullField("option value")
        while offset < len(buf):
            start = offset
            key, offset = name_f.decode(buf, offset, problems)
            if not key and problems is None:
                raise TftpDecodeError("empty option name", start)
            if offset >= len(buf):
                if problems is None:
                    raise TftpDecodeError(f"option {key!r} has no value", offset)
                problems.append(f"option {key!r} has no value (at byte {offset}); ignored")
                break
            value, offset = value_f.decode(buf, offset, problems)
            if not key:
                problems.append(f"empty option name (at byte {start}); its value is ignored")
                continue
            lowered = key.lower()
            if lowered in options:
                if problems is None:
                    raise TftpDecodeError(f"option {key!r} given twice", start)
                problems.append(f"option {key!r} given twice (at byte {start}); the last counts")
            options[lowered] = value
        return options, offset

    def encode(self, value: dict[str, str]) -> bytes:
        f = StrNullField("option")
        return b"".join(f.encode(k) + f.encode(str(v)) for k, v in value.items())


@dataclass(frozen=True)
class RestField:
    """All remaining bytes (DATA payload)."""

    name: str

    def decode(
        self, buf: bytes, offset: int, problems: list[str] | None = None
    ) -> tuple[bytes, int]:
        return bytes(buf[offset:]), len(buf)

    def encode(self, value: bytes) -> bytes:
        return bytes(value)


# -- packets --------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadRequest:
    opcode: ClassVar[Opcode] = Opcode.RRQ
    fields_desc: ClassVar[tuple[Field, ...]] = (
        StrNullField("filename"),
        StrNullField("mode"),
        OptionsField("options"),
    )
    filename: str
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteRequest:
    opcode: ClassVar[Opcode] = Opcode.WRQ
    fields_desc: ClassVar[tuple[Field, ...]] = ReadRequest.fields_desc
    filename: str
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Data:
    opcode: ClassVar[Opcode] = Opcode.DATA
    fields_desc: ClassVar[tuple[Field, ...]] = (ShortField("block"), RestField("data"))
    block: int
    data: bytes = b""


@dataclass(frozen=True)
class Ack:
    opcode: ClassVar[Opcode] = Opcode.ACK
    fields_desc: ClassVar[tuple[Field, ...]] = (ShortField("block"),)
    block: int


@dataclass(frozen=True)
class Error:
    opcode: ClassVar[Opcode] = Opcode.ERROR
    fields_desc: ClassVar[tuple[Field, ...]] = (ShortField("code"), StrNullField("message"))
    code: int
    message: str = ""


@dataclass(frozen=True)
class OptionAck:
    opcode: ClassVar[Opcode] = Opcode.OACK
    fields_desc: ClassVar[tuple[Field, ...]] = (OptionsField("options"),)
    options: dict[str, str] = field(default_factory=dict)


Packet = ReadRequest | WriteRequest | Data | Ack | Error | OptionAck
PACKET_TYPES: dict[int, type[Packet]] = {
    t.opcode: t for t in (ReadRequest, WriteRequest, Data, Ack, Error, OptionAck)
}


def encode(packet: Packet) -> bytes:
    """The datagram for `packet`."""
    parts = [struct.pack("!H", packet.opcode)]
    parts += [f.encode(getattr(packet, f.name)) for f in packet.fields_desc]
    return b"".join(parts)


def decode(datagram: bytes, *, problems: list[str] | None = None) -> Packet:
    """The packet in `datagram`; TftpDecodeError says precisely what is wrong.

    `problems` given: the lenient mode (see the module docstring); what it
    tolerated is appended there. Bytes no mode can read still raise.
    """
    if len(datagram) < 2:
        raise TftpDecodeError(f"datagram of {len(datagram)} byte(s) is too short for an opcode", 0)
    (opcode,) = struct.unpack_from("!H", datagram, 0)
    kind = PACKET_TYPES.get(opcode)
    if kind is None:
        raise TftpDecodeError(f"unknown opcode {opcode} (valid: 1-6)", 0)
    if opcode <= 2 and datagram[-1:] == b"\x00":
        request = _well_formed_request(kind, datagram, problems is not None)
        if request is not None:
            return request
    offset, values = 2, {}
    for f in kind.fields_desc:
        values[f.name], offset = f.decode(datagram, offset, problems)
    if offset < len(datagram) and problems is not None:
        problems.append(
            f"{kind.opcode.name}: {len(datagram) - offset} trailing byte(s) ignored (at byte {offset})"
        )
    elif offset != len(datagram):
        raise TftpDecodeError(
            f"{kind.opcode.name}: {len(datagram) - offset} unexpected trailing byte(s)", offset
        )
    return kind(**values)


def _well_formed_request(kind: type[Packet], datagram: bytes, lenient: bool) -> Packet | None:
    """A RRQ/WRQ read in one split when nothing in it is wrong (the common case), else None.

    The same result as walking `fields_desc`; anything unusual is left to that walk,
    which says what is wrong.
    """
    parts = datagram[2:-1].split(b"\x00")
    if len(parts) % 2 or not all(parts[2::2]):
        return None  # no mode, an option without a value, or an empty option name
    enc, errors = (LENIENT_ENCODING, "strict") if lenient else (TEXT_ENCODING, "surrogateescape")
    names = [n.decode(enc, errors).lower() for n in parts[2::2]]
    if len(set(names)) != len(names):
        return None  # an option given twice
    values = [v.decode(enc, errors) for v in parts[3::2]]
    return kind(  # type: ignore[call-arg]
        filename=parts[0].decode(enc, errors),
        mode=parts[1].decode(enc, errors),
        options=dict(zip(names, values, strict=True)),
    )


# fast paths for the transfer loop (same layout as Data/Ack above)
_DATA_HEADER = struct.Struct("!HH")


def encode_data(block: int, payload: bytes | memoryview) -> bytes:
    """DATA for `block` (its 16-bit wire number is taken); one copy of the payload."""
    return _DATA_HEADER.pack(3, block & 0xFFFF) + payload  # 3 = Opcode.DATA; the hot path


def encode_ack(block: int) -> bytes:
    return struct.pack("!HH", Opcode.ACK, block & 0xFFFF)


def encode_error(code: int, message: str) -> bytes:
    return encode(Error(int(code), message))


# -- modes and netascii ---------------------------------------------------------------
MODES = ("netascii", "octet")  # "mail" is obsolete (RFC 1350) and refused
RFC1350_MODES = ("netascii", "octet", "mail")  # what a request may name on the wire


def to_netascii(data: bytes) -> bytes:
    """Local text to netascii: CR -> CR NUL, LF -> CR LF."""
    return data.replace(b"\r", b"\r\x00").replace(b"\n", b"\r\n")


def from_netascii(data: bytes) -> bytes:
    """Netascii to local text: CR LF -> LF, CR NUL -> CR."""
    return data.replace(b"\r\n", b"\n").replace(b"\r\x00", b"\r")


# -- options (RFC 2347 framework) -----------------------------------------------------
@dataclass(frozen=True)
class OptionSpec:
    """One negotiable option: its RFC and the integer range a server accepts."""

    name: str
    rfc: int
    minimum: int
    maximum: int
    clamp_high: bool  # a too-high request is answered with the maximum (else ignored)


OPTIONS: dict[str, OptionSpec] = {
    o.name: o
    for o in (
        OptionSpec("blksize", 2348, 8, 65464, clamp_high=True),
        OptionSpec("timeout", 2349, 1, 255, clamp_high=False),
        OptionSpec("tsize", 2349, 0, 2**63 - 1, clamp_high=False),
        OptionSpec("windowsize", 7440, 1, 65535, clamp_high=True),
    )
}


@dataclass(frozen=True)
class Negotiation:
    """The outcome of option negotiation: what goes in the OACK, and what was wrong."""

    accepted: dict[str, str]
    problems: tuple[str, ...] = ()

    def value(self, name: str, default: int) -> int:
        return int(self.accepted[name]) if name in self.accepted else default


def negotiate(
    requested: dict[str, str],
    *,
    op: Opcode,
    size: int | None,
    max_blksize: int = 65464,
    max_windowsize: int = 65535,
) -> Negotiation:
    """Accept the options a server can honour; unknown or invalid ones are left out.

    RFC 2347: options the server does not accept are simply omitted from the
    OACK. `size` is the transfer size a read reports for `tsize` (None if unknown).
    """
    accepted: dict[str, str] = {}
    problems: list[str] = []
    limits = {"blksize": max_blksize, "windowsize": max_windowsize}
    for name, raw in requested.items():
        spec = OPTIONS.get(name)
        if spec is None:
            continue  # unknown options are ignored silently (RFC 2347)
        text = raw.strip()
        if not text.isdigit() or len(text) > 20:
            problems.append(f"option {name}={raw!r}: not a non-negative decimal integer; ignored")
            continue
        value = int(text)
        high = min(spec.maximum, limits.get(name, spec.maximum))
        if value < spec.minimum:
            problems.append(f"option {name}={value}: below the minimum {spec.minimum}; ignored")
            continue
        if value > high:
            if value > spec.maximum:
                problems.append(
                    f"option {name}={value}: above the RFC {spec.rfc} maximum {spec.maximum}"
                    + ("; answered with the maximum" if spec.clamp_high else "; ignored")
                )
            if not spec.clamp_high:
                if value <= spec.maximum:
                    problems.append(f"option {name}={value}: above the maximum {high}; ignored")
                continue
            value = high
        if name == "tsize" and op is Opcode.RRQ:
            if size is None:
                continue
            value = size
        accepted[name] = str(value)
    return Negotiation(accepted, tuple(problems))
