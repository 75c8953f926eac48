"""DNS stub resolver of the simulated phone: one query to a configured resolver, over UDP.

`resolve(name, qtype, server)` sends a dnslib-built query, retransmits on
timeout and returns the answer's addresses (A) or targets (SRV) with an error
text when there is none. Provisioning logic (failover, A-only) is the engine's.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass

from dnslib import QTYPE, RCODE, DNSRecord

from harness.device.sim.adapters.source import local_bind


@dataclass(frozen=True)
class DnsAnswer:
    addresses: tuple[str, ...]
    error: str = ""  # "", "NXDOMAIN", "timeout", ...


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, qid: int) -> None:
        self.qid = qid
        self.answer: asyncio.Future[DNSRecord] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        try:
            record = DNSRecord.parse(data)
        except Exception:  # a garbled answer is ignored, as a resolver would
            return
        if record.header.id == self.qid and not self.answer.done():
            self.answer.set_result(record)


async def resolve(
    name: str,
    qtype: str,
    server: tuple[str, int],
    *,
    timeout: float = 1.0,
    tries: int = 3,
    local: str | None = None,
) -> DnsAnswer:
    query = DNSRecord.question(name, qtype)
    query.header.id = random.randrange(1, 65536)
    loop = asyncio.get_running_loop()
    try:
        transport, proto = await loop.create_datagram_endpoint(
            lambda: _Proto(query.header.id),
            remote_addr=server,
            local_addr=local_bind(local, server[0]),
            family=socket.AF_INET,
        )
    except OSError as exc:
        return DnsAnswer((), f"resolver {server[0]}:{server[1]} unreachable: {exc}")
    try:
        for _ in range(tries):
            transport.sendto(query.pack())
            try:
                reply = await asyncio.wait_for(asyncio.shield(proto.answer), timeout)
                break
            except TimeoutError:
                continue
        else:
            return DnsAnswer((), "timeout")
    finally:
        transport.close()
    rcode = RCODE.get(reply.header.rcode)
    if rcode != "NOERROR":
        return DnsAnswer((), str(rcode))
    want = getattr(QTYPE, qtype)
    found = tuple(
        str(rr.rdata.target if qtype == "SRV" else rr.rdata).rstrip(".")
        for rr in reply.rr
        if rr.rtype == want
    )
    return DnsAnswer(found, "" if found else f"no {qtype} record")
