"""`harness analyze -j N` on one capture: N processes, the same report as one process.

The captures: the project's own (captures/), the benchmark's two generated mixes
(small), and one built here with the cases a split could tear apart: a DNS answer
from another server address, a TFTP transfer answered from a new server port, a
failed connection to a port only another client's HTTP shows to be a provisioning
port, an ICMP error quoting a SYN, a router MAC seen with many addresses, a DNS
query from a port that is, at that moment, another client's TFTP transfer port.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from bench.bench_analyze import TimedCapture, generate, generate_ordinary, tcp_frame, udp_frame
from harness.analyze.engine import Analyzer, Ports, split_key
from harness.analyze.keep import decode
from harness.capture.packets import PacketDecoder
from harness.capture.reader import CaptureReader
from harness.cli import main

TREE = Path(__file__).resolve().parents[2]
ROUTER = b"\x02\x00\x00\x00\x00\xfe"
UA = "cisco/CP-8831-3PCC (88012BA{:05d})"


def _ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def _mac(i: int) -> bytes:
    return bytes([0x00, 0x11, 0x22, 0x33, 0x44, i])


def _dns(qid: int, answer: bytes | None) -> bytes:
    flags, an = (0x0100, 0) if answer is None else (0x8180, 1)
    q = struct.pack("!HHHHHH", qid, flags, 1, an, 0, 0) + b"\x04prov\x07example\x03net\x00"
    q += b"\x00\x01\x00\x01"
    if answer is not None:
        q += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    return q


def _icmp_unreachable(router_ip: bytes, client_mac: bytes, quoted: bytes) -> bytes:
    """Ethernet + IPv4 + ICMP port unreachable (type 3 code 3) quoting `quoted` (an IP packet)."""
    body = b"\x03\x03\x00\x00\x00\x00\x00\x00" + quoted[:28]
    dst = quoted[12:16]
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0) + router_ip + dst
    return ROUTER + client_mac + b"\x08\x00" + ip + body


def tricky_capture(path: Path) -> None:
    """The cases of the module docstring, for 12 clients (so both shares get some)."""
    prov, dns1, dns2, gw = (
        _ip(a) for a in ("198.51.100.1", "198.51.100.53", "198.51.100.54", "192.0.2.254")
    )
    with TimedCapture(path, 0.01) as put:
        for i in range(12):
            mac, ip = _mac(i), _ip(f"192.0.2.{10 + i}")
            cport = 5000 + i
            # DNS: asked of one server address, answered from another
            put(udp_frame(mac, ROUTER, ip, cport, dns1, 53, _dns(i, None)))
            put(udp_frame(ROUTER, mac, dns2, 53, ip, cport, _dns(i, prov)))
            # TFTP: request to 69, data and ACKs on the server's new port
            put(
                udp_frame(
                    mac, ROUTER, ip, cport, prov, 69, b"\x00\x01CP-8831-3PCC.cfg\x00octet\x00"
                )
            )
            tid = 40000 + i
            put(
                udp_frame(
                    ROUTER, mac, prov, tid, ip, cport, b"\x00\x03\x00\x01" + b"<flat-profile>"
                )
            )
            # another client's DNS query from the port of this open transfer
            other = _ip(f"192.0.2.{100 + i}")
            put(udp_frame(_mac(100 + i), ROUTER, other, cport, dns1, 53, _dns(1000 + i, None)))
            put(udp_frame(ROUTER, _mac(100 + i), dns1, 53, other, cport, _dns(1000 + i, prov)))
            put(udp_frame(mac, ROUTER, ip, cport, prov, tid, b"\x00\x04\x00\x01"))
            # HTTP on an unusual port for even clients; a SYN nobody answers to it for odd ones
            hport = 18080
            if i % 2 == 0:
                seq, sp = 1000, 30000 + i
                put(tcp_frame(mac, ROUTER, ip, sp, prov, hport, seq, 0, 0x02))
                put(tcp_frame(ROUTER, mac, prov, hport, ip, sp, 9000, seq + 1, 0x12))
                req = (
                    f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov\r\nUser-Agent: {UA.format(i)}\r\n\r\n"
                ).encode()
                put(tcp_frame(mac, ROUTER, ip, sp, prov, hport, seq + 1, 9001, 0x18, req))
                resp = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                put(
                    tcp_frame(
                        ROUTER, mac, prov, hport, ip, sp, 9001, seq + 1 + len(req), 0x18, resp
                    )
                )
                put(
                    tcp_frame(
                        mac, ROUTER, ip, sp, prov, hport, seq + 1 + len(req), 9001 + len(resp), 0x11
                    )
                )
                put(
                    tcp_frame(
                        ROUTER, mac, prov, hport, ip, sp, 9001 + len(resp), seq + 2 + len(req), 0x11
                    )
                )
            else:
                for _ in range(2):
                    put(tcp_frame(mac, ROUTER, ip, 31000 + i, prov, hport, 77, 0, 0x02))
            # a SYN to 443 answered by an ICMP error from the gateway
            syn = tcp_frame(mac, ROUTER, ip, 32000 + i, prov, 443, 55, 0, 0x02)
            put(syn)
            put(_icmp_unreachable(gw, mac, syn[14:]))
            # the router's MAC with many addresses (it names none of them)
            put(
                udp_frame(
                    ROUTER,
                    b"\xff" * 6,
                    _ip(f"203.0.113.{i + 1}"),
                    514,
                    prov,
                    514,
                    b"<134>router: hello",
                )
            )
            # what only the general decoder reads, in every share: a VLAN tag, IPv6, and
            # a syslog datagram in two IP fragments
            q = udp_frame(mac, ROUTER, ip, 6000 + i, dns1, 53, _dns(2000 + i, None))
            put(q[:12] + b"\x81\x00\x00\x0a" + q[12:])
            a = udp_frame(ROUTER, mac, dns1, 53, ip, 6000 + i, _dns(2000 + i, prov))
            put(a[:12] + b"\x81\x00\x00\x0a" + a[12:])
            v6 = bytes.fromhex("20010db8000000000000000000000000")
            me6, srv6 = v6[:15] + bytes([10 + i]), v6[:15] + b"\x53"
            put(_udp6(mac, me6, 7000 + i, srv6, 53, _dns(3000 + i, None)))
            put(_udp6(mac, srv6, 53, me6, 7000 + i, _dns(3000 + i, prov)))
            for part in _fragments(mac, ip, prov, 40 + i, b"<134>phone: " + b"x" * 40):
                put(part)


def _udp6(mac: bytes, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip6 = struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + src + dst
    return ROUTER + mac + b"\x86\xdd" + ip6 + udp


def _fragments(mac: bytes, src: bytes, dst: bytes, ident: int, payload: bytes) -> list[bytes]:
    """A UDP datagram to port 514 in two IPv4 fragments (16 bytes, then the rest)."""
    udp = struct.pack("!HHHH", 5140, 514, 8 + len(payload), 0) + payload
    out = []
    for off, more, part in ((0, 0x2000, udp[:16]), (2, 0, udp[16:])):
        hdr = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(part), ident, more | off, 64, 17, 0)
        out.append(mac + ROUTER + b"\x08\x00" + hdr + src + dst + part)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("split")
    caps = {
        "mixed": base / "mixed.pcap",
        "ordinary": base / "ordinary.pcap",
        "tricky": base / "tricky.pcap",
    }
    generate(caps["mixed"], 20_000)
    generate_ordinary(caps["ordinary"], 40_000)
    tricky_capture(caps["tricky"])
    return caps


def report(capsys, cap: Path, jobs: int, *extra: str) -> dict:
    code = main(["analyze", str(cap), "--format", "json", "--no-progress", "-j", str(jobs), *extra])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return json.loads(out)


def assert_same(one: dict, other: dict) -> None:
    """The whole documents, key by key (no field may differ: none depends on the split)."""
    assert one.keys() == other.keys()
    for key in one:
        if one[key] != other[key]:
            a, b = one[key], other[key]
            if isinstance(a, list) and isinstance(b, list):
                diff = [(x, y) for x, y in zip(a, b, strict=False) if x != y][:2]
                pytest.fail(f"{key}: {len(a)} vs {len(b)} entries; first differences {diff}")
            pytest.fail(f"{key}: {a!r} != {b!r}")


@pytest.mark.parametrize("name", sorted(p.name for p in (TREE / "captures").glob("*.pcapng")))
def test_project_captures_give_the_same_report_split_in_two(capsys, name: str) -> None:
    cap = TREE / "captures" / name
    keys = [str(k) for k in cap.parent.glob(cap.stem + ".keys")]
    extra = ("--keylog", keys[0]) if keys else ()
    assert_same(report(capsys, cap, 1, *extra), report(capsys, cap, 2, *extra))


@pytest.mark.parametrize("name", ["mixed", "ordinary", "tricky"])
def test_generated_captures_give_the_same_report_split_in_two_and_three(
    capsys, generated, name
) -> None:
    one = report(capsys, generated[name], 1)
    listed = len(one["transactions"]) + sum(o["transactions"] for o in one["other_clients"])
    assert listed > 30 and one["devices"]
    assert_same(one, report(capsys, generated[name], 2))
    if name == "tricky":  # other clients' transactions one by one, too
        listed = report(capsys, generated[name], 1, "--list-other-clients")
        assert_same(listed, report(capsys, generated[name], 3, "--list-other-clients"))


def test_the_tricky_cases_are_there_and_whole(capsys, generated) -> None:
    """What the equality above rests on, checked in the one-process report itself."""
    rep = report(capsys, generated["tricky"], 1, "--list-other-clients")
    tx = rep["transactions"]
    dns = [t for t in tx if t["kind"] == "dns"]
    assert len(dns) == 48 and all(t["rcode"] == "NOERROR" for t in dns)  # answered, though
    # from another address; and the query on another client's TFTP port is not lost
    tftp = [t for t in tx if t["kind"] == "tftp"]
    assert len(tftp) == 12 and all(len(t["frames"]) >= 3 for t in tftp)
    failed = [t for t in tx if t["kind"] == "http" and t["outcome"] == "connection-error"]
    assert sum("never answered" in t["note"] for t in failed) == 6  # port 18080: HTTP seen
    assert sum("unreachable" in t["note"] for t in failed) == 12
    assert len([t for t in tx if t["kind"] == "syslog" and "phone" in t["message"]]) == 12
    stats = rep["captures"][0]["stats"]
    assert stats["reassembled"] == 12 and stats["fragments"] == 24


def test_each_share_dissects_part_and_together_all(generated) -> None:
    """Two shares of the mixed capture: both get work, no transaction is in both."""
    cap = generated["mixed"]

    def run(share):
        a = Analyzer(f"capture:{cap}", share=share)
        with CaptureReader(cap) as reader:
            a.run(reader)
        return a

    whole = run(None).finish().observations
    parts = [[decode(r) for r in run((i, 2)).share_result().observations] for i in range(2)]
    assert all(len(p) > len(whole) // 5 for p in parts)
    frames = [{o.evidence.frames for o in p} for p in parts]
    assert not frames[0] & frames[1]
    attempts = [o for o in whole if o.kind == "http" and not o.method]  # made by `complete`
    assert sorted(o.evidence.frames for p in parts for o in p) == sorted(
        o.evidence.frames for o in whole if o not in attempts
    )


def test_split_key_is_the_same_both_ways_and_from_the_raw_bytes() -> None:
    dns = Ports().dns
    d = PacketDecoder()
    a, b = _ip("192.0.2.10"), _ip("198.51.100.7")
    for frame, (sp, dp) in enumerate([(5000, 53), (53, 5000), (5000, 40000), (40000, 5000)], 1):
        fwd = d.decode(frame, 0.0, 1, udp_frame(_mac(1), ROUTER, a, sp, b, dp, b"x" * 12))
        back = d.decode(frame, 0.0, 1, udp_frame(ROUTER, _mac(1), b, dp, a, sp, b"x" * 12))
        assert split_key(fwd, dns) == split_key(back, dns)
    # DNS by the client's address alone: another server gives the same key
    q = d.decode(9, 0.0, 1, udp_frame(_mac(1), ROUTER, a, 5000, b, 53, b"x" * 12))
    r = d.decode(9, 0.0, 1, udp_frame(ROUTER, _mac(1), _ip("198.51.100.8"), 53, a, 5000, b"x" * 12))
    assert split_key(q, dns) == split_key(r, dns)
