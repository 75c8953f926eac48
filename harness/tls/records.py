"""TLS record layer and handshake-message reassembly for one direction of a TCP stream.

`RecordStream` cuts a byte stream (fed in any split) into records; application-data
bodies are skipped, not buffered, so a long connection costs no memory.
`HandshakeReassembler` joins handshake fragments into whole messages (several messages
per record, one message over several records) and remembers where each byte came from
so that parse errors name a stream offset. Neither ever raises on bad input: it sets
`error` and ignores the rest of the stream (TLS cannot resynchronise).
No message parsing and no I/O here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from harness.tls.tables import (
    APPLICATION_DATA,
    CONTENT_TYPES,
    MAX_RECORD_LENGTH,
    SSL2_CLIENT_HELLO,
    handshake_type_name,
)

_HEADER = struct.Struct(">BHH")
MAX_HANDSHAKE_MESSAGE = 1 << 20  # a bound on buffered handshake bytes (real chains are < 64 KiB)


@dataclass(frozen=True, slots=True)
class Record:
    """One record: `offset` is the stream offset of its header; `payload` starts at
    `offset + header_length`. `payload` is None for skipped (application-data) bodies."""

    offset: int
    content_type: int
    version: int
    length: int
    payload: bytes | None
    header_length: int = 5


class RecordStream:
    """Incremental record splitter. `feed()` returns the records completed by the bytes."""

    def __init__(self, *, allow_sslv2: bool = True) -> None:
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._skip = 0  # bytes of a skipped record body still to come
        self._allow_sslv2 = allow_sslv2
        self.error: str | None = None
        self.error_offset = 0
        self.records = 0

    @property
    def consumed(self) -> int:
        """Stream bytes seen so far."""
        return self._base + len(self._buf)

    def pending(self) -> str | None:
        """Why the stream ends mid-record, or None when it ends on a record boundary."""
        if self.error:
            return None
        if self._skip:
            return f"stream ends {self._skip} bytes short of the end of a record"
        if self._buf:
            return f"stream ends inside a record starting at offset {self._base}"
        return None

    def feed(self, data: bytes) -> list[Record]:
        if self.error is not None or not data:
            return []
        mv = memoryview(data)
        if self._skip:
            n = min(self._skip, len(mv))
            self._skip -= n
            self._base += n
            mv = mv[n:]
            if not len(mv):
                return []
        buf = self._buf
        buf += mv
        out: list[Record] = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            off = self._base + pos
            if off == 0 and self._allow_sslv2 and buf[0] & 0x80:
                if end - pos < 3:
                    break
                rec = self._sslv2(buf, pos)
                if rec is None:  # incomplete, or self.error is set
                    break
                out.append(rec)
                pos += 2 + rec.length
                continue
            if end - pos < 5:
                break
            ct, ver, ln = _HEADER.unpack_from(buf, pos)
            why = None
            if ct not in CONTENT_TYPES:
                why = f"content type 0x{ct:02x} is not a TLS record type"
            elif ver >> 8 != 3:
                why = f"record version 0x{ver:04x} is not 3.x"
            elif ln > MAX_RECORD_LENGTH:
                why = f"record length {ln} exceeds the TLS limit {MAX_RECORD_LENGTH}"
            if why:
                self.error_offset = off
                self.error = (
                    f"record at stream offset {off}: {why} (not TLS, or the stream lost sync)"
                )
                break
            avail = end - pos - 5
            if ct == APPLICATION_DATA:
                out.append(Record(off, ct, ver, ln, None))
                if avail >= ln:
                    pos += 5 + ln
                else:
                    self._skip = ln - avail
                    pos = end
                    break
            else:
                if avail < ln:
                    break
                out.append(Record(off, ct, ver, ln, bytes(buf[pos + 5 : pos + 5 + ln])))
                pos += 5 + ln
        self.records += len(out)
        if pos:
            del buf[:pos]
            self._base += pos
        return out

    def _sslv2(self, buf: bytearray, pos: int) -> Record | None:
        ln = ((buf[pos] & 0x7F) << 8) | buf[pos + 1]
        if buf[pos + 2] != 1:
            self.error_offset = self._base + pos
            self.error = (
                f"record at stream offset {self._base + pos}: first byte 0x{buf[pos]:02x} "
                f"looks like an SSLv2 header but message type {buf[pos + 2]} is not CLIENT-HELLO"
            )
            return None
        if len(buf) - pos - 2 < ln:
            return None
        payload = bytes(buf[pos + 2 : pos + 2 + ln])
        return Record(self._base + pos, SSL2_CLIENT_HELLO, 0x0002, ln, payload, header_length=2)


@dataclass(frozen=True, slots=True)
class HandshakeMessage:
    """A whole handshake message. `segments` maps body positions to stream offsets:
    ((body_pos, stream_offset), ...), ascending."""

    msg_type: int
    body: bytes
    offset: int  # stream offset of the 4-byte message header
    segments: tuple[tuple[int, int], ...]

    @property
    def name(self) -> str:
        return handshake_type_name(self.msg_type)

    def stream_offset(self, body_pos: int) -> int:
        """The stream offset of body byte `body_pos` (for error messages)."""
        best = self.segments[0]
        for seg in self.segments:
            if seg[0] <= body_pos:
                best = seg
            else:
                break
        return best[1] + (body_pos - best[0])


class HandshakeReassembler:
    """Joins handshake-record payloads into messages."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._segs: list[tuple[int, int]] = []  # (buffer position, stream offset)
        self.error: str | None = None
        self.error_offset = 0

    @property
    def partial(self) -> bool:
        """True while part of a message is buffered."""
        return bool(self._buf)

    def add(self, payload: bytes, stream_offset: int) -> list[HandshakeMessage]:
        if self.error is not None or not payload:
            return []
        buf = self._buf
        self._segs.append((len(buf), stream_offset))
        buf += payload
        out: list[HandshakeMessage] = []
        pos = 0
        end = len(buf)
        while end - pos >= 4:
            ln = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            if ln > MAX_HANDSHAKE_MESSAGE:
                self.error_offset = self._map(pos)
                self.error = (
                    f"handshake message at stream offset {self._map(pos)}: length {ln} of "
                    f"{handshake_type_name(buf[pos])} exceeds {MAX_HANDSHAKE_MESSAGE} bytes"
                )
                break
            if end - pos - 4 < ln:
                break
            body_start = pos + 4
            segs = [(0, self._map(body_start))]
            for bpos, soff in self._segs:
                if body_start < bpos < body_start + ln:
                    segs.append((bpos - body_start, soff))
            out.append(
                HandshakeMessage(
                    buf[pos], bytes(buf[body_start : body_start + ln]), self._map(pos), tuple(segs)
                )
            )
            pos = body_start + ln
        if pos:
            del buf[:pos]
            kept: list[tuple[int, int]] = []
            for i, (bpos, soff) in enumerate(self._segs):
                nxt = self._segs[i + 1][0] if i + 1 < len(self._segs) else None
                if nxt is not None and nxt <= pos:
                    continue
                if bpos < pos:
                    kept.append((0, soff + pos - bpos))
                else:
                    kept.append((bpos - pos, soff))
            self._segs = kept if buf else []
        return out

    def _map(self, buf_pos: int) -> int:
        best = self._segs[0]
        for seg in self._segs:
            if seg[0] <= buf_pos:
                best = seg
            else:
                break
        return best[1] + (buf_pos - best[0])
