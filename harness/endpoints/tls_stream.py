"""TLS over a `ByteStream`, through `ssl.MemoryBIO`, seeing every raw byte both ways.

`peek_client_hello(raw)` reads the first flight of a connection until the whole
ClientHello is in (so a server can pick a personality by SNI before any TLS
state exists). `TlsStream` then runs an `ssl.SSLObject` over the raw stream and
offers the same `ByteStream` interface to HTTP; every byte read from or written
to the socket goes to the `on_client_bytes` / `on_server_bytes` taps first.
No HTTP, no recording and no spec knowledge here.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from harness.endpoints.stream import Address, ByteStream
from harness.tls.handshake import ClientHello, parse_client_hello_body
from harness.tls.records import HandshakeReassembler, RecordStream
from harness.tls.tables import ALERT_DESCRIPTIONS, CLIENT_HELLO, HANDSHAKE, SSL2_CLIENT_HELLO

MAX_HELLO_BYTES = 65536
Tap = Callable[[bytes], None]
_ALERT_BY_NAME = {name: code for code, name in ALERT_DESCRIPTIONS.items()}


@dataclass
class HelloPeek:
    """What the first bytes of a connection held."""

    data: bytes  # every byte read so far (to be fed to the TLS engine)
    hello: ClientHello | None  # None: closed early, not TLS, or unparseable
    error: str | None = None


async def peek_client_hello(raw: ByteStream, timeout: float = 10.0) -> HelloPeek:
    """Read from `raw` until a whole ClientHello arrived (or it cannot)."""
    records = RecordStream()
    messages = HandshakeReassembler()
    data = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(data) < MAX_HELLO_BYTES:
        try:
            chunk = await asyncio.wait_for(raw.receive(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return HelloPeek(bytes(data), None, f"no complete ClientHello within {timeout} s")
        if not chunk:
            why = "closed before sending anything" if not data else "closed inside the ClientHello"
            return HelloPeek(bytes(data), None, f"client {why}")
        data += chunk
        for record in records.feed(chunk):
            if record.content_type == SSL2_CLIENT_HELLO:
                return HelloPeek(bytes(data), None, "SSLv2-compatible ClientHello")
            if record.content_type != HANDSHAKE or record.payload is None:
                return HelloPeek(bytes(data), None, "first record is not a handshake record")
            for msg in messages.add(record.payload, record.offset + record.header_length):
                if msg.msg_type != CLIENT_HELLO:
                    return HelloPeek(bytes(data), None, f"first message is {msg.name}")
                try:
                    return HelloPeek(bytes(data), parse_client_hello_body(msg.body))
                except ValueError as exc:
                    return HelloPeek(bytes(data), None, f"unparseable ClientHello: {exc}")
        if records.error or messages.error:
            return HelloPeek(bytes(data), None, records.error or messages.error)
    return HelloPeek(bytes(data), None, f"ClientHello larger than {MAX_HELLO_BYTES} bytes")


def received_alert(exc: ssl.SSLError) -> tuple[int, str] | None:
    """(description, name) when OpenSSL's error says the peer sent a fatal alert."""
    reason = (getattr(exc, "reason", None) or "").upper()
    for prefix in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_", "TLSV1_"):
        if reason.startswith(prefix):
            name = reason.removeprefix(prefix).lower()
            if name in _ALERT_BY_NAME:
                return _ALERT_BY_NAME[name], name
    return None


class TlsClosed(ConnectionError):
    """The peer closed the TCP connection during the handshake."""


class TappedRawSide:
    """The raw side shared by the TLS stream adapters: bytes from the peer are tapped (seen by
    the wire parser) and handed to the TLS engine; bytes the engine wants sent are tapped and
    sent. Subclasses say where the engine's buffers are (`_put_in`, `_take_out`, `_in_eof`)."""

    raw: ByteStream
    eof: bool
    _tap_in: Tap | None
    _tap_out: Tap | None

    def _put_in(self, data: bytes) -> None:
        raise NotImplementedError

    def _take_out(self) -> bytes:
        raise NotImplementedError

    def _in_eof(self) -> None:
        raise NotImplementedError

    def _feed(self, data: bytes) -> None:
        if self._tap_in:
            self._tap_in(data)
        self._put_in(data)

    async def _flush(self) -> None:
        data = self._take_out()
        if not data:
            return
        if self._tap_out:
            self._tap_out(data)
        try:
            await self.raw.send(data)
        except (ConnectionError, OSError):
            self.eof = True

    async def _pull(self) -> bool:
        data = await self.raw.receive()
        if not data:
            self.eof = True
            self._in_eof()
            return False
        self._feed(data)
        return True


class TlsStream(TappedRawSide):
    """A server-side (or client-side) TLS connection on top of a raw ByteStream."""

    def __init__(
        self,
        raw: ByteStream,
        ctx: ssl.SSLContext,
        *,
        server_side: bool = True,
        server_hostname: str | None = None,
        initial: bytes = b"",
        on_client_bytes: Tap | None = None,
        on_server_bytes: Tap | None = None,
    ) -> None:
        self.raw = raw
        self.peer: Address = raw.peer
        self.local: Address = raw.local
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(
            self._in, self._out, server_side=server_side, server_hostname=server_hostname
        )
        self._server_side = server_side
        self._tap_in = on_client_bytes if server_side else on_server_bytes
        self._tap_out = on_server_bytes if server_side else on_client_bytes
        self.established = False
        self.error: ssl.SSLError | None = None
        self.app_bytes_received = 0
        self.eof = False
        if initial:
            self._feed(initial)

    # -- raw side (the rest is TappedRawSide's) --------------------------------------
    def _put_in(self, data: bytes) -> None:
        self._in.write(data)

    def _take_out(self) -> bytes:
        return self._out.read()

    def _in_eof(self) -> None:
        self._in.write_eof()

    # -- handshake ------------------------------------------------------------------
    async def handshake(self) -> None:
        """Complete the handshake; ssl.SSLError or TlsClosed when it fails."""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                if not await self._pull():
                    raise TlsClosed("peer closed the connection during the handshake") from None
            except ssl.SSLError as exc:
                self.error = exc
                await self._flush()  # our fatal alert, if OpenSSL made one
                raise
        await self._flush()
        self.established = True

    # -- ByteStream -----------------------------------------------------------------
    async def receive(self, max_bytes: int = 65536) -> bytes:
        while True:
            try:
                data = self.obj.read(max_bytes)
            except ssl.SSLWantReadError:
                await self._flush()
                if self.eof or not await self._pull():
                    return b""
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as exc:
                self.error = exc
                await self._flush()
                return b""
            await self._flush()
            self.app_bytes_received += len(data)
            return data

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.obj.write(view)
            view = view[n:]
            await self._flush()
            if self.eof:
                raise ConnectionResetError("peer closed the TLS connection")

    async def close(self) -> None:
        if self.established and not self.eof:
            try:
                self.obj.unwrap()
            except ssl.SSLError:
                pass
            await self._flush()
        await self.raw.close()

    # -- facts ----------------------------------------------------------------------
    @property
    def version(self) -> str | None:
        return self.obj.version() if self.established else None

    @property
    def cipher_name(self) -> str | None:
        c = self.obj.cipher() if self.established else None
        return c[0] if c else None

    def peer_certificate_der(self) -> bytes | None:
        return self.obj.getpeercert(binary_form=True) if self.established else None
