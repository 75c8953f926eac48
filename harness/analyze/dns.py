"""DNS dissection (dnslib) of UDP port-53 style packets into `DnsQuery` records.

Queries are paired with their responses by (client address, query ID); a
query never answered is emitted at the end with `rcode=None`. Only packets the
analyzer routed here are parsed (port prefilter). The message grammar is
`harness.wire.dns` (`summary`: a quick reader for the common case, dnslib for
the rest); this module only pairs and records. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.observe.events import Address, DeviceKey, DnsQuery, Evidence
from harness.wire.dns import DnsError, summary

MAX_OPEN = 4096
# the values of a `DnsQuery` besides device and evidence, in the order `emit_plain` gets them
# (harness.analyze.keep's record order)
DNS_FIELDS = ("time", "client", "server", "qname", "qtype", "rcode", "answers", "transport")
PlainEmit = Callable[[tuple, DeviceKey, str, tuple[int, ...]], None]
MAX_PARSED = 8192  # distinct messages (less their ID) remembered parsed

_NOTHING = object()


@dataclass(slots=True)
class _Open:
    time: float
    client: Address
    server: Address
    device: DeviceKey
    qname: str
    qtype: str
    frames: list[int]


class DnsTracker:
    def __init__(
        self,
        source: str,
        emit: Callable[[DnsQuery], None],
        problem: Callable[[int, str], None],
        emit_plain: PlainEmit | None = None,
    ) -> None:
        """`emit_plain`, when given, gets each query as (values in `DNS_FIELDS` order,
        device, source, frames) instead of `emit` getting a `DnsQuery` (no object made for
        a query the receiver only writes down)."""
        self.source, self.emit, self.problem = source, emit, problem
        self.emit_plain = emit_plain
        self.open: dict[tuple[Address, int], _Open] = {}
        # A site asks the same names over and over: a message's summary less its ID, by
        # its bytes less the ID (answers whose TTL changes miss, and are parsed again).
        self._parsed: dict[bytes, object] = {}

    def packet(
        self,
        frame: int,
        ts: float,
        src: Address,
        dst: Address,
        payload: bytes,
        device_of: Callable[[str], DeviceKey],
        transport: str = "udp",
    ) -> None:
        rest = bytes(payload[2:])
        known = self._parsed.get(rest, _NOTHING)
        if known is _NOTHING:
            try:
                parsed = summary(payload)
            except DnsError as exc:
                self.problem(frame, f"DNS message does not parse: {exc}")
                return
            known = None if parsed is None else parsed[1:]
            if len(self._parsed) >= MAX_PARSED:
                self._parsed.clear()
            self._parsed[rest] = known
        if known is None:
            return
        qr, rcode, qname, qtype, answers = known  # type: ignore[misc]
        ident = (payload[0] << 8) | payload[1]
        if qr == 0:
            key = (src, ident)
            if key in self.open:
                self.open[key].frames.append(frame)  # retransmitted query
                return
            if len(self.open) >= MAX_OPEN:
                self._emit(self.open.pop(next(iter(self.open))), None, ())
            self.open[key] = _Open(ts, src, dst, device_of(src[0]), qname, qtype, [frame])
            return
        o = self.open.pop((dst, ident), None)
        if o is None:
            o = _Open(ts, dst, src, device_of(dst[0]), qname, qtype, [])
        o.frames.append(frame)
        self._emit(o, rcode, answers, transport)

    def _emit(
        self, o: _Open, rcode: str | None, answers: tuple[str, ...], transport: str = "udp"
    ) -> None:
        if self.emit_plain is not None:
            values = (o.time, o.client, o.server, o.qname, o.qtype, rcode, answers, transport)
            self.emit_plain(values, o.device, self.source, tuple(o.frames))
            return
        self.emit(
            DnsQuery(
                time=o.time,
                client=o.client,
                server=o.server,
                device=o.device,
                evidence=Evidence(self.source, tuple(o.frames)),
                qname=o.qname,
                qtype=o.qtype,
                rcode=rcode,
                answers=answers,
                transport=transport,
            )
        )

    def finish(self) -> None:
        for o in self.open.values():
            self._emit(o, None, ())
        self.open.clear()
