"""Hostile and broken clients on raw sockets: the server answers 4xx where it can, records
the exchange as malformed / client-closed, notes the problem, and keeps serving curl."""

from __future__ import annotations

import re
import socket
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.endpoints.http import HttpServer
from harness.wire.http import Limits


def curl_ok(server: HttpServer) -> None:
    """A well-behaved client still gets its 200."""
    server.expect("/ok").respond(200, body="fine")
    result = subprocess.run(["curl", "-sS", server.url_for("/ok")], capture_output=True, timeout=20)
    assert result.stdout == b"fine", result.stderr


def raw(
    server: HttpServer, data: bytes, *, half_close: bool = False, timeout: float = 5.0
) -> bytes:
    with socket.create_connection(server.address, timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    "data,status,words",
    [
        (b"HELLO THERE\r\n\r\n", 400, "malformed request line"),
        (b"GET /x HTTP/1.1\r\nHost a\r\n\r\n", 400, "has no colon"),
        (b"GET /x HTTP/1.1\r\nX: " + b"a" * 40000 + b"\r\n\r\n", 431, "headers too large"),
        (b"POST /x HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400, "invalid Content-Length"),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n",
            400,
            "invalid chunk size",
        ),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            400,
            "invalid chunk size",
        ),
        (b"\x00\xff\x16\x03binary garbage\r\n\r\n", 400, "not an HTTP request line"),
        (b"GET /x HTTP/3.0\r\n\r\n", 505, "only HTTP/1.x"),
    ],
)
def test_bad_input_gets_an_error_status_and_a_record(http_server, data, status, words):
    answer = raw(http_server, data)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:80]
    assert b"Connection: close" in answer
    (ex,) = http_server.wait_for_requests(1)
    assert (ex.status, ex.outcome) == (status, "malformed")
    assert words in ex.note
    assert any(words in p and "from 127.0.0.1:" in p for p in http_server.problems)
    curl_ok(http_server)


def test_malformed_body_keeps_the_head_in_the_record(http_server):
    raw(http_server, b"POST /report HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n")
    (ex,) = http_server.wait_for_requests(1)
    assert (ex.method, ex.url, ex.status, ex.outcome) == ("POST", "/report", 400, "malformed")


def test_client_vanishing_mid_body_is_client_closed(http_server):
    raw(
        http_server,
        b"POST /report HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789",
        half_close=True,
    )
    (ex,) = http_server.wait_for_requests(1)
    assert (ex.method, ex.url, ex.status, ex.outcome) == ("POST", "/report", None, "client-closed")
    assert ex.note == "client closed after 10 of 100 body bytes"
    curl_ok(http_server)


def test_client_vanishing_mid_head_is_client_closed(http_server):
    raw(http_server, b"GET /x HTTP/1.1\r\nHost: a", half_close=True)
    (ex,) = http_server.wait_for_requests(1)
    assert ex.outcome == "client-closed" and "middle of the request head" in ex.note


def test_idle_partial_request_times_out_with_408(http_server):
    http_server.idle_timeout = 0.3
    answer = raw(http_server, b"GET /x HTTP/1.1\r\nHost: a\r\n")
    assert answer.startswith(b"HTTP/1.1 408 ")
    (ex,) = http_server.wait_for_requests(1)
    assert (ex.status, ex.outcome) == (408, "malformed") and "incomplete" in ex.note
    curl_ok(http_server)


def test_slowloris_trickle_hits_the_request_timeout(http_server):
    http_server.idle_timeout = 5.0
    http_server.request_timeout = 0.5
    with socket.create_connection(http_server.address, timeout=5) as sock:
        answer = b""
        for byte in b"GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.05)
            try:
                answer += sock.recv(4096)
                break
            except TimeoutError:
                continue
        sock.settimeout(5)
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 408 ")
    (ex,) = http_server.wait_for_requests(1)
    assert ex.outcome == "malformed" and "request timeout 0.5 s" in ex.note


def test_other_clients_are_served_while_one_stalls(http_server):
    with socket.create_connection(http_server.address, timeout=5) as stalled:
        stalled.sendall(b"GET /x HTTP/1.1\r\n")
        curl_ok(http_server)


def test_pipelined_requests_are_answered_in_order(http_server):
    http_server.expect("/a").respond(200, body="A").delay(0.2)
    http_server.expect("/b").respond(200, body="BB")
    http_server.expect("/c").respond(404)
    answer = raw(
        http_server,
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    statuses = re.findall(rb"HTTP/1\.1 \d{3} [^\r]*", answer)
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"]
    assert answer.index(b"\r\n\r\nA") < answer.index(b"\r\n\r\nBB")
    assert [e.url for e in http_server.requests] == ["/a", "/b", "/c"]


def test_expect_100_continue_is_answered_before_the_body(http_server):
    http_server.expect("/up", method="POST").respond(200, body="got it")
    with socket.create_connection(http_server.address, timeout=5) as sock:
        sock.sendall(
            b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        rest = b""
        while chunk := sock.recv(4096):
            rest += chunk
    assert rest.startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"got it")
    assert http_server.requests[0].request_body == b"data"


def test_client_closing_during_a_slow_answer_is_recorded(http_server):
    http_server.expect("/slow").respond(200, body=b"x" * 4_000_000).slow_body(500_000, 0.05)
    with socket.create_connection(http_server.address, timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(100)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    (ex,) = http_server.wait_for_requests(1, timeout=10)
    assert ex.outcome == "client-closed" and ex.status == 200
    assert ex.response_bytes < 4_000_000 and "client closed while the answer was sent" in ex.note


def test_traversal_with_raw_targets_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.cfg").write_text("no")
    with HttpServer(root=root) as server:
        for target in (b"/../outside.cfg", b"/a/../../outside.cfg", b"/%2E%2E/outside.cfg"):
            answer = raw(server, b"GET " + target + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 403 "), target
        answer = raw(server, b"GET /%00 HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert len(server.problems) == 4


@pytest.fixture(scope="module")
def shared_server():
    server = HttpServer(limits=Limits(max_head=2048), idle_timeout=0.2, request_timeout=0.5)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.binary(min_size=1, max_size=3000),
        st.builds(
            lambda head, tail: head + tail,
            st.sampled_from([b"GET / HTTP/1.1\r\n", b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n"]),
            st.binary(max_size=200),
        ),
    )
)
def test_random_bytes_never_stop_the_server(shared_server, data):
    before = len(shared_server.requests)
    answer = raw(shared_server, data, half_close=True)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 ")
    if not data.strip(b"\r\n"):
        return  # blank lines before a request are ignored (RFC 9112 2.2): nothing to record
    deadline = time.monotonic() + 5
    while len(shared_server.requests) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    new = shared_server.requests[before:]
    assert new and all(e.outcome in ("malformed", "client-closed", "answered") for e in new)


def test_after_random_bytes_curl_still_gets_200(shared_server):
    curl_ok(shared_server)


@pytest.mark.parametrize("path", ["/%ff", "/%c0%ae", "/%c0%ae%c0%ae/etc/passwd", "/a%80b.cfg"])
def test_percent_encoded_invalid_utf8_gets_a_400(tmp_path, path):
    (tmp_path / "a.cfg").write_text("x")
    with HttpServer(root=tmp_path) as server:
        answer = raw(
            server, f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
        )
        assert answer.startswith(b"HTTP/1.1 400 ")
        (ex,) = server.wait_for_requests(1)
        assert ex.status == 400
        assert any("not UTF-8" in p for p in server.problems)
        curl_ok(server)
