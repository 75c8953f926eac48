"""TCP reassembly and the HTTP/1.x dissector, fed directly and through generated captures."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from harness.analyze.engine import analyze_capture
from harness.analyze.http import HttpConnection
from harness.analyze.tcp import StreamBuffer, TcpDirection
from harness.capture.pcapwrite import write_pcap
from harness.observe.events import DeviceKey


def collect():
    out: list[tuple[bytes, int]] = []
    return out, lambda d, f: out.append((d, f))


def test_in_order_out_of_order_retransmission_overlap():
    out, sink = collect()
    d = TcpDirection(sink)
    d.syn(999)
    d.segment(1006, b"world", 2)  # ahead
    d.segment(1000, b"hello ", 1)  # fills the hole, drains the waiting one
    d.segment(1000, b"hello ", 3)  # retransmission
    d.segment(1009, b"ld!!", 4)  # overlaps 2 bytes
    assert b"".join(x for x, _ in out) == b"hello world!!"
    assert [f for _, f in out] == [1, 2, 4]
    assert (d.retransmissions, d.overlaps, d.gaps) == (1, 1, 0)


def test_gap_marked_when_hole_never_fills():
    out, sink = collect()
    gaps = []
    d = TcpDirection(sink, lambda seq, size: gaps.append((seq, size)))
    d.syn(0)
    d.segment(1, b"abc", 1)
    d.segment(10, b"xyz", 2)
    d.close()
    assert b"".join(x for x, _ in out) == b"abcxyz"
    assert gaps == [(4, 6)] and d.gap_bytes == 6


def test_sequence_wraparound():
    out, sink = collect()
    d = TcpDirection(sink)
    d.syn(0xFFFFFFFD)
    d.segment(0xFFFFFFFE, b"ab", 1)
    d.segment(0, b"cd", 2)
    assert b"".join(x for x, _ in out) == b"abcd"


def test_stream_buffer_names_frames_of_what_it_takes():
    b = StreamBuffer()
    b.feed(b"abc", 1)
    b.feed(b"def", 2)
    b.feed(b"ghi", 3)
    assert b.take(4) == (b"abcd", (1, 2))
    assert b.take(5) == (b"efghi", (2, 3))


def http_conn():
    got = []
    conn = HttpConnection(
        ("192.0.2.10", 40000),
        ("198.51.100.1", 80),
        DeviceKey(ip="192.0.2.10"),
        "capture:x",
        lambda o, body: got.append((o, body)),
        lambda f, why: got.append(("problem", f, why)),
    )
    return conn, got


def test_pipelined_requests_pair_in_order_with_chunked_and_head():
    conn, got = http_conn()
    conn.client_data(
        b"GET /a HTTP/1.1\r\nUser-Agent: cisco/CP-8831-3PCC (X1)\r\nHost: h\r\n\r\n"
        b"HEAD /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz",
        1,
        10.0,
    )
    conn.server_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab", 2, 10.1)
    conn.server_data(b"cd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n", 3, 10.2)
    conn.server_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 50\r\n\r\n", 4, 10.3)
    conn.server_data(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 500 Oops\r\n\r\nbody", 5, 10.4)
    conn.close(11.0)
    (a, body_a), (b, _), (c, body_c) = got
    assert (a.method, a.url, a.status, a.user_agent) == (
        "GET",
        "/a",
        200,
        "cisco/CP-8831-3PCC (X1)",
    )
    assert body_a == b"abcdefg" and a.response_bytes == 7
    assert a.evidence.frames == (1, 2, 3)
    assert (b.method, b.status, b.response_bytes) == ("HEAD", 404, 0)
    assert (c.method, c.status, c.version, c.request_body) == ("POST", 500, "HTTP/1.1", b"xyz")
    assert body_c == b"body" and c.outcome == "answered"


@pytest.mark.parametrize(
    ("closed_by", "outcome", "duration"),
    [("client", "timeout", 1.0), ("", "timeout", 1.0), ("server", "no-response", None)],
)
def test_request_without_answer(closed_by, outcome, duration):
    """The client gave up (or the capture ended): timeout; the server closed: no-response."""
    conn, got = http_conn()
    conn.client_data(b"GET /x HTTP/1.1\r\n\r\n", 7, 1.0)
    conn.closed_by = closed_by
    conn.close(2.0)
    ((o, _),) = got
    assert o.status is None and o.outcome == outcome and o.evidence.frames == (7,)
    assert o.duration == duration


def test_bad_chunk_size_is_a_problem_not_a_crash():
    conn, got = http_conn()
    conn.client_data(b"GET /x HTTP/1.1\r\n\r\n", 1, 1.0)
    conn.server_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 2, 1.1)
    conn.close(2.0)
    assert any(g[0] == "problem" and "chunk size" in g[2] for g in got)


def _segments(tmp_path, order):
    c, s = ("192.0.2.10", 40001), ("198.51.100.1", 8080)
    req = b"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nUser-Agent: cisco/CP-8831-3PCC (SN42)\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

    def seg(src, dst, seq, ack, flags, data=b""):
        return bytes(
            Ether(
                src="02:00:00:00:00:0a" if src == c else "02:00:00:00:00:01",
                dst="02:00:00:00:00:ff",
            )
            / IP(src=src[0], dst=dst[0])
            / TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, flags=flags)
            / data
        )

    pkts = [
        seg(c, s, 100, 0, "S"),
        seg(s, c, 500, 101, "SA"),
        seg(c, s, 101, 501, "A"),
        seg(c, s, 101, 501, "PA", req[:30]),
        seg(c, s, 131, 501, "PA", req[30:]),
        seg(s, c, 501, 101 + len(req), "PA", resp),
        seg(c, s, 131, 501, "PA", req[30:]),  # retransmission
        seg(c, s, 101 + len(req), 506 + 0, "FA"),
        seg(s, c, 506, 102 + len(req), "FA"),
    ]
    path = tmp_path / "f.pcap"
    write_pcap(path, [(1000.0 + i / 10, pkts[i]) for i in order])
    return path


def test_capture_with_out_of_order_and_retransmitted_segments(tmp_path):
    path = _segments(tmp_path, [0, 1, 2, 4, 3, 5, 6, 7, 8])
    r = analyze_capture(path)
    (o,) = r.observations
    assert (o.url, o.status, o.device.serial, o.device.mac) == (
        "/CP-8831-3PCC.cfg",
        200,
        "SN42",
        "02000000000a",
    )
    assert o.evidence.frames == (4, 5, 6)
    assert r.stats["tcp_retransmissions"] == 1
    assert r.malformed == 0


def test_capture_joined_mid_stream(tmp_path):
    path = _segments(tmp_path, [3, 4, 5, 7, 8])
    (o,) = analyze_capture(path).observations
    assert o.status == 200 and o.evidence.frames == (1, 2, 3)
