"""A tiny DHCP client: DISCOVER -> OFFER -> REQUEST -> ACK on one interface, options back.

`await discover("eth0")` (run inside the phone's namespace, e.g. with
`topo.call("phone1", discover("eth0"))`) returns a `DhcpLease` whose
`options` map option codes to raw bytes (66, 150, 159, 160 ...). It does not
configure the interface: the caller (the simulated phone) decides what to do
with the address and applies its family's option precedence. Codec: dhcp_wire.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import struct
from dataclasses import dataclass

from harness.wire import dhcp as wire

DEFAULT_REQUESTED = (1, 3, 6, 66, 150, 159, 160)
SIOCGIFHWADDR = 0x8927


class DhcpTimeout(TimeoutError):
    """No DHCP server answered on the interface."""


@dataclass(frozen=True)
class DhcpLease:
    your_ip: str
    server_id: str | None
    options: dict[int, bytes]

    def text(self, code: int) -> str | None:
        """An option's readable value ("203.0.113.10", "http://...") or None."""
        raw = self.options.get(code)
        return None if raw is None else wire.decode_option_value(code, raw)


def interface_mac(iface: str) -> bytes:
    """The interface's MAC, asked of the kernel from the calling thread's namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        info = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", iface.encode()[:15]))
    return info[18:24]


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, xid: int) -> None:
        self.xid = xid
        self.replies: asyncio.Queue[wire.DhcpMessage] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            msg = wire.decode(data)
        except wire.DhcpError:
            return
        if msg.op == wire.BOOTREPLY and msg.xid == self.xid:
            self.replies.put_nowait(msg)


async def discover(
    iface: str,
    *,
    mac: str | bytes | None = None,
    requested: tuple[int, ...] = DEFAULT_REQUESTED,
    timeout: float = 2.0,
    attempts: int = 3,
    server_port: int = 67,
    client_port: int = 68,
) -> DhcpLease:
    """Get a lease (and its options) from a DHCP server on `iface`."""
    chaddr = bytes.fromhex(mac.replace(":", "")) if isinstance(mac, str) else mac
    chaddr = chaddr or interface_mac(iface)
    xid = struct.unpack("!I", os.urandom(4))[0]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    sock.bind(("0.0.0.0", client_port))
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: _Proto(xid), sock=sock)
    params = {wire.PARAM_LIST: bytes(requested)}
    dest = ("255.255.255.255", server_port)

    async def exchange(msg: wire.DhcpMessage, want: str) -> wire.DhcpMessage:
        for _ in range(attempts):
            transport.sendto(wire.encode(msg), dest)
            try:
                while True:
                    reply = await asyncio.wait_for(proto.replies.get(), timeout)
                    if reply.message_type == want:
                        return reply
                    if reply.message_type == "NAK":
                        raise DhcpTimeout(f"DHCP server on {iface} refused the request (NAK)")
            except TimeoutError:
                continue
        raise DhcpTimeout(f"no DHCP {want} on {iface} after {attempts} tries of {timeout} s")

    try:
        flags = wire.FLAG_BROADCAST
        offer = await exchange(
            wire.DhcpMessage(wire.BOOTREQUEST, xid, chaddr, "DISCOVER", flags=flags,
                             options=params), "OFFER")  # fmt: skip
        server_id = offer.options.get(wire.SERVER_ID, b"")
        req_opts = {**params, wire.REQUESTED_IP: socket.inet_aton(offer.yiaddr)}
        if server_id:
            req_opts[wire.SERVER_ID] = server_id
        ack = await exchange(
            wire.DhcpMessage(wire.BOOTREQUEST, xid, chaddr, "REQUEST", flags=flags,
                             options=req_opts), "ACK")  # fmt: skip
    finally:
        transport.close()
    sid = socket.inet_ntoa(server_id) if len(server_id) == 4 else None
    return DhcpLease(ack.yiaddr, sid, dict(ack.options))
