"""DHCP server endpoint for the phone LAN: offers an address and options 66/150/159/160.

Listens on UDP 67 of one interface (SO_BINDTODEVICE) inside the LAN namespace
and answers DISCOVER with OFFER and REQUEST with ACK by broadcast, giving each
MAC one address from the pool. Every message seen or sent is recorded as a
`DhcpExchange`. The codec is harness.wire.dhcp; broken input is noted, never fatal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from harness.endpoints.base import Endpoint
from harness.observe.events import DeviceKey, DhcpExchange
from harness.wire import dhcp as wire

SERVER_PORT, CLIENT_PORT = 67, 68
LEASE_SECONDS = 3600


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, server: DhcpServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.server._handle(data, addr)
        except Exception as exc:  # hostile input never stops the server
            self.server.note_problem(f"from {addr[0]}:{addr[1]}: {exc}")


class DhcpServer(Endpoint):
    name = "dhcp"

    def __init__(
        self,
        *,
        interface: str,
        server_ip: str,
        pool: tuple[str, str],
        subnet: str,
        router: str | None = None,
        options: dict[int, str | bytes | list[str]] | None = None,
        host: str = "0.0.0.0",
        port: int = SERVER_PORT,
        client_port: int = CLIENT_PORT,
        **kw,
    ) -> None:
        super().__init__(host=host, port=port, **kw)
        self.interface = interface
        self.server_ip = server_ip
        self.client_port = client_port
        self.network = ipaddress.ip_network(subnet, strict=False)
        start, end = (ipaddress.IPv4Address(a) for a in pool)
        self._free = [str(ipaddress.IPv4Address(i)) for i in range(int(start), int(end) + 1)]
        self.leases: dict[str, str] = {}  # mac -> ip
        self.options: dict[int, bytes] = {
            wire.SUBNET_MASK: self.network.netmask.packed,
            wire.SERVER_ID: ipaddress.IPv4Address(server_ip).packed,
            wire.LEASE_TIME: wire.encode_option_value(wire.LEASE_TIME, LEASE_SECONDS),
        }
        if router:
            self.options[wire.ROUTER] = wire.encode_option_value(wire.ROUTER, router)
        for code, value in (options or {}).items():
            self.options[code] = wire.encode_option_value(code, value)
        self._transport: asyncio.DatagramTransport | None = None

    async def _serve(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.interface.encode())
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Proto(self), sock=sock)
        self._watch_datagrams(self._transport)
        self._closers.append(self._transport.close)

    def _record(self, msg: wire.DhcpMessage, offered: dict[int, bytes] | None = None) -> None:
        shown = {c: wire.decode_option_value(c, v) for c, v in (offered or {}).items()}
        self.record(
            DhcpExchange(
                time=self.clock.now(),
                client=(msg.ciaddr, self.client_port),
                server=(self.server_ip, self.port),
                device=DeviceKey(mac=msg.mac),
                evidence=self.evidence,
                message_type=msg.message_type,
                client_mac=msg.mac,
                requested_options=msg.requested_options(),
                offered_options=shown,
                your_ip=None if msg.yiaddr == "0.0.0.0" else msg.yiaddr,
            )
        )

    def _address_for(self, mac: str) -> str | None:
        if mac not in self.leases and self._free:
            self.leases[mac] = self._free.pop(0)
        return self.leases.get(mac)

    def _handle(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = wire.decode(data)
        if msg.op != wire.BOOTREQUEST:
            return
        self._record(msg)
        if msg.message_type not in ("DISCOVER", "REQUEST"):
            return
        ip = self._address_for(msg.mac)
        if ip is None:
            self.note_problem(f"pool exhausted; no address for {msg.mac}")
            return
        reply_type = "OFFER" if msg.message_type == "DISCOVER" else "ACK"
        wanted = msg.requested_options()
        offered = {
            c: v
            for c, v in self.options.items()
            if c in (wire.SERVER_ID, wire.LEASE_TIME) or not wanted or c in wanted
        }
        reply = wire.DhcpMessage(
            wire.BOOTREPLY, msg.xid, msg.chaddr, reply_type, yiaddr=ip, siaddr=self.server_ip,
            flags=msg.flags, options=offered,
        )  # fmt: skip
        assert self._transport is not None
        self._transport.sendto(wire.encode(reply), ("255.255.255.255", self.client_port))
        self._record(reply, offered)
