"""The syslog endpoint against util-linux `logger` (RFC 3164/5424, UDP/TCP) and hostile input."""

import socket
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.wire.syslog import SyslogFramer, parse_syslog


def logger(server, *args):
    cmd = ["logger", "-n", "127.0.0.1", "-P", str(server.port), "-t", "phone", *args]
    subprocess.run(cmd, check=True, timeout=10)


def wait_messages(server, n):
    assert server.recorder.wait_for(lambda obs: len(obs) >= n, 5), server.messages
    return server.messages


@pytest.mark.parametrize(
    ("fmt", "transport"),
    [("--rfc3164", "-d"), ("--rfc5424", "-d"), ("--rfc3164", "-T"), ("--rfc5424", "-T")],
)
def test_logger_formats_and_transports(syslog_server, fmt, transport):
    text = "CP-8831-3PCC 00:0e:08:ab:cd:ef -- Requesting resync http://198.51.100.5:80/x.cfg"
    logger(syslog_server, fmt, transport, "-p", "local0.notice", text)
    (msg,) = wait_messages(syslog_server, 1)
    assert msg.message == text
    assert (msg.facility, msg.severity) == (16, 5)
    assert msg.app_name == "phone"
    assert msg.format == fmt.removeprefix("--")
    assert msg.transport == ("udp" if transport == "-d" else "tcp")
    assert msg.device.ip == "127.0.0.1"


def test_octet_counting_and_lf_framing_on_tcp(syslog_server):
    with socket.create_connection(syslog_server.address) as s:
        m1 = b"<134>1 2026-01-01T00:00:00Z host app - - - first"
        s.sendall(b"%d %s" % (len(m1), m1) + b"<14>Jan  1 00:00:00 host app: second\n<14>third")
    msgs = wait_messages(syslog_server, 3)
    assert [m.message for m in msgs] == ["first", "second", "third"]


def test_phone_style_pri_and_text(syslog_server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(
            b"<134>CP-8831-3PCC 00:0e:08:ab:cd:ef -- Resync failed: 404", syslog_server.address
        )
    (msg,) = wait_messages(syslog_server, 1)
    assert msg.message == "CP-8831-3PCC 00:0e:08:ab:cd:ef -- Resync failed: 404"
    assert (msg.facility, msg.severity) == (16, 6)


def test_hostile_datagrams_are_recorded_and_server_keeps_serving(syslog_server):
    junk = [b"", b"\xff\xfe\x00garbage", b"<999>too high", b"<" * 5000, b"no pri at all"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for j in junk:
            s.sendto(j, syslog_server.address)
    logger(syslog_server, "--rfc5424", "-d", "still alive")
    assert syslog_server.recorder.wait_for(
        lambda obs: any(o.message == "still alive" for o in obs), 5
    )
    raw = [m for m in syslog_server.messages if m.format == "raw"]
    assert any("garbage" in m.raw for m in raw)
    assert any("PRI 999" in p for p in syslog_server.problems)


def test_tcp_client_vanishing_mid_message(syslog_server):
    with socket.create_connection(syslog_server.address) as s:
        s.sendall(b"120 <14>cut short")
    logger(syslog_server, "-T", "after")
    assert syslog_server.recorder.wait_for(lambda obs: any(o.message == "after" for o in obs), 5)


@given(st.binary(max_size=300))
def test_parser_never_raises(data):
    rec = parse_syslog(data)
    assert isinstance(rec.message, str)


def test_framer_survives_a_bad_octet_count():
    framer = SyslogFramer()
    assert framer.feed(b"0\x00 <14>text\n") == [b"0\x00 <14>text"]
    assert framer.problems == ["octet count with a non-digit; LF framing"]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=80), max_size=10))
def test_framer_never_raises_and_is_bounded(chunks):
    framer = SyslogFramer()
    for c in chunks:
        for msg in framer.feed(c):
            assert len(msg) <= SyslogFramer.MAX_MESSAGE
    framer.flush()
