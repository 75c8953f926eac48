"""STUN client: the external address ($EXTIP) and RFC 5780 NAT behaviour discovery.

`external_address(server)` is what the simulated phone calls for `$EXTIP`.
`discover(server)` runs the tests of RFC 5780 §4.3 (mapping) from one UDP
socket and §4.4 (filtering) from a second, fresh one (so the mapping tests'
packets to the alternate address cannot open an address-dependent filter), and
returns a `NatBehaviour`. The decisions
themselves are the pure functions `classify_mapping` / `classify_filtering`;
the packet codec is harness.wire.stun. `via` lets a caller redirect
each server address (the loopback emulation sends through its relay).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

from harness.netsim.nat import (
    ADDRESS_AND_PORT_DEPENDENT,
    ADDRESS_DEPENDENT,
    ENDPOINT_INDEPENDENT,
)
from harness.wire import stun as wire

Address = tuple[str, int]
RTO = 0.5  # seconds before the first retransmission (RFC 5389 §7.2.1 default)
RETRIES = 2


class StunTimeout(TimeoutError):
    """The STUN server did not answer."""


@dataclass(frozen=True)
class BindingResult:
    mapped: Address  # XOR-MAPPED-ADDRESS (MAPPED-ADDRESS from old servers)
    origin: Address | None  # RESPONSE-ORIGIN
    other: Address | None  # OTHER-ADDRESS
    source: Address  # where the answer actually came from


@dataclass(frozen=True)
class NatBehaviour:
    mapping: str  # endpoint-independent | address-dependent | address-and-port-dependent
    filtering: str
    nat: bool  # the mapped address differs from the local one
    local: Address
    mapped: Address
    emulated: bool = False  # measured through the loopback emulation, not a kernel NAT

    def summary(self) -> str:
        kind = "emulated NAT" if self.emulated else ("NAT" if self.nat else "no NAT")
        return f"{kind}: mapping {self.mapping}, filtering {self.filtering}"


def classify_mapping(local: Address, x1: Address, x2: Address | None, x3: Address | None) -> str:
    """RFC 5780 §4.3: compare the mapped addresses of tests I, II (alt IP) and III (alt IP+port)."""
    if x1 == local or x2 == x1:
        return ENDPOINT_INDEPENDENT
    if x3 is not None and x3 == x2:
        return ADDRESS_DEPENDENT
    return ADDRESS_AND_PORT_DEPENDENT


def classify_filtering(answered_change_both: bool, answered_change_port: bool) -> str:
    """RFC 5780 §4.4: did answers from the other IP and port, or from the other port, get in?"""
    if answered_change_both:
        return ENDPOINT_INDEPENDENT
    if answered_change_port:
        return ADDRESS_DEPENDENT
    return ADDRESS_AND_PORT_DEPENDENT


class _Proto(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[bytes, asyncio.Future[tuple[wire.Message, Address]]] = {}

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not wire.is_stun(data):
            return
        try:
            msg = wire.decode(data)
        except wire.StunError:
            return
        fut = self.waiting.pop(msg.transaction_id, None)
        if fut is not None and not fut.done():
            fut.set_result((msg, (addr[0], addr[1])))


class StunClient:
    """One UDP socket that sends Binding requests and matches answers by transaction ID."""

    def __init__(self, local: Address = ("0.0.0.0", 0)) -> None:
        self.local_request = local
        self._transport: asyncio.DatagramTransport | None = None
        self._proto = _Proto()

    async def open(self) -> StunClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(self.local_request)
        self._transport, _ = await loop.create_datagram_endpoint(lambda: self._proto, sock=sock)
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> StunClient:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._transport is not None
        return self._transport.get_extra_info("sockname")[1]

    def local_address(self, toward: Address) -> Address:
        """The (ip, port) this socket sends from toward `toward` (asks the routing table)."""
        ip = self.local_request[0]
        if ip == "0.0.0.0":
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.connect(toward)
                ip = probe.getsockname()[0]
            finally:
                probe.close()
        return (ip, self.port)

    async def request(
        self,
        server: Address,
        *,
        change_ip: bool = False,
        change_port: bool = False,
        rto: float = RTO,
        retries: int = RETRIES,
    ) -> BindingResult | None:
        """One Binding transaction (retransmitted `retries` times, RTO doubling); None: no answer."""
        assert self._transport is not None, "call open() first"
        msg = wire.binding_request(change_ip, change_port)
        data = wire.encode(msg)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._proto.waiting[msg.transaction_id] = fut
        wait = rto
        try:
            for _ in range(retries + 1):
                self._transport.sendto(data, server)
                try:
                    reply, source = await asyncio.wait_for(asyncio.shield(fut), wait)
                    break
                except TimeoutError:
                    wait *= 2
            else:
                return None
        finally:
            self._proto.waiting.pop(msg.transaction_id, None)
        if reply.type != wire.BINDING_SUCCESS:
            err = reply.error_code()
            raise wire.StunError(f"STUN server {server[0]}:{server[1]} answered error {err}")
        mapped = reply.address(wire.XOR_MAPPED_ADDRESS) or reply.address(wire.MAPPED_ADDRESS)
        if mapped is None:
            raise wire.StunError(f"STUN answer from {server[0]}:{server[1]} has no mapped address")
        return BindingResult(
            mapped, reply.address(wire.RESPONSE_ORIGIN), reply.address(wire.OTHER_ADDRESS), source
        )


def _same(addr: Address) -> Address:
    return addr


async def external_address(
    server: Address, *, local: Address = ("0.0.0.0", 0), rto: float = RTO, retries: int = RETRIES
) -> Address:
    """The phone's address and port as the STUN server sees them (for `$EXTIP`)."""
    async with StunClient(local) as client:
        result = await client.request(server, rto=rto, retries=retries)
    if result is None:
        raise StunTimeout(f"no answer from STUN server {server[0]}:{server[1]}")
    return result.mapped


async def discover(
    server: Address,
    *,
    local: Address = ("0.0.0.0", 0),
    rto: float = 0.3,
    retries: int = 1,
    via: Callable[[Address], Address] = _same,
    emulated: bool = False,
) -> NatBehaviour:
    """Classify the NAT between here and `server` (a RFC 5780 server with OTHER-ADDRESS)."""
    async with StunClient(local) as client:
        test1 = await client.request(via(server), rto=rto, retries=retries)
        if test1 is None:
            raise StunTimeout(f"no answer from STUN server {server[0]}:{server[1]}")
        if test1.other is None:
            raise wire.StunError(
                f"STUN server {server[0]}:{server[1]} sent no OTHER-ADDRESS: it does not "
                "support RFC 5780 behaviour discovery"
            )
        local_addr = client.local_address(server)
        alt_ip, alt_port = test1.other
        x2 = x3 = None
        if test1.mapped != local_addr:
            r2 = await client.request(via((alt_ip, server[1])), rto=rto, retries=retries)
            x2 = r2.mapped if r2 else None
            if x2 is not None and x2 != test1.mapped:
                r3 = await client.request(via((alt_ip, alt_port)), rto=rto, retries=retries)
                x3 = r3.mapped if r3 else None
        mapping = classify_mapping(local_addr, test1.mapped, x2, x3)
    # filtering from a fresh socket (a fresh mapping), so that the mapping tests'
    # requests to the alternate address do not open an address-dependent filter
    async with StunClient(local) as client:
        if await client.request(via(server), rto=rto, retries=retries) is None:
            raise StunTimeout(f"no answer from STUN server {server[0]}:{server[1]}")
        both = await client.request(via(server), change_ip=True, change_port=True, rto=rto,
                                    retries=retries)  # fmt: skip
        port_only = None
        if both is None:
            port_only = await client.request(via(server), change_port=True, rto=rto,
                                             retries=retries)  # fmt: skip
        filtering = classify_filtering(both is not None, port_only is not None)
    return NatBehaviour(
        mapping, filtering, test1.mapped != local_addr, local_addr, test1.mapped, emulated
    )
