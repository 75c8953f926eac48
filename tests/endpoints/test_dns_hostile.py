"""The DNS endpoint against spoofed and non-query packets: no loops, responses ignored, NOTIMP."""

import socket
import time

import pytest
from dnslib import OPCODE, RCODE, DNSRecord


def _count_after(server, seconds: float = 0.5) -> int:
    time.sleep(seconds)
    return len(server.queries)


@pytest.mark.needs_root
@pytest.mark.parametrize("qr", [1, 0])
def test_spoofed_datagram_from_own_address_starts_no_loop(dns_server, qr):
    """A datagram forged with the server's own address and port is never answered."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP
    from scapy.sendrecv import send

    dns_server.add_a("prov.example.test", "198.51.100.7")
    host, port = dns_server.address
    packet = (
        IP(src=host, dst=host)
        / UDP(sport=port, dport=port)
        / DNS(id=7, qr=qr, qd=DNSQR(qname="prov.example.test"))
    )
    send(packet, iface="lo", verbose=False)
    assert _count_after(dns_server) == 0
    assert any("own address" in p or "QR=1" in p for p in dns_server.problems)


def test_response_is_not_answered(dns_server):
    dns_server.add_a("prov.example.test", "198.51.100.7")
    response = DNSRecord.question("prov.example.test").reply()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(response.pack(), dns_server.address)
        with pytest.raises(TimeoutError):
            s.recvfrom(2048)
    assert dns_server.queries == []
    assert any("QR=1" in p for p in dns_server.problems)


@pytest.mark.parametrize("opcode", [OPCODE.IQUERY, OPCODE.STATUS, OPCODE.NOTIFY, OPCODE.UPDATE])
def test_other_opcodes_get_notimp(dns_server, opcode):
    query = DNSRecord.question("prov.example.test")
    query.header.opcode = opcode
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(query.pack(), dns_server.address)
        reply = DNSRecord.parse(s.recvfrom(2048)[0])
    assert reply.header.rcode == RCODE.NOTIMP and reply.header.qr == 1
    assert reply.header.id == query.header.id


def test_a_silent_tcp_client_is_dropped(dns_server):
    dns_server.tcp_idle_timeout = 0.2
    with socket.create_connection(dns_server.address, timeout=10) as s:
        s.sendall(b"\x00")  # half a length prefix, then silence
        assert s.recv(100) == b""  # the server closed the connection
