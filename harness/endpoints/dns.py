"""The DNS endpoint (dnslib packets): A records, NXDOMAIN, SERVFAIL, empty answers, silence.

Zones are set per name: `dns.add_a("prov.example.test", "127.0.0.1", "127.0.0.2")`,
`dns.nxdomain(name)`, `dns.servfail(name)`, `dns.no_answer(name)`, `dns.drop(name)`.
Every query is recorded as a `DnsQuery` with its type, so an SRV query is visible.
Unknown names get NXDOMAIN. UDP and TCP on the same port number.

Hostile input: only queries (QR=0) are answered (a response is never answered,
so a spoofed datagram cannot start a loop); opcodes other than QUERY get
NOTIMP; nothing is ever sent to the endpoint's own address and port.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from dnslib import AAAA, OPCODE, QTYPE, RCODE, RR, SRV, A, DNSError, DNSRecord

from harness.endpoints.base import Endpoint
from harness.observe.events import DeviceKey, DnsQuery


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


class DnsServer(Endpoint):
    name = "dns"

    def __init__(self, *, ttl: int = 60, tcp_idle_timeout: float = 10.0, **kw) -> None:
        super().__init__(**kw)
        self.ttl = ttl
        self.tcp_idle_timeout = tcp_idle_timeout  # real seconds a TCP client may stay silent
        self._records: dict[str, list[RR]] = {}
        self._behaviour: dict[str, str] = {}

    # -- zone scripting -----------------------------------------------------------
    def add_a(self, name: str, *addresses: str) -> DnsServer:
        """A records for `name`, answered in the order given."""
        for addr in addresses:
            rdata = AAAA(addr) if ":" in addr else A(addr)
            rtype = QTYPE.AAAA if ":" in addr else QTYPE.A
            self._records.setdefault(_norm(name), []).append(
                RR(_norm(name), rtype, rdata=rdata, ttl=self.ttl)
            )
        self._behaviour[_norm(name)] = "answer"
        return self

    def add_srv(
        self, name: str, target: str, port: int, priority: int = 10, weight: int = 10
    ) -> DnsServer:
        self._records.setdefault(_norm(name), []).append(
            RR(_norm(name), QTYPE.SRV, rdata=SRV(priority, weight, port, target), ttl=self.ttl)
        )
        self._behaviour[_norm(name)] = "answer"
        return self

    def _set(self, name: str, behaviour: str) -> DnsServer:
        self._behaviour[_norm(name)] = behaviour
        return self

    def nxdomain(self, name: str) -> DnsServer:
        return self._set(name, "nxdomain")

    def servfail(self, name: str) -> DnsServer:
        return self._set(name, "servfail")

    def no_answer(self, name: str) -> DnsServer:
        """NOERROR with an empty answer section."""
        return self._set(name, "no-answer")

    def drop(self, name: str) -> DnsServer:
        """Never answer queries for `name` (the resolver times out)."""
        return self._set(name, "drop")

    @property
    def queries(self) -> list[DnsQuery]:
        return self.records(DnsQuery)

    @property
    def url(self) -> str:
        return f"dns://{self.host}:{self.port}"

    # -- answering ----------------------------------------------------------------
    def is_own_address(self, peer: tuple) -> bool:
        """Whether `peer` is this server's own port on one of its own addresses."""
        if peer[1] != self.port:
            return False
        ip = peer[0].removeprefix("::ffff:")
        if ip == self.host:
            return True
        if self.host not in ("0.0.0.0", "::", ""):
            return False
        # bound to every address: `ip` is ours if a socket can be bound to it
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((ip, 0))
            except OSError:
                return False
        return True

    def answer(self, data: bytes, peer: tuple[str, int], transport: str) -> bytes | None:
        """The reply to one query packet (None: stay silent). Records the query."""
        try:
            request = DNSRecord.parse(data)
        except (DNSError, struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
            self.note_problem(f"from {peer[0]}:{peer[1]} ({transport}): malformed DNS query: {exc}")
            return None
        if request.header.qr:
            self.note_problem(
                f"from {peer[0]}:{peer[1]} ({transport}): DNS response (QR=1) sent to the server: ignored"
            )
            return None
        if request.header.opcode != OPCODE.QUERY:
            self.note_problem(
                f"from {peer[0]}:{peer[1]} ({transport}): DNS opcode {request.header.opcode}"
                " is not QUERY: NOTIMP"
            )
            reply = request.reply()
            reply.header.rcode = RCODE.NOTIMP
            return reply.pack()
        if not request.questions:
            self.note_problem(f"from {peer[0]}:{peer[1]} ({transport}): DNS query with no question")
            return None
        q = request.questions[0]
        qname, qtype = _norm(str(q.qname)), QTYPE.get(q.qtype, str(q.qtype))
        behaviour = self._behaviour.get(qname, "nxdomain")
        reply = request.reply()
        rcode: str | None = "NOERROR"
        answers: list[str] = []
        if behaviour == "drop":
            rcode = None
        elif behaviour == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
            rcode = "NXDOMAIN"
        elif behaviour == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
            rcode = "SERVFAIL"
        elif behaviour == "answer":
            for rr in self._records.get(qname, []):
                if rr.rtype == q.qtype or q.qtype == QTYPE.ANY:
                    reply.add_answer(rr)
                    answers.append(str(rr.rdata))
        self.record(
            DnsQuery(
                time=self.clock.now(),
                client=(peer[0], peer[1]),
                server=self.address,
                device=DeviceKey(ip=peer[0]),
                evidence=self.evidence,
                qname=qname,
                qtype=str(qtype),
                rcode=rcode,
                answers=tuple(answers),
                transport=transport,
            )
        )
        return None if rcode is None else reply.pack()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple) -> None:
                if server.is_own_address(addr):
                    server.note_problem(
                        f"from {addr[0]}:{addr[1]} (udp): datagram from the server's own"
                        " address and port: ignored"
                    )
                    return
                reply = server.answer(data, addr, "udp")
                if reply is not None:
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                Udp, local_addr=(self.host, self.port), family=family
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._on_tcp, self.host, port)
            except OSError:
                transport.close()
                if self.port:
                    raise
                continue
            break
        self.port = port
        self._watch_datagrams(transport)
        self._closers += [transport.close, tcp.close]

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            while True:
                idle = self.tcp_idle_timeout
                head = await asyncio.wait_for(reader.readexactly(2), idle)
                (length,) = struct.unpack("!H", head)
                data = await asyncio.wait_for(reader.readexactly(length), idle)
                reply = self.answer(data, peer, "tcp")
                if reply is not None:
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError, TimeoutError):
            pass
        finally:
            writer.close()


__all__ = ["DnsServer"]
