"""Hostile-input fuzzing of every endpoint: scapy-crafted and random packets, bounded in count.

Each test starts one real endpoint on loopback and throws hypothesis-generated input at
it (scapy packets with fuzzed fields, plus raw bytes); afterwards the endpoint must still
answer a well-formed request, and its problem list must stay bounded. The number of
examples is fixed (no wall-clock bound); socket timeouts only end a read.
"""

from __future__ import annotations

import socket
import ssl
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.tftp import (
    TFTP,
    TFTP_ACK,
    TFTP_DATA,
    TFTP_ERROR,
    TFTP_RRQ,
    TFTP_WRQ,
    TFTP_Option,
    TFTP_Options,
)
from scapy.layers.tls.handshake import TLSClientHello
from scapy.layers.tls.record import TLS

from harness.endpoints.base import MAX_PROBLEMS
from harness.endpoints.dhcp import DhcpServer, _Proto
from harness.endpoints.dns import DnsServer
from harness.endpoints.http import HttpServer
from harness.endpoints.https import HttpsServer
from harness.endpoints.stun import StunServer
from harness.endpoints.syslog import SyslogServer
from harness.endpoints.tftp import TftpServer

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
small = st.integers(min_value=0, max_value=0xFFFF)
names = st.binary(min_size=0, max_size=80)


def crafted(build):
    """A strategy builder's function made total: scapy refuses some field values when
    building; such an example becomes raw bytes of the values instead (still hostile)."""

    def wrapped(*args):
        try:
            return bytes(build(*args))
        except Exception:
            return b"".join(a if isinstance(a, bytes) else repr(a).encode() for a in args)[:700]

    return wrapped


def fuzz(strategy, send) -> None:
    """Send every example of `strategy` with `send` (a bounded number of examples)."""

    @FUZZ
    @given(data=strategy)
    def throw(data: bytes) -> None:
        send(data)

    throw()


def healthy(endpoint) -> None:
    """No input reached the catch-all for bugs, and the problem list stayed bounded."""
    assert not [p for p in endpoint.problems if "internal error" in p]
    assert len(endpoint.problems) <= 2 * MAX_PROBLEMS


def udp_send(address: tuple[str, int], data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, address)


def tcp_send(address: tuple[str, int], data: bytes, wrap: ssl.SSLContext | None = None) -> None:
    with socket.create_connection(address, timeout=2) as s:
        s.settimeout(0.3)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except (TimeoutError, ConnectionError, OSError):
            pass


# -- TFTP ---------------------------------------------------------------------------------
options = st.lists(st.builds(TFTP_Option, oname=names, value=names), max_size=4)
tftp_packets = st.one_of(
    st.builds(crafted(lambda f, m, o: TFTP() / TFTP_RRQ(filename=f, mode=m) / TFTP_Options(options=o)),
              names, st.sampled_from([b"octet", b"netascii", b"mail", b"", b"\xff"]), options),
    st.builds(crafted(lambda f, o: TFTP() / TFTP_WRQ(filename=f, mode=b"octet") / TFTP_Options(options=o)),
              names, options),
    st.builds(crafted(lambda b, d: TFTP() / TFTP_DATA(block=b) / d), small, st.binary(max_size=600)),
    st.builds(crafted(lambda b: TFTP() / TFTP_ACK(block=b)), small),
    st.builds(crafted(lambda c, m: TFTP() / TFTP_ERROR(errorcode=c, errormsg=m)), small, names),
    st.builds(crafted(lambda op, rest: TFTP(op=op) / rest), small, st.binary(max_size=100)),
)  # fmt: skip


def test_tftp_survives_hostile_datagrams(tftp_server: TftpServer) -> None:
    from tests.endpoints.test_tftp_rawclient import RawClient

    tftp_server.max_retries = 0
    tftp_server.retransmit_timeout = 0.05
    tftp_server.add_file("ok.cfg", b"fine")
    fuzz(st.one_of(tftp_packets, st.binary(max_size=700)),
         lambda data: udp_send(tftp_server.address, data))  # fmt: skip
    tftp_server.retransmit_timeout = 1.0
    tftp_server.max_retries = 3
    with RawClient(tftp_server.address) as client:
        assert client.read("ok.cfg").data == b"fine"
    healthy(tftp_server)


# -- DNS ------------------------------------------------------------------------------------
dns_packets = st.builds(
    crafted(lambda i, qr, op, rc, qn, qt, an, counts: DNS(
        id=i, qr=qr, opcode=op, rcode=rc, qd=DNSQR(qname=qn, qtype=qt),
        an=DNSRR(rrname=qn, type="TXT", rdata=an), qdcount=counts[0], ancount=counts[1])),
    small, st.integers(0, 1), st.integers(0, 15), st.integers(0, 15), names,
    small, st.binary(max_size=16), st.tuples(st.integers(0, 9), st.integers(0, 9)),
)  # fmt: skip


def test_dns_survives_hostile_packets(dns_server: DnsServer) -> None:
    def send(data: bytes) -> None:
        udp_send(dns_server.address, data)
        tcp_send(dns_server.address, struct.pack("!H", len(data)) + data)

    dns_server.add_a("prov.example.test", "198.51.100.7")
    fuzz(st.one_of(dns_packets, st.binary(max_size=300)), send)
    healthy(dns_server)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(bytes(DNS(id=9, rd=1, qd=DNSQR(qname="prov.example.test"))), dns_server.address)
        assert DNS(s.recvfrom(2048)[0]).an[0].rdata == "198.51.100.7"


# -- syslog ---------------------------------------------------------------------------------
syslog_text = st.builds(
    lambda pri, body: b"<" + pri + b">" + body,
    st.one_of(st.integers(-5, 300).map(lambda n: str(n).encode()), names),
    st.binary(max_size=400),
)


def test_syslog_survives_hostile_messages(syslog_server: SyslogServer) -> None:
    def send(data: bytes) -> None:
        udp_send(syslog_server.address, data)
        tcp_send(syslog_server.address, str(len(data)).encode() + b" " + data + b"\n" + data)

    fuzz(st.one_of(syslog_text, st.binary(max_size=500)), send)
    udp_send(syslog_server.address, b"<134>still listening")
    assert syslog_server.recorder.wait_for(
        lambda obs: any(getattr(o, "message", "") == "still listening" for o in obs)
    )
    healthy(syslog_server)


# -- STUN -----------------------------------------------------------------------------------
@pytest.fixture
def stun_server():
    server = StunServer().start()
    try:
        yield server
    finally:
        server.stop()


stun_packets = st.builds(
    lambda mtype, length, txid, attrs: struct.pack("!HHI", mtype, length, 0x2112A442) + txid + attrs,
    st.sampled_from([0x0001, 0x0011, 0x0101, 0x0111]) | small, small,
    st.binary(min_size=12, max_size=12),
    st.lists(st.builds(lambda t, v: struct.pack("!HH", t, len(v)) + v, small, st.binary(max_size=40)),
             max_size=4).map(b"".join),
)  # fmt: skip


def test_stun_survives_hostile_packets(stun_server: StunServer) -> None:
    fuzz(st.one_of(stun_packets, st.binary(max_size=200)),
         lambda data: udp_send(stun_server.address, data))  # fmt: skip
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + b"\x07" * 12
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(request, stun_server.address)
        assert s.recvfrom(2048)[0][:2] == b"\x01\x01"  # a Binding success response
    healthy(stun_server)


# -- DHCP (the handler; a live server would answer by broadcast) -------------------------------
dhcp_packets = st.builds(
    crafted(lambda op, chaddr, xid, opts: BOOTP(op=op, chaddr=chaddr, xid=xid)
            / DHCP(options=[*opts, "end"])),
    st.integers(0, 255), st.binary(max_size=16), st.integers(0, 2**32 - 1),
    st.lists(st.tuples(st.sampled_from(["message-type", "param_req_list", "hostname",
                                        "client_id", "vendor_class_id"]),
                       st.one_of(st.integers(0, 255), names)), max_size=4),
)  # fmt: skip


class _Sent:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: object) -> None:
        self.sent.append(data)


def test_dhcp_handler_survives_hostile_packets() -> None:
    server = DhcpServer(interface="lo", server_ip="192.0.2.1", pool=("192.0.2.10", "192.0.2.12"),
                        subnet="192.0.2.0/24")  # fmt: skip
    server._transport = _Sent()  # type: ignore[assignment]
    handler = _Proto(server)
    fuzz(st.one_of(dhcp_packets, st.binary(max_size=400)),
         lambda data: handler.datagram_received(data, ("192.0.2.77", 68)))  # fmt: skip
    assert len(server.leases) <= 3
    healthy(server)


# -- HTTP and HTTPS ---------------------------------------------------------------------------
token = st.binary(max_size=30)
http_requests = st.builds(
    lambda method, target, version, headers, body: method + b" " + target + b" " + version
    + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body,
    st.sampled_from([b"GET", b"HEAD", b"POST", b"PUT", b"\x00", b""]) | token,
    st.sampled_from([b"/", b"/%ff", b"/%c0%ae", b"/../../etc/passwd", b"*"]) | token.map(lambda t: b"/" + t),
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1\x1b"]) | token,
    st.lists(st.tuples(st.sampled_from([b"Host", b"Content-Length", b"Transfer-Encoding",
                                        b"User-Agent", b"Expect"]) | token, token), max_size=5),
    st.binary(max_size=100),
)  # fmt: skip


def test_http_survives_hostile_requests(http_server: HttpServer) -> None:
    fuzz(st.one_of(http_requests, st.binary(max_size=600)),
         lambda data: tcp_send(http_server.address, data))  # fmt: skip
    healthy(http_server)


tls_hellos = st.builds(
    crafted(
        lambda version, ciphers, sid: TLS(
            msg=[
                TLSClientHello(
                    version=version,
                    ciphers=ciphers,
                    sid=sid,
                    gmt_unix_time=0,
                    random_bytes=bytes(28),
                )
            ]
        )
    ),
    small,
    st.lists(small, max_size=20),
    st.binary(max_size=32),
)


def test_https_survives_hostile_handshakes(https_server: HttpsServer) -> None:
    https_server.handshake_timeout = 0.5
    fuzz(st.one_of(tls_hellos, st.binary(max_size=600)),
         lambda data: tcp_send(https_server.address, data))  # fmt: skip
    healthy(https_server)


@pytest.mark.parametrize("server_fixture", ["http_server", "https_server"])
def test_http_and_https_still_serve_and_problems_stay_bounded(request, server_fixture) -> None:
    server = request.getfixturevalue(server_fixture)
    strategy = http_requests if server_fixture == "http_server" else tls_hellos
    fuzz(strategy, lambda data: tcp_send(server.address, data))
    for i in range(MAX_PROBLEMS * 2 + 50):
        server.note_problem(f"hostile {i}")
    assert len(server.problems) <= 2 * MAX_PROBLEMS and server.problem_count >= 2 * MAX_PROBLEMS
    server.expect("/ok").respond(200, body="fine")
    raw = socket.create_connection(server.address, timeout=10)
    if server_fixture == "https_server":
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        raw = ctx.wrap_socket(raw, server_hostname="prov.example.test")
    with raw:
        raw.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"fine")
