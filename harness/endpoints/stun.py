"""STUN server endpoint: RFC 5389 Binding with RFC 5780 CHANGE-REQUEST on two addresses.

Binds four UDP sockets, (host, port), (host, alt_port), (alt_host, port) and
(alt_host, alt_port); a Binding request is answered with XOR-MAPPED-ADDRESS
(and MAPPED-ADDRESS), RESPONSE-ORIGIN and OTHER-ADDRESS, from the socket the
CHANGE-REQUEST asks for. Without `alt_host` it is a plain RFC 5389 server and
refuses change requests with 420. Packet codec: harness.wire.stun (no bytes here).
Every answer is logged in `self.bindings`; broken input is noted, never fatal.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass

from harness.endpoints.base import Endpoint
from harness.wire import stun as wire

Address = tuple[str, int]
BIND_ATTEMPTS = 50


@dataclass(frozen=True)
class StunBinding:
    """One answered Binding request (the server's log line)."""

    time: float
    client: Address
    received_on: Address
    sent_from: Address
    change_ip: bool
    change_port: bool


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, server: StunServer, local: Address) -> None:
        self.server, self.local = server, local
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            self.server._handle(self, data, (addr[0], addr[1]))
        except Exception as exc:  # hostile input never stops the server
            self.server.note_problem(f"from {addr[0]}:{addr[1]}: {exc}")


class StunServer(Endpoint):
    name = "stun"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        alt_host: str | None = None,
        alt_port: int = 0,
        **kw,
    ) -> None:
        super().__init__(host=host, port=port, **kw)
        self.alt_host = alt_host
        self.alt_port = alt_port
        self.bindings: list[StunBinding] = []
        self._sockets: dict[Address, _Socket] = {}

    @property
    def other_address(self) -> Address | None:
        return (self.alt_host, self.alt_port) if self.alt_host else None

    async def _bind(self, addr: Address) -> _Socket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(addr)
        except OSError:
            sock.close()
            raise
        _, proto = await loop.create_datagram_endpoint(
            lambda: _Socket(self, sock.getsockname()[:2]), sock=sock
        )
        self._sockets[proto.local] = proto
        self._closers.append(proto.transport.close)  # type: ignore[union-attr]
        return proto

    async def _serve(self) -> None:
        if self.alt_host is None:
            first = await self._bind((self.host, self.port))
            self.port = first.local[1]
            return
        for _ in range(BIND_ATTEMPTS):
            opened = list(self._sockets.values())
            try:
                first = await self._bind((self.host, self.port))
                port = first.local[1]
                second = await self._bind((self.host, self.alt_port))
                alt_port = second.local[1]
                await self._bind((self.alt_host, port))
                await self._bind((self.alt_host, alt_port))
            except OSError as exc:
                for proto in list(self._sockets.values()):
                    if proto not in opened and proto.transport:
                        proto.transport.close()
                self._sockets = {k: v for k, v in self._sockets.items() if v in opened}
                if exc.errno != errno.EADDRINUSE or (self.port and self.alt_port):
                    raise
                continue
            self.port, self.alt_port = port, alt_port
            return
        raise OSError(errno.EADDRINUSE, "no free port pair for the STUN server")

    def _handle(self, sock: _Socket, data: bytes, client: Address) -> None:
        if not wire.is_stun(data):
            self.note_problem(f"{client[0]}:{client[1]} sent {len(data)} bytes that are not STUN")
            return
        msg = wire.decode(data)
        if msg.type != wire.BINDING_REQUEST:
            self.note_problem(f"{client[0]}:{client[1]}: message type {msg.type:#06x} ignored")
            return
        change_ip, change_port = msg.change_request()
        if (change_ip or change_port) and self.alt_host is None:
            reply = wire.binding_error(msg, 420, "CHANGE-REQUEST needs an alternate address")
            sock.transport.sendto(wire.encode(reply), client)  # type: ignore[union-attr]
            return
        ip, port = sock.local
        if change_ip:
            ip = self.alt_host if ip == self.host else self.host  # type: ignore[assignment]
        if change_port:
            port = self.alt_port if port == self.port else self.port
        out = self._sockets[(ip, port)]
        other = None
        if self.alt_host:
            other = (
                self.alt_host if sock.local[0] == self.host else self.host,
                self.alt_port if sock.local[1] == self.port else self.port,
            )
        reply = wire.binding_success(msg, mapped=client, origin=out.local, other=other)
        out.transport.sendto(wire.encode(reply), client)  # type: ignore[union-attr]
        self.bindings.append(
            StunBinding(self.clock.now(), client, sock.local, out.local, change_ip, change_port)
        )
        self.recorder.trim(self.bindings)
