"""Field kinds and a bounds-checked reader for TLS's presentation language (RFC 8446 §3).

A message layout is declared as a tuple of `(name, kind)` pairs (scapy-style data, not code)
and read by `read_layout`. Every length is checked before use; a violation raises
`TlsParseError` naming the field, its byte offset and the reason. Lists of integers are
unpacked with one `struct` call, never a per-byte Python loop.
No knowledge of which message is which here, and no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any


class TlsParseError(ValueError):
    """Malformed TLS input: the message says what, at which byte offset, and why."""

    def __init__(self, what: str, offset: int, why: str) -> None:
        super().__init__(f"{what} at byte {offset}: {why}")
        self.what = what
        self.offset = offset
        self.why = why


_U16 = struct.Struct(">H")
_EXT_HEADER = struct.Struct(">HH")


class Reader:
    """A cursor over `data[start:end]`; `base` is added to offsets in error messages."""

    __slots__ = ("data", "pos", "end", "base")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None, base: int = 0):
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end
        self.base = base

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def offset(self) -> int:
        """The current position as an offset the caller understands."""
        return self.base + self.pos

    def need(self, n: int, what: str) -> None:
        if self.end - self.pos < n:
            raise TlsParseError(
                what, self.offset(), f"needs {n} bytes, only {self.end - self.pos} left"
            )

    def u8(self, what: str) -> int:
        self.need(1, what)
        v = self.data[self.pos]
        self.pos += 1
        return v

    def u16(self, what: str) -> int:
        self.need(2, what)
        (v,) = _U16.unpack_from(self.data, self.pos)
        self.pos += 2
        return v

    def u24(self, what: str) -> int:
        self.need(3, what)
        d, p = self.data, self.pos
        self.pos += 3
        return (d[p] << 16) | (d[p + 1] << 8) | d[p + 2]

    def length(self, width: int, what: str) -> int:
        if width == 1:
            return self.u8(what)
        if width == 2:
            return self.u16(what)
        return self.u24(what)

    def raw(self, n: int, what: str) -> bytes:
        self.need(n, what)
        v = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return v

    def sub(self, width: int, what: str, *, minimum: int = 0) -> Reader:
        """A reader over a length-prefixed block; this reader moves past it."""
        p, end = self.pos, self.end
        if width == 2 and end - p >= 2:
            (n,) = _U16.unpack_from(self.data, p)
            p += 2
        else:
            n = self.length(width, f"{what} length")
            p = self.pos
        if n < minimum:
            raise TlsParseError(what, self.base + p - width, f"length {n} is below {minimum}")
        if end - p < n:
            self.pos = p
            raise TlsParseError(what, self.base + p, f"needs {n} bytes, only {end - p} left")
        self.pos = p + n
        return Reader(self.data, p, p + n, self.base)

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise TlsParseError(what, self.offset(), f"{self.end - self.pos} trailing bytes")


# ---- field kinds: each is a callable (reader, what) -> value -----------------------------

FieldKind = Callable[[Reader, str], Any]


def U8(r: Reader, what: str) -> int:  # noqa: N802 - field kinds read like type names
    return r.u8(what)


def U16(r: Reader, what: str) -> int:  # noqa: N802
    return r.u16(what)


def fixed(n: int) -> FieldKind:
    """Exactly `n` opaque bytes."""
    return lambda r, what: r.raw(n, what)


def opaque(width: int, maximum: int | None = None) -> FieldKind:
    """`opaque x<0..2^(8*width)-1>`: a length-prefixed byte string."""

    def read(r: Reader, what: str) -> bytes:
        at = r.offset()
        s = r.sub(width, what)
        if maximum is not None and s.remaining > maximum:
            raise TlsParseError(what, at, f"length {s.remaining} exceeds the maximum {maximum}")
        return s.raw(s.remaining, what)

    return read


def u8_list(width: int) -> FieldKind:
    """A length-prefixed list of 8-bit values."""

    def read(r: Reader, what: str) -> tuple[int, ...]:
        s = r.sub(width, what)
        return tuple(s.raw(s.remaining, what))

    return read


def u16_list(width: int) -> FieldKind:
    """A length-prefixed list of 16-bit values (the length must be even)."""

    def read(r: Reader, what: str) -> tuple[int, ...]:
        at = r.offset()
        s = r.sub(width, what)
        n = s.remaining
        if n & 1:
            raise TlsParseError(what, at, f"length {n} is odd, not a list of 16-bit values")
        v = struct.unpack_from(f">{n >> 1}H", s.data, s.pos)
        return v

    return read


def u24_blocks(width: int) -> FieldKind:
    """A length-prefixed list of 24-bit-length-prefixed opaque blocks, with their offsets."""

    def read(r: Reader, what: str) -> tuple[tuple[int, bytes], ...]:
        s = r.sub(width, what)
        out = []
        while s.remaining:
            at = s.offset()
            out.append((at, opaque(3)(s, f"{what} entry")))
        return tuple(out)

    return read


def extensions_block(r: Reader, what: str) -> tuple[tuple[int, int, int], ...]:
    """`Extension extensions<0..2^16-1>`: (type, body start, body end) triples; positions
    are indexes into `r.data` (make a `Reader(r.data, start, end, r.base)` to read one)."""
    s = r.sub(2, what)
    data, p, end = s.data, s.pos, s.end
    out = []
    unpack = _EXT_HEADER.unpack_from
    while p < end:
        if end - p < 4:
            raise TlsParseError(f"{what} entry", s.base + p, f"needs 4 bytes, only {end - p} left")
        ext_type, n = unpack(data, p)
        p += 4
        if end - p < n:
            raise TlsParseError(
                f"extension 0x{ext_type:04x}", s.base + p, f"needs {n} bytes, only {end - p} left"
            )
        out.append((ext_type, p, p + n))
        p += n
    return tuple(out)


Layout = tuple[tuple[str, FieldKind], ...]


def read_layout(r: Reader, layout: Layout, what: str) -> dict[str, Any]:
    """Read the fields of `layout` in order; a trailing `?` on a name marks it optional
    (absent when the reader is exhausted, as ClientHello extensions may be)."""
    out: dict[str, Any] = {}
    for name, kind in layout:
        if name.endswith("?"):
            name = name[:-1]
            if not r.remaining:
                out[name] = None
                continue
        out[name] = kind(r, f"{what}.{name}")
    return out
