"""Streaming capture-file reader: pcap and pcapng (optionally gzip-compressed).

`CaptureReader(path)` is an iterator of `(time, linktype, data)` records in file
order (the record's position, counted from 1, is its frame number, as in
Wireshark). It reads in large chunks and parses headers with `struct`, never
builds a per-packet object, and keeps only the current chunk in memory.

A truncated or corrupt file does not raise: the reader stops, keeps every
record before the break, and appends a `ReadProblem` (byte offset, record
number, why) to `reader.problems`. Only a file that is not a capture at all
raises `CaptureFormatError`. pcapng Decryption Secrets Blocks (type 0x0A) are
kept in `reader.secrets` and handed to `reader.on_secrets(type, data)` when met
(the TLS key logs Wireshark's editcap embeds). Link-layer and IP decoding live in
`harness.capture.packets`; no sockets and no live capture here.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
GUNZIP_STEP = 1 << 20  # the most a gzip capture expands into memory at once
MAX_RECORD = 256 * 1024  # larger than any snaplen tcpdump/dumpcap write
MAX_BLOCK = 16 * 1024 * 1024

PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"

Record = tuple[float, int, bytes]


class CaptureFormatError(ValueError):
    """The file is not a pcap or pcapng capture (the message says what was found)."""


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """Where a capture file broke: byte offset (uncompressed), record number, why."""

    offset: int
    record: int
    why: str

    def __str__(self) -> str:
        return f"byte {self.offset}, record {self.record}: {self.why}"


class _Chunks:
    """A forward-only window over a binary stream, refilled in large chunks."""

    __slots__ = ("f", "buf", "pos", "base", "eof")

    def __init__(self, f: BinaryIO, first: bytes) -> None:
        self.f = f
        self.buf = first
        self.pos = 0
        self.base = 0  # file offset of buf[0]
        self.eof = False

    def ensure(self, n: int) -> bool:
        """Make at least n bytes available at pos; False at end of file."""
        while len(self.buf) - self.pos < n:
            if self.eof:
                return False
            try:
                more = self.f.read(max(CHUNK, n))
            except _StreamBroken:
                self.eof = True
                raise
            if not more:
                self.eof = True
                return False
            self.base += self.pos
            self.buf = self.buf[self.pos :] + more
            self.pos = 0
        return True

    @property
    def offset(self) -> int:
        return self.base + self.pos


class _StreamBroken(Exception):
    pass


class _Gunzip:
    """A gzip stream read with zlib, so a truncated file still yields every byte before the cut.

    Output is bounded: zlib is never asked for more than GUNZIP_STEP bytes at a time
    (compressed input it has not expanded yet waits in `pending`), so a decompression
    bomb (a few hundred KB of gzip expanding to gigabytes) costs no more memory than
    an ordinary capture. `consumed` counts the uncompressed bytes handed out.
    """

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.z = zlib.decompressobj(wbits=47)
        self.out = bytearray()
        self.pending = b""  # compressed bytes not yet expanded
        self.done = False
        self.consumed = 0

    def read(self, n: int) -> bytes:
        while len(self.out) < n and not self.done:
            if not self.pending:
                self.pending = self.f.read(CHUNK // 4)
                if not self.pending:
                    self.done = True
                    if not self.z.eof:
                        if self.out:
                            break
                        raise _StreamBroken("gzip stream ends before its end marker (truncated)")
                    break
            try:
                self.out += self.z.decompress(self.pending, GUNZIP_STEP)
                self.pending = self.z.unconsumed_tail
                if self.z.eof and self.z.unused_data:  # concatenated gzip members
                    self.pending = self.z.unused_data + self.pending
                    self.z = zlib.decompressobj(wbits=47)
            except zlib.error as exc:
                self.done = True
                if self.out:
                    break
                raise _StreamBroken(f"corrupt gzip data: {exc}") from None
        data = bytes(self.out[:n])
        del self.out[:n]
        self.consumed += len(data)
        if not data and self.done and not self.z.eof and not self._reported:
            self._reported = True
            raise _StreamBroken("gzip stream ends before its end marker (truncated)")
        return data

    _reported = False

    def close(self) -> None:
        pass


def uncompressed_size(path: str | Path) -> int:
    """The bytes a reader of `path` will go through: the gzip trailer's size, else the file's.

    The gzip trailer holds the size modulo 2**32 (of the last member only): an
    estimate for a progress bar, never a limit.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(2) != GZIP_MAGIC or size < 18:
            return size
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little") or size


class CaptureReader:
    """Iterate the records of a pcap/pcapng file (see the module docstring)."""

    def __init__(self, source: str | Path | BinaryIO) -> None:
        if isinstance(source, str | Path):
            self.path = str(source)
            raw: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed in close()
        else:
            self.path = getattr(source, "name", "<stream>")
            raw = source
        self._raw = raw
        head = raw.read(4)
        self.compressed = head[:2] == GZIP_MAGIC
        if self.compressed:
            raw.seek(0)
            self._f: BinaryIO = _Gunzip(raw)  # type: ignore[assignment]
            try:
                head = self._f.read(4)
            except _StreamBroken as exc:
                raise CaptureFormatError(f"{self.path}: broken gzip stream: {exc}") from None
        else:
            self._f = raw
        if head in PCAP_MAGIC:
            self.format = "pcap"
        elif head == PCAPNG_SHB:
            self.format = "pcapng"
        else:
            raise CaptureFormatError(
                f"{self.path}: not a pcap or pcapng file (starts with {head.hex() or 'nothing'})"
            )
        self._head = head
        self.problems: list[ReadProblem] = []
        self.records = 0
        self.linktypes: list[int] = []
        # pcapng Decryption Secrets Blocks: (secrets type, data) as met, and a callback
        self.secrets: list[tuple[int, bytes]] = []
        self.on_secrets: Callable[[int, bytes], None] | None = None

    # -- public -----------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        c = _Chunks(self._f, self._head)
        try:
            if self.format == "pcap":
                yield from self._pcap(c)
            else:
                yield from self._pcapng(c)
        except _StreamBroken as exc:
            self._problem(c.offset, self.records + 1, f"compressed stream broken: {exc}")

    @property
    def position(self) -> int:
        """Uncompressed bytes read so far (for progress; see `uncompressed_size`)."""
        if isinstance(self._f, _Gunzip):
            return self._f.consumed
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self._f.close()
        self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------
    def _problem(self, offset: int, record: int, why: str) -> None:
        self.problems.append(ReadProblem(offset, record, why))

    def _pcap(self, c: _Chunks) -> Iterator[Record]:
        endian, scale = PCAP_MAGIC[self._head]
        if not c.ensure(24):
            self._problem(c.offset, 0, "truncated pcap file header (less than 24 bytes)")
            return
        _, _, _, _, snaplen, network = struct.unpack_from(endian + "HHiIII", c.buf, 4)
        linktype = network & 0x0FFFFFFF
        self.linktypes = [linktype]
        c.pos += 24
        hdr = struct.Struct(endian + "IIII").unpack_from
        limit = max(MAX_RECORD, snaplen if snaplen < MAX_BLOCK else 0)
        n = 0
        buf, pos = c.buf, c.pos
        blen = len(buf)
        try:
            while True:
                if blen - pos < 16:
                    c.pos = pos
                    if not c.ensure(16):
                        left = len(c.buf) - c.pos
                        if left:
                            self._problem(
                                c.offset, n + 1, f"truncated record header ({left} of 16 bytes)"
                            )
                        break
                    buf, pos = c.buf, c.pos
                    blen = len(buf)
                sec, frac, incl, _orig = hdr(buf, pos)
                if incl > limit:
                    c.pos = pos
                    self._problem(
                        c.offset, n + 1, f"corrupt record header: captured length {incl} > {limit}"
                    )
                    break
                end = pos + 16 + incl
                if end > blen:
                    c.pos = pos
                    if not c.ensure(16 + incl):
                        self._problem(
                            c.offset,
                            n + 1,
                            f"truncated record: {len(c.buf) - c.pos - 16} of {incl} bytes",
                        )
                        break
                    buf, pos = c.buf, c.pos
                    blen = len(buf)
                    end = pos + 16 + incl
                n += 1
                yield sec + frac * scale, linktype, buf[pos + 16 : end]
                pos = end
        finally:
            self.records = n
            c.pos = pos

    def _secrets(self, buf: bytes, pos: int, blen: int, endian: str, at: int, rec: int) -> None:
        got = _dsb(buf, pos, blen, endian)
        if isinstance(got, str):
            self._problem(at, rec, got)
            return
        if len(self.secrets) < 64:
            self.secrets.append(got)
        if self.on_secrets is not None:
            self.on_secrets(*got)

    def _pcapng(self, c: _Chunks) -> Iterator[Record]:
        endian = "<"
        ifaces: list[tuple[int, float, float]] = []  # (linktype, ts unit, ts offset)
        n = 0
        while True:
            if not c.ensure(12):
                left = len(c.buf) - c.pos
                if left:
                    self._problem(c.offset, n + 1, f"truncated block header ({left} bytes)")
                break
            buf, pos = c.buf, c.pos
            btype = buf[pos : pos + 4]
            if btype == PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    self._problem(
                        c.offset, n + 1, f"section header: bad byte-order magic {bom.hex()}"
                    )
                    break
                ifaces = []
            btype_i, blen = struct.unpack_from(endian + "II", buf, pos)
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                self._problem(c.offset, n + 1, f"corrupt block: type {btype_i:#x}, length {blen}")
                break
            if not c.ensure(blen):
                self._problem(
                    c.offset,
                    n + 1,
                    f"truncated block: type {btype_i:#x}, {len(c.buf) - c.pos} of {blen} bytes",
                )
                break
            buf, pos = c.buf, c.pos
            c.pos = pos + blen
            if btype_i == 6:  # enhanced packet block
                iface, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", buf, pos + 8)
                if iface >= len(ifaces) or 28 + caplen + 4 > blen:
                    why = (
                        f"packet block names interface {iface} (only {len(ifaces)} described)"
                        if iface >= len(ifaces)
                        else f"packet length {caplen} overruns its block ({blen} bytes)"
                    )
                    n += 1
                    self.records = n
                    self._problem(c.base + pos, n, why)
                    yield 0.0, -1, b""
                    continue
                lt, unit, off = ifaces[iface]
                n += 1
                self.records = n
                yield ((hi << 32) | lo) * unit + off, lt, buf[pos + 28 : pos + 28 + caplen]
            elif btype_i == 3:  # simple packet block: interface 0, no timestamp
                (orig,) = struct.unpack_from(endian + "I", buf, pos + 8)
                caplen = min(orig, blen - 16)
                n += 1
                self.records = n
                if not ifaces:
                    self._problem(c.base + pos, n, "simple packet block before any interface")
                    yield 0.0, -1, b""
                    continue
                yield 0.0, ifaces[0][0], buf[pos + 12 : pos + 12 + caplen]
            elif btype_i == 2:  # obsolete packet block
                iface, _drops, hi, lo, caplen, _orig = struct.unpack_from(
                    endian + "HHIIII", buf, pos + 8
                )
                n += 1
                self.records = n
                if iface >= len(ifaces) or 28 + caplen > blen:
                    self._problem(c.base + pos, n, "corrupt obsolete packet block")
                    yield 0.0, -1, b""
                    continue
                lt, unit, off = ifaces[iface]
                yield ((hi << 32) | lo) * unit + off, lt, buf[pos + 28 : pos + 28 + caplen]
            elif btype_i == 1:  # interface description block
                lt = struct.unpack_from(endian + "H", buf, pos + 8)[0]
                unit, off = _if_options(buf, pos + 16, pos + blen - 4, endian)
                ifaces.append((lt, unit, off))
                self.linktypes.append(lt)
            elif btype_i == 10:  # decryption secrets block (TLS key log, WireGuard keys...)
                self._secrets(buf, pos, blen, endian, c.base + pos, n + 1)
            # other blocks (name resolution, statistics, custom...) are skipped


def _dsb(buf: bytes, pos: int, blen: int, endian: str) -> tuple[int, bytes] | str:
    """(secrets type, secrets) of a decryption secrets block, or why it is corrupt."""
    if blen < 20:
        return f"decryption secrets block of {blen} bytes is too short"
    kind, size = struct.unpack_from(endian + "II", buf, pos + 8)
    if 16 + size + 4 > blen:
        return f"decryption secrets length {size} overruns its block ({blen} bytes)"
    return kind, bytes(buf[pos + 16 : pos + 16 + size])


def _if_options(buf: bytes, pos: int, end: int, endian: str) -> tuple[float, float]:
    """if_tsresol (9) and if_tsoffset (14) of an interface description block."""
    unit, off = 1e-6, 0.0
    while pos + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", buf, pos)
        if code == 0:
            break
        val = buf[pos + 4 : pos + 4 + length]
        if code == 9 and length >= 1:
            r = val[0]
            unit = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0**-r
        elif code == 14 and length >= 8:
            off = float(struct.unpack_from(endian + "q", val)[0])
        pos += 4 + ((length + 3) & ~3)
    return unit, off


def read_records(path: str | Path) -> tuple[list[Record], list[ReadProblem]]:
    """Every record of a (small) capture and the problems met: for tests and tools."""
    with CaptureReader(path) as r:
        recs = list(r)
        return recs, list(r.problems)
