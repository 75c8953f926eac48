"""The capture reader and packet decoder on generated files: formats, link types, breakage."""

from __future__ import annotations

import gzip
import struct

import pytest
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from harness.capture.packets import PacketDecoder, ip_text
from harness.capture.pcapwrite import (
    pcap_header,
    pcap_record,
    pcapng_epb,
    pcapng_idb,
    pcapng_shb,
    pcapng_spb,
    write_pcap,
    write_pcapng,
)
from harness.capture.reader import CaptureFormatError, CaptureReader, read_records

IPV4 = IP(src="192.0.2.10", dst="198.51.100.1") / UDP(sport=1234, dport=69) / Raw(b"hello")


def decode_all(path):
    recs, problems = read_records(path)
    dec = PacketDecoder()
    pkts = [dec.decode(i + 1, ts, lt, data) for i, (ts, lt, data) in enumerate(recs)]
    return [p for p in pkts if p is not None], dec, problems


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, nano, big_endian):
    path = tmp_path / "f.pcap"
    frame = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    write_pcap(path, [(1700000000.123456, frame), (1700000001.5, frame)], 1, nano, big_endian)
    recs, problems = read_records(path)
    assert problems == []
    assert [lt for _, lt, _ in recs] == [1, 1]
    assert recs[0][0] == pytest.approx(1700000000.123456, abs=1e-6)
    assert recs[1][2] == frame


def test_pcapng_interfaces_with_own_linktype_and_resolution(tmp_path):
    path = tmp_path / "f.pcapng"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    raw = bytes(IPV4)
    write_pcapng(
        path,
        [(1700000000.25, eth, 0), (1700000000.5, raw, 1), (1700000000.75, eth, 0)],
        interfaces=[(1, 6), (101, 9)],
    )
    recs, problems = read_records(path)
    assert problems == []
    assert [lt for _, lt, _ in recs] == [1, 101, 1]
    assert recs[1][0] == pytest.approx(1700000000.5, abs=1e-9)
    pkts, dec, _ = decode_all(path)
    assert [p.payload for p in pkts] == [b"hello"] * 3


def test_pcapng_big_endian_binary_resolution_and_simple_packet_block(tmp_path):
    path = tmp_path / "f.pcapng"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    be = True
    data = (
        pcapng_shb(be)
        + pcapng_idb(1, 0x80 | 10, be)
        + pcapng_epb(1024.5, eth, 0, 0x80 | 10, be)
        + pcapng_spb(eth, be)
    )
    path.write_bytes(data)
    recs, problems = read_records(path)
    assert problems == []
    assert len(recs) == 2
    assert recs[0][0] == pytest.approx(1024.5)
    assert recs[1][2] == eth


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_gzip_compressed(tmp_path, fmt):
    plain = tmp_path / f"f.{fmt}"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    if fmt == "pcap":
        write_pcap(plain, [(1.0, eth)] * 5)
    else:
        write_pcapng(plain, [(1.0, eth, 0)] * 5)
    gz = tmp_path / f"f.{fmt}.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    with CaptureReader(gz) as r:
        assert r.compressed and r.format == fmt
        assert len(list(r)) == 5


def test_truncated_file_keeps_what_came_before(tmp_path):
    path = tmp_path / "f.pcap"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    full = pcap_header() + b"".join(pcap_record(1.0 + i, eth) for i in range(3))
    path.write_bytes(full[:-10])
    recs, problems = read_records(path)
    assert len(recs) == 2
    (p,) = problems
    assert p.record == 3 and "truncated record" in p.why
    assert p.offset == 24 + 2 * (16 + len(eth))


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    path = tmp_path / "f.pcap.gz"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    full = pcap_header() + b"".join(pcap_record(1.0 + i, eth) for i in range(200))
    z = gzip.compress(full)
    path.write_bytes(z[: len(z) // 2])
    recs, problems = read_records(path)
    assert 0 < len(recs) < 200
    assert problems and problems[0].record == len(recs) + 1


def test_corrupt_record_header_says_where(tmp_path):
    path = tmp_path / "f.pcap"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    bad = struct.pack("<IIII", 1, 0, 10_000_000, 10_000_000)
    path.write_bytes(pcap_header() + pcap_record(1.0, eth) + bad + eth)
    recs, problems = read_records(path)
    assert len(recs) == 1
    assert problems[0].record == 2 and "captured length" in problems[0].why
    assert problems[0].offset == 24 + 16 + len(eth)


def test_pcapng_corrupt_block_length(tmp_path):
    path = tmp_path / "f.pcapng"
    eth = bytes(Ether(dst="02:00:00:00:00:02") / IPV4)
    block = bytearray(pcapng_epb(1.0, eth))
    block[4:8] = struct.pack("<I", 13)  # not a multiple of 4
    path.write_bytes(pcapng_shb() + pcapng_idb(1) + pcapng_epb(1.0, eth) + bytes(block))
    recs, problems = read_records(path)
    assert len(recs) == 1
    assert "corrupt block" in problems[0].why and problems[0].record == 2


def test_not_a_capture(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("hello world")
    with pytest.raises(CaptureFormatError, match="not a pcap or pcapng"):
        CaptureReader(path)


def _sll2(payload: bytes, src_mac: bytes) -> bytes:
    return struct.pack("!HHIHBB", 0x0800, 0, 1, 1, 0, 6) + src_mac + b"\0\0" + payload


def _null(payload: bytes, big: bool = False) -> bytes:
    return struct.pack(">I" if big else "<I", 2) + payload


LINK_CASES = {
    "ethernet": (
        1,
        bytes(Ether(src="00:11:22:33:44:55", dst="02:00:00:00:00:02") / IPV4),
        "001122334455",
    ),
    "vlan": (
        1,
        bytes(Ether(src="00:11:22:33:44:55", dst="02:00:00:00:00:02") / Dot1Q(vlan=5) / IPV4),
        "001122334455",
    ),
    "qinq": (
        1,
        bytes(
            Ether(src="00:11:22:33:44:55", dst="02:00:00:00:00:02")
            / Dot1AD(vlan=7)
            / Dot1Q(vlan=5)
            / IPV4
        ),
        "001122334455",
    ),
    "sll": (
        113,
        bytes(CookedLinux(src=b"\x00\x11\x22\x33\x44\x55\0\0", lladdrlen=6) / IPV4),
        "001122334455",
    ),
    "sll2": (276, _sll2(bytes(IPV4), bytes.fromhex("001122334455")), "001122334455"),
    "null-le": (0, _null(bytes(IPV4)), None),
    "null-be": (0, _null(bytes(IPV4), big=True), None),
    "loop": (108, _null(bytes(IPV4), big=True), None),
    "raw101": (101, bytes(IPV4), None),
    "raw12": (12, bytes(IPV4), None),
    "ipv4-228": (228, bytes(IPV4), None),
}


@pytest.mark.parametrize("case", sorted(LINK_CASES))
def test_link_types(tmp_path, case):
    lt, frame, mac = LINK_CASES[case]
    path = tmp_path / "f.pcap"
    write_pcap(path, [(1.0, frame)], linktype=lt)
    pkts, dec, _ = decode_all(path)
    assert dec.malformed == []
    (p,) = pkts
    assert (ip_text(p.src), p.sport, ip_text(p.dst), p.dport) == (
        "192.0.2.10",
        1234,
        "198.51.100.1",
        69,
    )
    assert p.payload == b"hello"
    assert (p.src_mac.hex() if p.src_mac else None) == mac


def test_ipv6_with_extension_headers_raw_229(tmp_path):
    pkt = (
        IPv6(src="2001:db8::1", dst="2001:db8::2")
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrDestOpt()
        / UDP(sport=5000, dport=514)
        / Raw(b"<14>hi")
    )
    path = tmp_path / "f.pcap"
    write_pcap(path, [(1.0, bytes(pkt))], linktype=229)
    (p,), dec, _ = decode_all(path)
    assert ip_text(p.src) == "2001:db8::1" and p.dport == 514 and p.payload == b"<14>hi"


def test_ipv4_fragments_reassembled_in_any_order(tmp_path):
    big = (
        IP(src="192.0.2.10", dst="198.51.100.1", id=77)
        / UDP(sport=3000, dport=4000)
        / Raw(bytes(range(256)) * 16)
    )
    frags = fragment(big, fragsize=1200)
    assert len(frags) == 4
    order = [frags[2], frags[0], frags[3], frags[1]]
    path = tmp_path / "f.pcap"
    write_pcap(
        path, [(1.0 + i, bytes(Ether(dst="02:00:00:00:00:02") / f)) for i, f in enumerate(order)]
    )
    pkts, dec, _ = decode_all(path)
    (p,) = pkts
    assert p.payload == bytes(range(256)) * 16
    assert p.frames == (1, 2, 3, 4)
    assert dec.stats["reassembled"] == 1


def test_ipv6_fragments_reassembled(tmp_path):
    payload = b"x" * 3000
    full = bytes(UDP(sport=3000, dport=4000) / Raw(payload))
    # UDP checksum left as computed over the full datagram
    parts = [full[:1448], full[1448:2896], full[2896:]]
    frames = []
    off = 0
    for i, chunk in enumerate(parts):
        m = 1 if i < len(parts) - 1 else 0
        pkt = (
            IPv6(src="2001:db8::1", dst="2001:db8::2")
            / IPv6ExtHdrFragment(nh=17, offset=off // 8, m=m, id=9)
            / Raw(chunk)
        )
        frames.append((1.0, bytes(Ether(dst="02:00:00:00:00:02") / pkt)))
        off += len(chunk)
    path = tmp_path / "f.pcap"
    write_pcap(path, frames)
    (p,), dec, _ = decode_all(path)
    assert p.payload == payload


def test_incomplete_fragments_counted_not_emitted(tmp_path):
    big = IP(src="192.0.2.10", dst="198.51.100.1") / UDP(sport=1, dport=2) / Raw(b"y" * 3000)
    frags = fragment(big, fragsize=1200)
    path = tmp_path / "f.pcap"
    write_pcap(path, [(1.0, bytes(Ether(dst="02:00:00:00:00:02") / f)) for f in frags[:-1]])
    pkts, dec, _ = decode_all(path)
    assert pkts == []
    dec.finish()
    assert dec.stats["fragments_expired"] == 1


@pytest.mark.parametrize(
    "frame,why",
    [
        (b"\x00" * 10, "Ethernet frame of 10 bytes"),
        (
            bytes(Ether(dst="02:00:00:00:00:02", type=0x800))[:14] + b"\x45\x00",
            "truncated IPv4 header",
        ),
        (bytes(Ether(dst="02:00:00:00:00:02") / IPV4)[:-3], "IPv4 packet truncated"),
        (
            bytes(Ether(dst="02:00:00:00:00:02") / IP(proto=6) / Raw(b"\x00" * 8)),
            "truncated TCP header",
        ),
    ],
)
def test_malformed_frames_counted_with_reason(tmp_path, frame, why):
    path = tmp_path / "f.pcap"
    write_pcap(path, [(1.0, bytes(Ether(dst="02:00:00:00:00:02") / IPV4)), (2.0, frame)])
    pkts, dec, _ = decode_all(path)
    assert len(pkts) == 1
    assert dec.malformed_count == 1
    assert dec.malformed[0][0] == 2 and why in dec.malformed[0][1]
