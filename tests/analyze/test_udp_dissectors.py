"""TFTP (with fragments and retransmissions), DHCP and syslog on generated captures."""

from __future__ import annotations

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from harness.analyze.engine import analyze_capture
from harness.capture.pcapwrite import write_pcap
from harness.observe.events import DhcpExchange, SyslogMessage, TftpTransfer

PHONE_MAC = "00:11:22:33:44:aa"
C, S = "192.0.2.10", "198.51.100.1"


def udp(src, sport, dst, dport, payload, mac=PHONE_MAC):
    return (
        Ether(src=mac, dst="02:00:00:00:00:01")
        / IP(src=src, dst=dst)
        / UDP(sport=sport, dport=dport)
        / Raw(payload)
    )


def rrq(name, **opts):
    body = b"\x00\x01" + name.encode() + b"\x00octet\x00"
    for k, v in opts.items():
        body += k.encode() + b"\x00" + str(v).encode() + b"\x00"
    return body


def data(block, payload):
    return b"\x00\x03" + block.to_bytes(2, "big") + payload


def ack(block):
    return b"\x00\x04" + block.to_bytes(2, "big")


def write(tmp_path, pkts, name="f.pcap"):
    path = tmp_path / name
    frames = []
    for p in pkts:
        frames.extend(fragment(p[IP], fragsize=1480) if len(p) > 1514 else [p[IP]])
    write_pcap(
        path,
        [
            (1000.0 + i / 100, bytes(Ether(src=PHONE_MAC, dst="02:00:00:00:00:01") / f))
            for i, f in enumerate(frames)
        ],
    )
    return path


def test_tftp_large_blksize_fragmented_with_oack_and_retransmission(tmp_path):
    blk = 8192
    body = bytes(range(256)) * 64  # 16384 bytes: two full blocks and an empty last one
    pkts = [
        udp(C, 2000, S, 69, rrq("CP-8831-3PCC.cfg", blksize=blk, tsize=0)),
        udp(C, 2000, S, 69, rrq("CP-8831-3PCC.cfg", blksize=blk, tsize=0)),  # again
        udp(S, 40000, C, 2000, b"\x00\x06blksize\x008192\x00tsize\x0016384\x00"),
        udp(C, 2000, S, 40000, ack(0)),
        udp(S, 40000, C, 2000, data(1, body[:blk])),
        udp(C, 2000, S, 40000, ack(1)),
        udp(S, 40000, C, 2000, data(2, body[blk:])),
        udp(S, 40000, C, 2000, data(2, body[blk:])),  # retransmitted block
        udp(C, 2000, S, 40000, ack(2)),
        udp(S, 40000, C, 2000, data(3, b"")),
        udp(C, 2000, S, 40000, ack(3)),
    ]
    r = analyze_capture(write(tmp_path, pkts))
    (t,) = [o for o in r.observations if isinstance(o, TftpTransfer)]
    assert (t.filename, t.outcome, t.bytes, t.blocks, t.retransmissions) == (
        "CP-8831-3PCC.cfg",
        "complete",
        16384,
        3,
        2,
    )
    assert t.options == {"blksize": "8192", "tsize": "0"}
    assert t.accepted_options == {"blksize": "8192", "tsize": "16384"}
    assert t.server == (S, 69) and t.client == (C, 2000)
    assert t.device.mac == PHONE_MAC.replace(":", "")
    assert r.stats["reassembled"] == 3  # each 8 KiB block came in 6 fragments
    assert r.malformed == 0


def test_tftp_error_and_unanswered_request(tmp_path):
    pkts = [
        udp(C, 2001, S, 69, rrq("missing.cfg")),
        udp(S, 40001, C, 2001, b"\x00\x05\x00\x01File not found\x00"),
        udp(C, 2002, S, 69, rrq("nobody.cfg")),
    ]
    r = analyze_capture(write(tmp_path, pkts))
    err, none = [o for o in r.observations if isinstance(o, TftpTransfer)]
    assert (err.outcome, err.error_code, err.error_message) == ("error", 1, "File not found")
    assert none.outcome == "timeout" and none.evidence.frames == (3,)


def test_tftp_data_from_a_stranger_is_not_part_of_the_transfer(tmp_path):
    pkts = [
        udp(C, 2003, S, 69, rrq("a.cfg")),
        udp("203.0.113.5", 40002, C, 2003, data(1, b"evil")),  # wrong host
        udp(S, 40003, C, 2003, data(1, b"good")),
        udp(C, 2003, S, 40003, ack(1)),
    ]
    r = analyze_capture(write(tmp_path, pkts))
    (t,) = [o for o in r.observations if isinstance(o, TftpTransfer)]
    assert t.bytes == 4 and t.outcome == "complete" and 2 not in t.evidence.frames


def test_dhcp_options_offered_and_requested(tmp_path):
    mac = bytes.fromhex("0011223344aa")
    discover = (
        Ether(src=PHONE_MAC, dst="02:00:00:00:00:01")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=mac + b"\0" * 10, xid=7)
        / DHCP(
            options=[
                ("message-type", "discover"),
                ("param_req_list", [1, 3, 66, 150, 159, 160]),
                "end",
            ]
        )
    )
    ack_ = (
        Ether(src="02:00:00:00:00:01", dst="00:11:22:33:44:aa")
        / IP(src=S, dst=C)
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, chaddr=mac + b"\0" * 10, xid=7, yiaddr=C)
        / DHCP(
            options=[
                ("message-type", "ack"),
                ("tftp_server_name", b"tftp.example.net"),
                (150, b"\xc6\x33\x64\x01"),
                (160, b"https://prov/x.cfg"),
                "end",
            ]
        )
    )
    path = tmp_path / "d.pcap"
    write_pcap(path, [(1.0, bytes(discover)), (2.0, bytes(ack_))])
    r = analyze_capture(path)
    d, a = [o for o in r.observations if isinstance(o, DhcpExchange)]
    assert (d.message_type, d.client_mac, d.requested_options) == (
        "DISCOVER",
        "0011223344aa",
        (1, 3, 66, 150, 159, 160),
    )
    assert a.message_type == "ACK" and a.your_ip == C
    assert a.offered_options[66] == "tftp.example.net"
    assert a.offered_options[150] == "198.51.100.1"
    assert a.offered_options[160] == "https://prov/x.cfg"
    assert a.device.mac == "0011223344aa" and a.device.ip == C


def test_syslog_on_514_and_sniffed_on_other_ports(tmp_path):
    pkts = [
        udp(C, 5000, S, 514, b"<134>Jan  1 00:00:00 phone app: hello"),
        udp(C, 5000, S, 5514, b"<13>1 2024-01-01T00:00:00Z phone app - - - five424"),
        udp(C, 5000, S, 5515, b"\x80\x00rtp-looking"),
    ]
    r = analyze_capture(write(tmp_path, pkts))
    msgs = [o for o in r.observations if isinstance(o, SyslogMessage)]
    assert [(m.message, m.facility, m.severity) for m in msgs] == [
        ("hello", 16, 6),
        ("five424", 1, 5),
    ]


def test_tftp_second_request_from_a_reused_client_port_to_a_non_69_server(tmp_path):
    """A tftp client run that reuses an earlier run's source port is still a new transfer."""
    pkts = [
        udp(C, 2004, S, 6969, rrq("first.cfg")),
        udp(S, 40004, C, 2004, data(1, b"one")),
        udp(C, 2004, S, 40004, ack(1)),
        udp(C, 2004, S, 6969, rrq("second.cfg")),  # same client port, same server port
        udp(S, 40005, C, 2004, data(1, b"two")),
        udp(C, 2004, S, 40005, ack(1)),
    ]
    r = analyze_capture(write(tmp_path, pkts))
    got = [(o.filename, o.outcome, o.bytes) for o in r.observations if isinstance(o, TftpTransfer)]
    assert got == [("first.cfg", "complete", 3), ("second.cfg", "complete", 3)]
