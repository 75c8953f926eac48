"""A minimal byte-stream interface, so HTTP runs the same over TCP and over TLS.

`ByteStream` is what a connection handler reads and writes; `TcpStream` wraps
asyncio's reader/writer. The TLS wrapper (harness.endpoints.tls_stream) offers
the same interface on top of a `TcpStream`, seeing the raw records both ways.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

Address = tuple[str, int]


class ByteStream(Protocol):
    peer: Address
    local: Address

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Up to `max_bytes`; b'' once the peer has closed."""

    async def send(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class TcpStream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.peer: Address = (peer[0], peer[1])
        self.local: Address = (local[0], local[1])

    async def receive(self, max_bytes: int = 65536) -> bytes:
        try:
            return await self.reader.read(max_bytes)
        except (ConnectionError, OSError):
            return b""

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        try:
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
