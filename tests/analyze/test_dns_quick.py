"""The quick DNS reader gives exactly dnslib's strings, or declines (then dnslib reads it)."""

from __future__ import annotations

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SRV, A, DNSRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analyze.dns import DnsTracker
from harness.wire.dns import quick_parse

label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
names = st.lists(label, min_size=1, max_size=4).map(".".join)


def dnslib_view(data: bytes):
    rec = DNSRecord.parse(data)
    q = rec.questions[0]
    return (
        rec.header.id,
        rec.header.qr,
        str(RCODE[rec.header.rcode]),
        str(q.qname).rstrip("."),
        str(QTYPE[q.qtype]),
        tuple(str(rr.rdata) for rr in rec.rr),
    )


def rdata(kind: str, name: str, n: int):
    if kind == "A":
        return A(".".join(str((n >> s) & 255) for s in (24, 16, 8, 0)))
    if kind == "CNAME":
        return CNAME(name)
    if kind == "AAAA":
        return AAAA(f"2001:db8::{n & 0xFFFF:x}")
    return SRV(1, 2, 69, name)


@settings(max_examples=200, deadline=None)
@given(
    names,
    st.sampled_from(["A", "SRV", "AAAA", "CNAME"]),
    st.lists(
        st.tuples(st.sampled_from(["A", "CNAME", "AAAA", "SRV"]), names, st.integers(0, 2**32 - 1)),
        max_size=4,
    ),
    st.integers(0, 3),
)
def test_quick_parse_agrees_with_dnslib(qname, qtype, answers, rcode):
    q = DNSRecord.question(qname, qtype)
    assert quick_parse(q.pack())[1:] == dnslib_view(q.pack())[1:]
    r = q.reply()
    r.header.rcode = rcode
    for kind, name, n in answers:
        r.add_answer(RR(qname, getattr(QTYPE, kind), rdata=rdata(kind, name, n)))
    data = r.pack()
    quick = quick_parse(data)
    if quick is not None:
        assert quick == dnslib_view(data)
    else:
        assert any(k in ("AAAA", "SRV") for k, _, _ in answers)


def test_tracker_pairs_and_falls_back():
    got = []
    t = DnsTracker("x", got.append, lambda f, w: got.append(("problem", f, w)))
    q = DNSRecord.question("prov.example.net", "SRV")
    t.packet(1, 1.0, ("192.0.2.1", 5000), ("192.0.2.53", 53), q.pack(), lambda ip: None)
    r = q.reply()
    r.add_answer(RR("prov.example.net", 33, rdata=SRV(1, 2, 69, "tftp.example.net")))
    t.packet(2, 1.1, ("192.0.2.53", 53), ("192.0.2.1", 5000), r.pack(), lambda ip: None)
    t.packet(3, 1.2, ("192.0.2.1", 5000), ("192.0.2.53", 53), b"\x00\x01junk", lambda ip: None)
    (o, problem) = got
    assert (o.qtype, o.answers, o.evidence.frames) == ("SRV", ("1 2 69 tftp.example.net.",), (1, 2))
    assert problem[0] == "problem" and problem[1] == 3
