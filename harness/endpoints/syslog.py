"""The syslog endpoint: UDP and TCP on the same port number, every message recorded.

Records one `SyslogMessage` per message (facility, severity, text, raw, format,
transport). Parsing is `harness.wire.syslog`'s; this module only does sockets.
"""

from __future__ import annotations

import asyncio
import socket

from harness.endpoints.base import Endpoint
from harness.observe.events import DeviceKey, SyslogMessage
from harness.wire.syslog import SyslogFramer, parse_syslog


class SyslogServer(Endpoint):
    name = "syslog"

    def __init__(self, *, tcp: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.tcp = tcp

    @property
    def url(self) -> str:
        return f"syslog://{self.host}:{self.port}"

    @property
    def messages(self) -> list[SyslogMessage]:
        return self.records(SyslogMessage)

    def _record(self, data: bytes, peer: tuple[str, int], transport: str) -> None:
        rec = parse_syslog(data)
        if rec.problem and rec.format == "raw":
            self.note_problem(
                f"from {peer[0]}:{peer[1]} ({transport}): {rec.problem}: {rec.raw[:80]!r}"
            )
        self.record(
            SyslogMessage(
                time=self.clock.now(),
                client=(peer[0], peer[1]),
                server=self.address,
                device=DeviceKey(ip=peer[0]),
                evidence=self.evidence,
                message=rec.message,
                facility=rec.facility,
                severity=rec.severity,
                hostname=rec.hostname,
                app_name=rec.app_name,
                raw=rec.raw,
                format=rec.format,
                transport=transport,
            )
        )

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple) -> None:
                server._record(data, addr, "udp")

            def error_received(self, exc: Exception) -> None:
                server.note_problem(f"UDP socket error: {exc}")

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                Udp, local_addr=(self.host, self.port), family=family
            )
            port = transport.get_extra_info("sockname")[1]
            if not self.tcp:
                break
            try:
                tcp_server = await asyncio.start_server(self._on_tcp, self.host, port)
            except OSError:
                transport.close()
                if self.port:  # a fixed port that is taken for TCP: give up
                    raise
                continue
            self._closers.append(tcp_server.close)
            break
        self.port = port
        self._watch_datagrams(transport)
        self._closers.append(transport.close)

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        framer = SyslogFramer()
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except (ConnectionError, OSError):
                    break
                if not data:
                    break
                for msg in framer.feed(data):
                    self._record(msg, peer, "tcp")
                self._framing_problems(framer, peer)  # as they happen, never piling up
            for msg in framer.flush():
                self._record(msg, peer, "tcp")
        finally:
            self._framing_problems(framer, peer)
            writer.close()

    def _framing_problems(self, framer: SyslogFramer, peer: tuple) -> None:
        for p in framer.problems:
            self.note_problem(f"from {peer[0]}:{peer[1]} (tcp): {p}")
        framer.problems.clear()
