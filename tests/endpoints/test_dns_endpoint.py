"""The DNS endpoint against `dig`: several A records, NXDOMAIN, SERVFAIL, empty, silence, hostile input."""

import socket
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st


def dig(server, *args):
    cmd = ["dig", "@127.0.0.1", "-p", str(server.port), "+tries=1", "+time=1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=15).stdout


def test_several_a_records_in_order(dns_server):
    dns_server.add_a("prov.example.test", "198.51.100.7", "198.51.100.8")
    assert dig(dns_server, "+short", "prov.example.test").split() == [
        "198.51.100.7",
        "198.51.100.8",
    ]
    (q,) = dns_server.queries
    assert (q.qname, q.qtype, q.rcode, q.answers) == (
        "prov.example.test",
        "A",
        "NOERROR",
        ("198.51.100.7", "198.51.100.8"),
    )


def test_status_behaviours(dns_server):
    dns_server.servfail("sf.example.test").no_answer("empty.example.test")
    assert "status: NXDOMAIN" in dig(dns_server, "unknown.example.test")
    assert "status: SERVFAIL" in dig(dns_server, "sf.example.test")
    out = dig(dns_server, "empty.example.test")
    assert "status: NOERROR" in out and "ANSWER: 0" in out
    assert [q.rcode for q in dns_server.queries] == ["NXDOMAIN", "SERVFAIL", "NOERROR"]


def test_drop_means_no_answer(dns_server):
    dns_server.drop("silent.example.test")
    out = dig(dns_server, "silent.example.test")
    assert "timed out" in out or "no servers could be reached" in out
    assert dns_server.queries[0].rcode is None


def test_srv_query_is_recorded_with_its_type(dns_server):
    dns_server.add_srv("_http._tcp.example.test", "prov.example.test", 80)
    out = dig(dns_server, "+tcp", "SRV", "_http._tcp.example.test")
    assert "prov.example.test" in out
    assert [(q.qtype, q.transport) for q in dns_server.queries] == [("SRV", "tcp")]


def test_hostile_packets_do_not_stop_the_server(dns_server):
    dns_server.add_a("prov.example.test", "198.51.100.7")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (
            b"",
            b"\x00",
            b"\xff" * 12,
            b"\x12\x34" + b"\x01\x00" + b"\x00\x05" * 4 + b"\xc0",
        ):
            s.sendto(junk, dns_server.address)
    with socket.create_connection(dns_server.address) as s:
        s.sendall(b"\x00\x40" + b"\x00" * 10)  # claims 64 bytes, sends 10, closes
    assert dig(dns_server, "+short", "prov.example.test").strip() == "198.51.100.7"
    assert any("malformed DNS query" in p for p in dns_server.problems)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=120))
def test_answer_never_raises(data):
    from harness.endpoints.dns import DnsServer

    server = DnsServer()
    reply = server.answer(data, ("127.0.0.1", 1), "udp")
    assert reply is None or isinstance(reply, bytes)
