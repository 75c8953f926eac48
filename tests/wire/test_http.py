"""The sans-I/O HTTP/1.x request parser and response helpers (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.wire.http import (
    LAST_CHUNK,
    Limits,
    ParseError,
    RequestParser,
    encode_chunk,
    format_head,
    split_target,
)


def parse_all(data: bytes, limits: Limits | None = None, step: int | None = None) -> list:
    parser = RequestParser(limits)
    out = []
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        parser.feed(piece)
        while (req := parser.next_request()) is not None:
            out.append(req)
    return out


def test_simple_get_with_headers():
    (req,) = parse_all(b"GET /CP-8831-3PCC.cfg?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent:  ua \r\n\r\n")
    assert (req.method, req.target, req.version) == ("GET", "/CP-8831-3PCC.cfg?x=1", "HTTP/1.1")
    assert req.header("user-agent") == "ua"
    assert (req.path, req.query) == ("/CP-8831-3PCC.cfg", "x=1")
    assert req.keep_alive


@pytest.mark.parametrize(
    "version,connection,keep",
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "Keep-Alive", True),
    ],
)
def test_keep_alive_rules(version, connection, keep):
    extra = f"Connection: {connection}\r\n" if connection else ""
    (req,) = parse_all(f"GET / {version}\r\n{extra}\r\n".encode())
    assert req.keep_alive is keep


def test_pipelined_requests_come_out_in_order_byte_by_byte():
    data = (
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
        b"Trailer-X: 1\r\n\r\n"
        b"GET /d HTTP/1.0\r\n\r\n"
    )
    for step in (None, 1, 7):
        reqs = parse_all(data, step=step)
        assert [r.target for r in reqs] == ["/a", "/b", "/c", "/d"]
        assert reqs[1].body == b"hello"
        assert reqs[2].body == b"abcde" and reqs[2].chunked
        assert reqs[2].trailers == (("Trailer-X", "1"),)


def test_partial_request_is_in_progress_and_expects_continue():
    parser = RequestParser()
    parser.feed(b"POST /x HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\nabc")
    assert parser.next_request() is None
    assert parser.in_progress
    assert parser.pending_head is not None and parser.pending_head.expects_continue
    assert (parser.body_received, parser.body_expected) == (3, 10)


def test_blank_lines_before_a_request_are_ignored():
    parser = RequestParser()
    parser.feed(b"\r\n\r\n")
    assert parser.next_request() is None
    assert not parser.in_progress
    parser.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert parser.next_request().target == "/"


def test_absolute_form_target_path():
    assert split_target("http://example.invalid:8080/p/x.cfg?q=1") == ("/p/x.cfg", "q=1")
    assert split_target("http://example.invalid") == ("/", "")


@pytest.mark.parametrize(
    "raw,status,words",
    [
        (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
        (b"GET  /x HTTP/1.1\r\n\r\n", 400, "malformed request line"),
        (b"GET /x HTTP/2.0\r\n\r\n", 505, "not supported"),
        (b"GET /x HTTQ/1.1\r\n\r\n", 400, "invalid HTTP version"),
        (b"G(T /x HTTP/1.1\r\n\r\n", 400, "invalid method"),
        (b"GET /x HTTP/1.1\r\nNoColonHere\r\n\r\n", 400, "line 2 has no colon"),
        (b"GET /x HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace before the colon"),
        (b"GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400, "folded"),
        (b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length"),
        (b"POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, "invalid Content-Length"),
        (b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflict"),
        (
            b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
            "smuggling",
        ),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "does not end in chunked"),
        (b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            "invalid chunk size",
        ),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n",
            400,
            "not followed by CRLF",
        ),
        (b"\x16\x03\x01\x02\x00\x01", 400, "0x16"),
        (b"POST /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413, "over the body limit"),
    ],
)
def test_bad_requests_raise_parse_error_with_status_and_reason(raw, status, words):
    with pytest.raises(ParseError) as info:
        parse_all(raw)
    assert info.value.status == status
    assert words in info.value.message


def test_limits_request_line_headers_and_count():
    small = Limits(max_request_line=64, max_head=256, max_headers=3)
    with pytest.raises(ParseError) as info:
        parse_all(b"GET /" + b"a" * 100, small)
    assert info.value.status == 414
    with pytest.raises(ParseError) as info:
        parse_all(b"GET / HTTP/1.1\r\nX: " + b"a" * 300, small)
    assert info.value.status == 431
    with pytest.raises(ParseError) as info:
        parse_all(
            b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(5)) + b"\r\n", small
        )
    assert info.value.status == 431


def test_parser_stays_failed_after_an_error():
    parser = RequestParser()
    parser.feed(b"BAD\r\n\r\n")
    with pytest.raises(ParseError):
        parser.next_request()
    parser.feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(ParseError):
        parser.next_request()


def test_response_helpers():
    head = format_head("HTTP/1.1", 404, None, (("Content-Length", "0"),))
    assert head == b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    assert encode_chunk(b"abc") == b"3\r\nabc\r\n"
    assert encode_chunk(b"") == b""
    assert LAST_CHUNK == b"0\r\n\r\n"
    with pytest.raises(ValueError):
        format_head("HTTP/1.1", 200, None, (("X", "a\r\nInjected: 1"),))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_random_bytes_only_ever_raise_parse_error(data, step):
    try:
        parse_all(data, Limits(max_request_line=128, max_head=256, max_body=512), step=step)
    except ParseError as exc:
        assert 400 <= exc.status <= 505 and exc.message


_line = st.sampled_from(
    [
        b"GET / HTTP/1.1\r\n",
        b"POST /x HTTP/1.0\r\n",
        b"Host: a\r\n",
        b"Content-Length: 3\r\n",
        b"Content-Length: zz\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"\r\n",
        b"3\r\nabc\r\n",
        b"0\r\n\r\n",
        b"abc",
        b"\n",
        b": v\r\n",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_line, max_size=12), st.integers(min_value=1, max_value=16))
def test_near_valid_input_only_ever_raises_parse_error(lines, step):
    try:
        reqs = parse_all(b"".join(lines), step=step)
    except ParseError:
        return
    for req in reqs:
        assert req.version in ("HTTP/1.0", "HTTP/1.1")
