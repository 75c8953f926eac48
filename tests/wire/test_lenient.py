"""The lenient mode of each reader: what a strict peer refuses is read, and said.

The analyzer reads captures through these modes (one grammar per protocol): a
fault must come out as a recorded problem, never as a second parse of its own.
"""

from __future__ import annotations

import pytest

from harness.analyze.http import HttpConnection
from harness.analyze.tftp import parse_request
from harness.observe.events import DeviceKey
from harness.wire import dhcp, http, tftp

GOOD = b"GET /cfg.xml HTTP/1.1\r\nHost: prov.example.test\r\nUser-Agent: a\tb \r\n\r\n"


def test_a_well_formed_head_reads_the_same_in_both_modes_and_says_nothing() -> None:
    problems: list[str] = []
    start, headers = http.read_head(GOOD, problems)
    strict = http.parse_head(GOOD)
    assert problems == []
    assert start == "GET /cfg.xml HTTP/1.1"
    assert (
        headers == list(strict.headers) == [("Host", "prov.example.test"), ("User-Agent", "a\tb")]
    )


@pytest.mark.parametrize(
    "head, kept, said",
    [
        (
            b"GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n",
            [("X-A", "one two")],
            "obsolete folded continuation",
        ),
        (b"GET / HTTP/1.1\r\nno colon here\r\nHost: h\r\n\r\n", [("Host", "h")], "has no colon"),
        (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", [("Host", "h")], "invalid field name"),
        (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", [("X", "a\x01b")], "control characters"),
        (b"GET  /  HTTP/1.1\r\nHost: h\r\n\r\n", [("Host", "h")], "malformed request line"),
    ],
)
def test_a_faulty_head_is_kept_with_its_problem(head: bytes, kept: list, said: str) -> None:
    with pytest.raises(http.ParseError):
        http.parse_head(head)
    problems: list[str] = []
    _, headers = http.read_head(head, problems)
    assert headers == kept
    assert len(problems) == 1 and said in problems[0]


def test_a_malformed_status_line_is_said() -> None:
    problems: list[str] = []
    start, _ = http.read_head(b"HTTP/1.1 2OO OK\r\nServer: x\r\n\r\n", problems, response=True)
    assert start == "HTTP/1.1 2OO OK" and "malformed status line" in problems[0]
    problems.clear()
    http.read_head(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", problems, response=True)
    assert problems == []


def test_the_analyzer_reports_what_the_lenient_reader_tolerated() -> None:
    got: list = []
    conn = HttpConnection(
        ("192.0.2.10", 40000),
        ("198.51.100.1", 80),
        DeviceKey(ip="192.0.2.10"),
        "capture:x",
        lambda o, body: got.append(("exchange", o)),
        lambda f, why: got.append(("problem", f, why)),
    )
    conn.client_data(b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", 1, 0.0)
    conn.server_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2, 0.1)
    problems = [g for g in got if g[0] == "problem"]
    exchanges = [g[1] for g in got if g[0] == "exchange"]
    assert len(problems) == 1 and problems[0][1] == 1 and "folded" in problems[0][2]
    assert exchanges[0].status == 200 and ("X-A", "one two") in exchanges[0].headers


def test_chunk_size_lines_share_one_reader() -> None:
    assert http.chunk_size(b"1a;ext=1") == 26
    for bad in (b"0x1a", b"1_0", b"zz", b"1" * 17):
        with pytest.raises(http.ParseError):
            http.chunk_size(bad)


def test_tftp_lenient_mode_keeps_the_last_of_a_twice_given_option_and_says_so() -> None:
    raw = b"\x00\x01cfg.xml\x00octet\x00blksize\x001428\x00BLKSIZE\x00512\x00"
    with pytest.raises(tftp.TftpDecodeError, match="given twice"):
        tftp.decode(raw)
    problems: list[str] = []
    pkt = tftp.decode(raw, problems=problems)
    assert pkt == tftp.ReadRequest("cfg.xml", "octet", {"blksize": "512"})
    assert len(problems) == 1 and "given twice" in problems[0]
    said: list[str] = []
    assert parse_request(raw, said) == ("RRQ", "cfg.xml", "octet", {"blksize": "512"})
    assert said == problems


@pytest.mark.parametrize(
    "raw, strict_says, lenient",
    [
        (b"\x00\x05\x00\x01", "missing", tftp.Error(1, "")),
        (b"\x00\x05\x00\x01not found", "not terminated", tftp.Error(1, "not found")),
        (
            b"\x00\x06blksize\x00512\x00\x00",
            "empty option name",
            tftp.OptionAck({"blksize": "512"}),
        ),
        (
            b"\x00\x06blksize\x00512\x00tsize\x00",
            "has no value",
            tftp.OptionAck({"blksize": "512"}),
        ),
    ],
)
def test_tftp_lenient_mode_reads_what_strict_refuses(raw, strict_says, lenient) -> None:
    with pytest.raises(tftp.TftpDecodeError, match=strict_says):
        tftp.decode(raw)
    problems: list[str] = []
    assert tftp.decode(raw, problems=problems) == lenient
    assert len(problems) == 1


def test_tftp_requests_read_in_one_split_equal_the_field_walk() -> None:
    """The fast path for well-formed requests gives what encode put in, in both modes."""
    for pkt in (
        tftp.ReadRequest("a/b.cfg", "octet", {"blksize": "1428", "tsize": "0"}),
        tftp.WriteRequest("x", "netascii", {}),
        tftp.ReadRequest("caf\u00e9", "octet", {}),
    ):
        raw = tftp.encode(pkt)
        assert tftp.decode(raw) == pkt
        lenient = tftp.decode(raw, problems=[])
        assert lenient.filename == raw[2:].split(b"\x00")[0].decode("latin-1")


def test_dhcp_lenient_mode_keeps_an_unknown_message_type_and_says_so() -> None:
    msg = dhcp.DhcpMessage(op=1, xid=7, chaddr=bytes.fromhex("000e08aabbcc"), message_type="ACK")
    raw = dhcp.encode(msg).replace(b"\x35\x01\x05", b"\x35\x01\x63")  # option 53 = 99
    with pytest.raises(dhcp.DhcpError, match="unknown DHCP message type"):
        dhcp.decode(raw)
    problems: list[str] = []
    assert dhcp.decode(raw, problems=problems).message_type == "TYPE99"
    assert len(problems) == 1
    assert dhcp.decode(dhcp.encode(msg), problems=problems).message_type == "ACK"


def test_dhcp_option_texts_are_one_rendering() -> None:
    assert dhcp.decode_option_value(150, bytes([198, 51, 100, 1, 192, 0, 2, 7])) == (
        "198.51.100.1,192.0.2.7"
    )
    assert dhcp.decode_option_value(61, b"\x01\x00\x0e\x08\xaa\xbb\xcc") == "01000e08aabbcc"
    assert dhcp.decode_option_value(66, b"tftp.example.test\x00") == "tftp.example.test"
