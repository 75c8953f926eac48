"""The fast path's bookkeeping. The raw flow keys of `Analyzer.ignored`: the fast path
reads one from the frame's bytes, the other paths build it from a (src, sport, dst,
dport) tuple; both must give the same key, and the reverse of a key must be the other
direction's. The UDP ports watched: the configured ones and the open transfers'."""

from __future__ import annotations

import pytest

from bench.bench_analyze import tcp_frame
from harness.analyze.engine import _reverse, raw_key

V4 = (bytes([192, 0, 2, 7]), 40001, bytes([198, 51, 100, 9]), 443)
V6 = (bytes.fromhex("20010db8" + "00" * 11 + "07"), 5060, bytes.fromhex("20010db8" + "ff" * 12), 80)


def test_the_fast_paths_bytes_are_the_key_of_the_tuple() -> None:
    frame = tcp_frame(b"\x02" * 6, b"\x04" * 6, V4[0], V4[1], V4[2], V4[3], 1, 0, 0x02)
    assert frame[26:38] == raw_key(V4)


@pytest.mark.parametrize("key", [V4, V6], ids=["ipv4", "ipv6"])
def test_the_reverse_of_a_key_is_the_other_directions_key(key: tuple) -> None:
    src, sport, dst, dport = key
    assert _reverse(raw_key(key)) == raw_key((dst, dport, src, sport))
    assert _reverse(_reverse(raw_key(key))) == raw_key(key)
    assert raw_key(key) != raw_key((dst, dport, src, sport))


def test_the_udp_ports_watched_are_the_configured_and_the_open_transfers(tmp_path) -> None:
    """`run` drops a datagram on no watched port with two lookups: the watched set must be
    the configured ports plus the open TFTP transfers', while transfers open and expire."""
    from bench.bench_analyze import generate
    from harness.analyze.engine import Analyzer
    from harness.capture.reader import CaptureReader

    cap = tmp_path / "mixed.pcap"
    generate(cap, 6_000)
    a = Analyzer(f"capture:{cap}")
    with CaptureReader(cap) as reader:
        a.run(reader)
    assert a.tftp_ports - a._udp_wanted  # transfers are open at the end of the capture
    assert a._udp_watch == a._udp_wanted | a.tftp_ports
    a._sweep(a.last_time + 3600)  # every transfer expires
    assert not a.tftp_ports - a._udp_wanted
    assert a._udp_watch == a._udp_wanted | a.tftp_ports
