"""Benchmark: `harness analyze` against tshark, pyshark and dpkt on a 1,000,000-packet capture.

Default (`python -m bench.bench_analyze [--rounds R] [--scale N] [--keep]`): the
issue-15 figures on the *ordinary* capture (`generate_ordinary`: many short TCP
flows with real random initial sequence numbers, SMTP/SSH/TLS/HTTP/NetBIOS,
DNS/NTP/NetBIOS-NS/RTP, 58% UDP, a fleet of 3,000 phones resyncing among them).
harness, tshark as a user runs it, and tshark with
`-o tcp.analyze_sequence_numbers:FALSE` run interleaved, R rounds; the ratios
(wall and CPU seconds) of each round's neighbours are printed as medians, with
`harness analyze -j 2` (the one file split across two processes) against `-j 1`
and whether the two reports are equal; then harness's peak memory at 1M and at N
million packets (generated, then deleted unless --keep). `--own` gives the older table below on the project's own capture.

Generates once (cached under bench/out/, git-ignored) a realistic mixed capture:
about half provisioning traffic across many devices (DHCP, DNS, TFTP with
new-TID transfers, HTTP, HTTPS handshakes with a certificate, syslog), half
unrelated (RTP, SIP, SSH, other HTTP, ARP). Then runs each tool in its own
process and prints packets/s, peak memory (ru_maxrss of that process) and the
ratio to tshark. pyshark runs on a slice (it is far too slow for the whole
file) and is scaled; the slice size is printed. Run: `python -m bench.bench_analyze`.

`--scale N` also generates an N-million-packet capture of the same mix and prints
`harness analyze`'s peak memory on it beside the 1M one (memory must not grow with
the capture beyond the observations kept for the rules). Goals: the full analysis
at >= 7x tshark's packets/s, peak < 200 MB.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
PACKETS = 1_000_000
PYSHARK_SLICE = 20_000
TFTP_BLOCKS = 24
HTTP_BODY = 8000
TSHARK_FILTER = "http.request or tftp.opcode<=2 or dns or dhcp or syslog or tls.handshake.type==1"
TSHARK_FIELDS = [
    "frame.number",
    "http.user_agent",
    "http.request.uri",
    "tftp.source_file",
    "dns.qry.name",
    "dhcp.option.tftp_server_name",
    "syslog.msg",
    "tls.handshake.ciphersuite",
]

_UA = "cisco/CP-8831-3PCC ({serial})"


class TimedCapture:
    """`with TimedCapture(path, step) as put:` a pcap written frame by frame by `put`, each
    frame `step` seconds after the one before (small test captures; the generators below
    count what they write as well)."""

    def __init__(self, path: Path, step: float, start: float = 1_700_000_000.0) -> None:
        self.path, self.step, self.t = path, step, start

    def __enter__(self):  # noqa: ANN204
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed by __exit__
        from harness.capture.pcapwrite import PcapWriter

        self._w = PcapWriter(self._f)
        return self.put

    def __exit__(self, *exc: object) -> None:
        self._f.close()

    def put(self, frame: bytes) -> None:
        self.t += self.step
        self._w.write(self.t, frame)


# -- frame building (struct only: a million scapy packets would take minutes) ----------
def _ip(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def _eth(src: bytes, dst: bytes, etype: int = 0x0800) -> bytes:
    return dst + src + struct.pack("!H", etype)


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0) + (
        src + dst + payload
    )


def udp_frame(smac, dmac, src, sport, dst, dport, payload: bytes) -> bytes:
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return _eth(smac, dmac) + _ipv4(src, dst, 17, u)


def dhcp_discover(mac: bytes) -> tuple[bytes, bytes]:
    """(BOOTP part, whole DHCPDISCOVER frame) of a phone asking for options 1, 3, 66, 150."""
    bootp = (
        b"\x01\x01\x06\x00" + os.urandom(4) + b"\x00" * 20 + mac + b"\x00" * 202
        + b"\x63\x82\x53\x63"
    )  # fmt: skip
    options = b"\x35\x01\x01\x37\x04\x01\x03\x42\x96\xff"
    frame = udp_frame(mac, b"\xff" * 6, b"\0" * 4, 68, b"\xff" * 4, 67, bootp + options)
    return bootp, frame


def tcp_frame(smac, dmac, src, sport, dst, dport, seq, ack, flags, payload=b"") -> bytes:
    t = struct.pack(
        "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0
    )
    return _eth(smac, dmac) + _ipv4(src, dst, 6, t + payload)


def _certificate_der() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prov.example.net")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _hs(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def _record(ctype: int, body: bytes) -> bytes:
    return bytes([ctype, 3, 3]) + struct.pack("!H", len(body)) + body


def tls_flights(sni: str, der: bytes) -> tuple[bytes, bytes]:
    suites = [0x0039, 0x0035, 0x0033, 0x002F, 0x0005, 0x0004, 0x00FF]
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    ch = (
        b"\x03\x03"
        + os.urandom(32)
        + b"\x00"
        + struct.pack("!H", 2 * len(suites))
        + b"".join(struct.pack("!H", s) for s in suites)
        + b"\x01\x00"
        + struct.pack("!H", len(sni_ext))
        + sni_ext
    )
    sh = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x35" + b"\x00"
    certs = len(der).to_bytes(3, "big") + der
    cert_msg = len(certs).to_bytes(3, "big") + certs
    server = _record(22, _hs(2, sh) + _hs(11, cert_msg) + _hs(14, b""))
    return _record(22, _hs(1, ch)), server


def generate(path: Path, packets: int = PACKETS, seed: int = 5) -> None:
    """Write the mixed capture (see the module docstring)."""
    from harness.capture.pcapwrite import PcapWriter

    rnd = random.Random(seed)
    der = _certificate_der()
    client_hello, server_flight = tls_flights("prov.example.net", der)
    server_mac, router = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\xfe"
    prov = _ip("198.51.100.1")
    devices = [
        (
            bytes([0x00, 0x11, 0x22, (i >> 16) & 255, (i >> 8) & 255, i & 255]),
            _ip(f"10.{(i >> 8) & 255}.{i & 255}.{1 + (i % 200)}"),
            f"88012BA{i:05d}",
        )
        for i in range(2000)
    ]
    t = 1_700_000_000.0
    n = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        w = PcapWriter(f)

        def put(frame: bytes) -> None:
            nonlocal n, t
            t += 0.0002
            w.write(t, frame)
            n += 1

        seq = 1000
        while n < packets:
            start = n
            mac, ip, serial = devices[rnd.randrange(len(devices))]
            sport = rnd.randrange(20000, 60000)
            # -- provisioning: one resync cycle of a device (~46 packets) --
            bootp, discover = dhcp_discover(mac)
            put(discover)
            offer = bytearray(bootp)
            offer[0] = 2
            offer[16:20] = ip
            put(
                udp_frame(
                    server_mac,
                    mac,
                    prov,
                    67,
                    ip,
                    68,
                    bytes(offer) + b"\x35\x01\x05\x42\x10tftp.example.net\xff",
                )
            )
            qid = rnd.randrange(65536)
            q = (
                struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
                + b"\x04prov\x07example\x03net\x00\x00\x01\x00\x01"
            )
            put(udp_frame(mac, router, ip, sport, prov, 53, q))
            put(
                udp_frame(
                    router,
                    mac,
                    prov,
                    53,
                    ip,
                    sport,
                    struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
                    + q[12:]
                    + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"
                    + prov,
                )
            )
            tid = rnd.randrange(30000, 60000)
            put(
                udp_frame(
                    mac, router, ip, sport, prov, 69, b"\x00\x01CP-8831-3PCC.cfg\x00octet\x00"
                )
            )
            for block in range(1, TFTP_BLOCKS + 1):  # a 12 KB profile
                size = 512 if block < TFTP_BLOCKS else 100
                put(
                    udp_frame(
                        router,
                        mac,
                        prov,
                        tid,
                        ip,
                        sport,
                        b"\x00\x03" + struct.pack("!H", block) + b"x" * size,
                    )
                )
                put(
                    udp_frame(
                        mac, router, ip, sport, prov, tid, b"\x00\x04" + struct.pack("!H", block)
                    )
                )
            # HTTP
            hp = sport + 1
            put(tcp_frame(mac, router, ip, hp, prov, 80, seq, 0, 0x02))
            put(tcp_frame(router, mac, prov, 80, ip, hp, 5000, seq + 1, 0x12))
            req = (
                f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov.example.net\r\n"
                f"User-Agent: {_UA.format(serial=serial)}\r\n\r\n"
            ).encode()
            put(tcp_frame(mac, router, ip, hp, prov, 80, seq + 1, 5001, 0x18, req))
            body = b"<flat-profile>" + b"p" * (HTTP_BODY - 29) + b"</flat-profile>"
            resp = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            for off in range(0, len(resp), 1400):  # the response in MSS-sized segments
                put(
                    tcp_frame(
                        router,
                        mac,
                        prov,
                        80,
                        ip,
                        hp,
                        5001 + off,
                        seq + 1 + len(req),
                        0x18,
                        resp[off : off + 1400],
                    )
                )
            put(
                tcp_frame(mac, router, ip, hp, prov, 80, seq + 1 + len(req), 5001 + len(resp), 0x11)
            )
            put(
                tcp_frame(router, mac, prov, 80, ip, hp, 5001 + len(resp), seq + 2 + len(req), 0x11)
            )
            # HTTPS handshake
            sp = sport + 2
            put(tcp_frame(mac, router, ip, sp, prov, 443, seq, 0, 0x02))
            put(tcp_frame(router, mac, prov, 443, ip, sp, 7000, seq + 1, 0x12))
            put(tcp_frame(mac, router, ip, sp, prov, 443, seq + 1, 7001, 0x18, client_hello))
            put(
                tcp_frame(
                    router,
                    mac,
                    prov,
                    443,
                    ip,
                    sp,
                    7001,
                    seq + 1 + len(client_hello),
                    0x18,
                    server_flight,
                )
            )
            c2 = seq + 1 + len(client_hello)
            fin = _record(20, b"\x01") + _record(22, os.urandom(40))
            put(tcp_frame(mac, router, ip, sp, prov, 443, c2, 7001 + len(server_flight), 0x18, fin))
            s2 = 7001 + len(server_flight)
            put(tcp_frame(router, mac, prov, 443, ip, sp, s2, c2 + len(fin), 0x18, fin))
            app = _record(23, os.urandom(120))
            put(tcp_frame(mac, router, ip, sp, prov, 443, c2 + len(fin), s2 + len(fin), 0x18, app))
            put(
                tcp_frame(
                    mac, router, ip, sp, prov, 443, c2 + len(fin) + len(app), s2 + len(fin), 0x04
                )
            )
            # syslog
            for what in ("Requesting", "Successful"):
                put(
                    udp_frame(
                        mac,
                        router,
                        ip,
                        514,
                        prov,
                        514,
                        f"<134>CP-8831-3PCC {mac.hex()} -- {what} resync http://prov/x".encode(),
                    )
                )
            # -- unrelated: as many packets again --
            for _ in range(n - start):
                r = rnd.random()
                if r < 0.55:  # RTP
                    put(
                        udp_frame(
                            mac,
                            router,
                            ip,
                            16384 + 2 * rnd.randrange(1000),
                            _ip("203.0.113.9"),
                            20000,
                            b"\x80\x00" + os.urandom(10) + b"\xd5" * 160,
                        )
                    )
                elif r < 0.65:  # SIP
                    put(
                        udp_frame(
                            mac,
                            router,
                            ip,
                            5060,
                            _ip("203.0.113.10"),
                            5060,
                            b"OPTIONS sip:x@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n",
                        )
                    )
                elif r < 0.85:  # SSH
                    put(
                        tcp_frame(
                            b"\x02" * 6,
                            b"\x04" * 6,
                            _ip("192.0.2.50"),
                            22,
                            _ip("192.0.2.60"),
                            rnd.randrange(40000, 40010),
                            rnd.randrange(1 << 32),
                            1,
                            0x18,
                            os.urandom(96),
                        )
                    )
                elif r < 0.95:  # other HTTP (not phones)
                    put(
                        tcp_frame(
                            b"\x02" * 6,
                            b"\x04" * 6,
                            _ip("192.0.2.70"),
                            80,
                            _ip("192.0.2.71"),
                            45000,
                            rnd.randrange(1 << 32),
                            1,
                            0x10,
                            os.urandom(1200),
                        )
                    )
                else:  # ARP
                    put(
                        _eth(mac, b"\xff" * 6, 0x0806)
                        + b"\x00\x01\x08\x00\x06\x04\x00\x01"
                        + mac
                        + ip
                        + b"\x00" * 6
                        + prov
                    )
            seq += 100000
    tmp.rename(path)


# -- the "ordinary" capture (issue 15): many short TCP flows with real sequence numbers,
# mixed protocols (SMTP, SSH, TLS, HTTP, NetBIOS), 58% UDP, a fleet of phones among them
ORDINARY_UDP_SHARE = 0.58
PHONE_SHARE = 0.012  # of events: about 3,900 profiles downloaded per 1M packets
_PROFILE_VARIANTS = 6  # distinct profile bodies a fleet downloads (most copies identical)


def _profile_body(variant: int) -> bytes:
    params = "".join(f"<Param_{k}>{(k * 7 + variant) % 97}</Param_{k}>" for k in range(40))
    return (
        f"<flat-profile><Resync_Periodic>{3600 + variant}</Resync_Periodic>"
        f"<Resync_On_Reset>Yes</Resync_On_Reset>{params}</flat-profile>"
    ).encode()


class _Tcp:
    """One TCP connection with real (random initial) sequence numbers."""

    def __init__(self, put, rnd, cmac, smac, cip, sport, sip, dport):  # noqa: ANN001
        self.put, self.cm, self.sm = put, cmac, smac
        self.c, self.s, self.cp, self.sp = cip, sip, sport, dport
        self.cs, self.ss = rnd.randrange(1 << 32), rnd.randrange(1 << 32)

    def open(self) -> None:
        self.put(tcp_frame(self.cm, self.sm, self.c, self.cp, self.s, self.sp, self.cs, 0, 0x02))
        self.cs += 1
        self.put(
            tcp_frame(self.sm, self.cm, self.s, self.sp, self.c, self.cp, self.ss, self.cs, 0x12)
        )
        self.ss += 1
        self.put(
            tcp_frame(self.cm, self.sm, self.c, self.cp, self.s, self.sp, self.cs, self.ss, 0x10)
        )

    def client(self, data: bytes) -> None:
        for off in range(0, len(data), 1400):
            part = data[off : off + 1400]
            self.put(
                tcp_frame(
                    self.cm, self.sm, self.c, self.cp, self.s, self.sp, self.cs, self.ss, 0x18, part
                )
            )
            self.cs += len(part)

    def server(self, data: bytes) -> None:
        for off in range(0, len(data), 1400):
            part = data[off : off + 1400]
            self.put(
                tcp_frame(
                    self.sm, self.cm, self.s, self.sp, self.c, self.cp, self.ss, self.cs, 0x18, part
                )
            )
            self.ss += len(part)

    def close(self) -> None:
        self.put(
            tcp_frame(self.cm, self.sm, self.c, self.cp, self.s, self.sp, self.cs, self.ss, 0x11)
        )
        self.cs += 1
        self.put(
            tcp_frame(self.sm, self.cm, self.s, self.sp, self.c, self.cp, self.ss, self.cs, 0x11)
        )
        self.ss += 1
        self.put(
            tcp_frame(self.cm, self.sm, self.c, self.cp, self.s, self.sp, self.cs, self.ss, 0x10)
        )


def generate_ordinary(path: Path, packets: int = PACKETS, seed: int = 7) -> None:
    """Write the "ordinary" capture (see the comment above)."""
    from harness.capture.pcapwrite import PcapWriter

    rnd = random.Random(seed)
    der = _certificate_der()
    router = b"\x02\x00\x00\x00\x00\xfe"
    prov = _ip("198.51.100.1")
    phones = [
        (
            bytes([0x00, 0x11, 0x22, 0, (i >> 8) & 255, i & 255]),
            _ip(f"10.20.{(i >> 8) & 255}.{1 + (i & 255) % 250}"),
            f"88012BB{i:05d}",
        )
        for i in range(3000)
    ]
    hosts = [
        (bytes([0x02, 0x33, 0, 0, i >> 8, i & 255]), _ip(f"10.30.{i >> 8}.{1 + (i & 255) % 250}"))
        for i in range(1500)
    ]
    servers = [_ip(f"203.0.113.{i}") for i in range(1, 200)]
    profiles = [_profile_body(v) for v in range(_PROFILE_VARIANTS)]
    tls_ch = {s: tls_flights(s, der) for s in ("www.example.com", "mail.example.org")}
    t = 1_700_000_000.0
    n = udp = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        w = PcapWriter(f)

        def put(frame: bytes) -> None:
            nonlocal n, t, udp
            t += 0.0005
            w.write(t, frame)
            n += 1
            udp += frame[23] == 17

        def dns(mac, ip, name: bytes) -> None:  # noqa: ANN001
            qid, sp = rnd.randrange(65536), rnd.randrange(20000, 60000)
            q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
            put(udp_frame(mac, router, ip, sp, servers[0], 53, q))
            put(
                udp_frame(
                    router,
                    mac,
                    servers[0],
                    53,
                    ip,
                    sp,
                    struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
                    + q[12:]
                    + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"
                    + servers[1],
                )
            )

        while n < packets:
            if rnd.random() < PHONE_SHARE:  # a phone resyncs: DHCP, DNS, TFTP, HTTP, syslog
                mac, ip, serial = phones[rnd.randrange(len(phones))]
                body = profiles[min(rnd.randrange(8), _PROFILE_VARIANTS - 1)]
                bootp, discover = dhcp_discover(mac)
                put(discover)
                offer = bytearray(bootp)
                offer[0], offer[16:20] = 2, ip
                put(
                    udp_frame(
                        router,
                        mac,
                        prov,
                        67,
                        ip,
                        68,
                        bytes(offer) + b"\x35\x01\x05\x42\x10tftp.example.net\xff",
                    )
                )
                dns(mac, ip, b"\x04prov\x07example\x03net\x00")
                sport, tid = rnd.randrange(20000, 60000), rnd.randrange(30000, 60000)
                put(
                    udp_frame(
                        mac, router, ip, sport, prov, 69, b"\x00\x01CP-8831-3PCC.cfg\x00octet\x00"
                    )
                )
                for block in range(1, 4):
                    data = body[(block - 1) * 512 : block * 512]
                    put(
                        udp_frame(
                            router,
                            mac,
                            prov,
                            tid,
                            ip,
                            sport,
                            b"\x00\x03" + struct.pack("!H", block) + data,
                        )
                    )
                    put(
                        udp_frame(
                            mac,
                            router,
                            ip,
                            sport,
                            prov,
                            tid,
                            b"\x00\x04" + struct.pack("!H", block),
                        )
                    )
                    if len(data) < 512:
                        break
                c = _Tcp(put, rnd, mac, router, ip, sport + 1, prov, 80)
                c.open()
                c.client(
                    f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov.example.net\r\n"
                    f"User-Agent: {_UA.format(serial=serial)}\r\n\r\n".encode()
                )
                c.server(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                c.close()
                put(
                    udp_frame(
                        mac,
                        router,
                        ip,
                        514,
                        prov,
                        514,
                        f"<134>CP-8831-3PCC {mac.hex()} -- Successful resync".encode(),
                    )
                )
                continue
            mac, ip = hosts[rnd.randrange(len(hosts))]
            srv = servers[rnd.randrange(len(servers))]
            if udp / max(n, 1) < ORDINARY_UDP_SHARE:
                r = rnd.random()
                if r < 0.35:  # DNS for assorted names
                    dns(
                        mac,
                        ip,
                        b"\x03www"
                        + bytes([7])
                        + f"ex{rnd.randrange(999):05d}".encode()
                        + b"\x03com\x00",
                    )
                elif r < 0.55:  # NetBIOS name service, broadcast
                    put(
                        udp_frame(
                            mac,
                            b"\xff" * 6,
                            ip,
                            137,
                            _ip("10.30.255.255"),
                            137,
                            os.urandom(2)
                            + b"\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00"
                            + b"\x20"
                            + b"EB" * 16
                            + b"\x00\x00\x20\x00\x01",
                        )
                    )
                elif r < 0.7:  # NTP
                    put(udp_frame(mac, router, ip, 123, srv, 123, b"\x23" + b"\x00" * 47))
                    put(udp_frame(router, mac, srv, 123, ip, 123, b"\x24" + os.urandom(47)))
                else:  # RTP burst
                    p, ssrc = rnd.randrange(16384, 32000, 2), os.urandom(4)
                    for k in range(6):
                        put(
                            udp_frame(
                                mac,
                                router,
                                ip,
                                p,
                                srv,
                                20000,
                                b"\x80\x00" + struct.pack("!HI", k, k * 160) + ssrc + b"\xd5" * 160,
                            )
                        )
                continue
            r = rnd.random()
            port = rnd.randrange(32768, 61000)
            if r < 0.25:  # SMTP
                c = _Tcp(put, rnd, mac, router, ip, port, srv, 25)
                c.open()
                c.server(b"220 mail.example.org ESMTP\r\n")
                c.client(b"EHLO host.example.com\r\n")
                c.server(b"250-mail.example.org\r\n250 SIZE 10240000\r\n")
                c.client(b"QUIT\r\n")
                c.server(b"221 Bye\r\n")
                c.close()
            elif r < 0.45:  # SSH
                c = _Tcp(put, rnd, mac, router, ip, port, srv, 22)
                c.open()
                c.server(b"SSH-2.0-OpenSSH_9.6\r\n")
                c.client(b"SSH-2.0-OpenSSH_9.6\r\n")
                c.client(os.urandom(1200))
                c.server(os.urandom(900))
                c.close()
            elif r < 0.7:  # TLS to ordinary web servers
                ch, sf = tls_ch["www.example.com" if r < 0.6 else "mail.example.org"]
                c = _Tcp(put, rnd, mac, router, ip, port, srv, 443)
                c.open()
                c.client(ch)
                c.server(sf)
                c.client(_record(20, b"\x01") + _record(22, os.urandom(40)))
                c.server(_record(23, os.urandom(600)))
                c.close()
            elif r < 0.9:  # HTTP from a browser
                c = _Tcp(put, rnd, mac, router, ip, port, srv, 80)
                c.open()
                c.client(
                    b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n"
                )
                c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n" + b"h" * 900)
                c.close()
            else:  # NetBIOS session service
                c = _Tcp(put, rnd, mac, router, ip, port, srv, 139)
                c.open()
                c.client(
                    b"\x81\x00\x00\x44" + b"\x20" + b"CA" * 16 + b"\x00\x20" + b"EB" * 16 + b"\x00"
                )
                c.server(b"\x82\x00\x00\x00")
                c.close()
    tmp.rename(path)


# -- measurement ----------------------------------------------------------------------
_WRAP = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "dt = time.perf_counter() - t\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(dt, ru.ru_maxrss, p.returncode, ru.ru_utime + ru.ru_stime)\n"
    "sys.stderr.write(p.stderr.decode()[-2000:] if p.returncode not in (0, 1) else '')\n"
)


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """(seconds, peak MB, exit code) of cmd in its own process."""
    dt, mb, rc, _ = measure_cpu(cmd)
    return dt, mb, rc


def measure_cpu(cmd: list[str]) -> tuple[float, float, int, float]:
    """(wall seconds, peak MB, exit code, CPU seconds user+system) of cmd in its own process.
    On a shared machine CPU seconds move far less than wall seconds."""
    out = subprocess.run([sys.executable, "-c", _WRAP, *cmd], capture_output=True, text=True)
    if out.stderr:
        print(out.stderr, file=sys.stderr)
    dt, rss, rc, cpu = out.stdout.split()
    return float(dt), int(rss) / 1024, int(rc), float(cpu)


_DPKT = r"""
import sys, dpkt
ports = {53, 67, 68, 69, 80, 443, 514}
n = hits = 0
with open(sys.argv[1], 'rb') as f:
    for ts, buf in dpkt.pcap.Reader(f):
        n += 1
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        if not isinstance(ip, dpkt.ip.IP):
            continue
        l4 = ip.data
        if not isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
            continue
        if l4.sport not in ports and l4.dport not in ports:
            continue
        hits += 1
        p = l4.data
        if l4.dport == 80 and p.startswith(b'GET '):
            try:
                dpkt.http.Request(p).headers.get('user-agent')
            except Exception:
                pass
        elif 53 in (l4.sport, l4.dport):
            dpkt.dns.DNS(p)
        elif l4.dport == 69:
            p[2:].split(b'\0')
        elif 514 == l4.dport:
            p.decode('latin-1')
print(n, hits)
"""

_PYSHARK = r"""
import sys, pyshark
cap = pyshark.FileCapture(sys.argv[1], display_filter=sys.argv[2], keep_packets=False)
n = 0
for pkt in cap:
    n += 1
    for layer in ('http', 'tftp', 'dns', 'syslog', 'tls'):
        if hasattr(pkt, layer):
            getattr(pkt, layer)
cap.close()
print(n)
"""


def _slice(src: Path, dst: Path, count: int) -> None:
    with open(src, "rb") as f, open(dst, "wb") as out:
        out.write(f.read(24))
        for _ in range(count):
            hdr = f.read(16)
            if len(hdr) < 16:
                break
            n = struct.unpack("<I", hdr[8:12])[0]
            out.write(hdr + f.read(n))


def _capture(packets: int, kind: str = "mixed") -> Path:
    cap = OUT / f"{kind}-{packets // 1_000_000}m.pcap"
    if not cap.exists():
        t = time.perf_counter()
        print(f"generating {cap} ({packets} packets)...", flush=True)
        (generate_ordinary if kind == "ordinary" else generate)(cap, packets)
        print(f"  done in {time.perf_counter() - t:.1f} s, {cap.stat().st_size >> 20} MB")
    return cap


def _analyze_cmd(cap: Path, out: Path | str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness.cli",
        "analyze",
        str(cap),
        "--format",
        "json",
        "--out",
        str(out),
        "--no-progress",
    ]


def _tshark_cmd(cap: Path, *, seq_analysis: bool = True) -> list[str]:
    cmd = ["tshark", "-r", str(cap), "-n", "-Y", TSHARK_FILTER, "-T", "fields"]
    if not seq_analysis:
        cmd += ["-o", "tcp.analyze_sequence_numbers:FALSE"]
    for fld in TSHARK_FIELDS:
        cmd += ["-e", fld]
    return cmd


def ordinary(rounds: int, scales: list[int], keep_big: bool) -> None:
    """The issue-15 figures: harness and tshark (as a user runs it, and with TCP sequence
    analysis off) interleaved on the ordinary capture, ratios per round (the machine is
    shared: absolute times move, ratios of neighbouring runs much less); then harness's
    peak memory on 1M and on each N-million capture (deleted after unless `keep_big`)."""
    cap = _capture(PACKETS, "ordinary")
    names = [
        "harness analyze --format json",
        "tshark -Y -T fields",
        "tshark, seq analysis off",
        "harness analyze -j 2 (split)",
    ]
    cmds = [
        _analyze_cmd(cap, OUT / "ordinary-report.json"),
        _tshark_cmd(cap),
        _tshark_cmd(cap, seq_analysis=False),
        [*_analyze_cmd(cap, OUT / "ordinary-report-j2.json"), "-j", "2"],
    ]
    ratios: list[tuple[float, float, float, float]] = []
    split: list[tuple[float, ...]] = []  # (-j 1 / -j 2 wall, -j 2 / -j 1 CPU, tshark / -j 2 x2)
    peak1 = peak2 = 0.0
    for r in range(rounds):
        times, cpus = [], []
        for name, cmd in zip(names, cmds, strict=True):
            dt, mb, rc, cpu = measure_cpu(cmd)
            times.append(dt)
            cpus.append(cpu)
            if cmd is cmds[0]:
                peak1 = max(peak1, mb)
            elif cmd is cmds[3]:
                peak2 = max(peak2, mb)
            print(
                f"  round {r + 1}: {name:34} {dt:7.2f} s wall {cpu:7.2f} s CPU {mb:7.1f} MB"
                f"  exit {rc}",
                flush=True,
            )
        ratios.append(
            (times[1] / times[0], times[2] / times[0], cpus[1] / cpus[0], cpus[2] / cpus[0])
        )
        split.append((times[0] / times[3], cpus[3] / cpus[0], times[1] / times[3],
                      times[2] / times[3]))  # fmt: skip

    def median(i: int) -> float:
        return sorted(x[i] for x in ratios)[len(ratios) // 2]

    print(f"ordinary capture, {PACKETS:,} packets ({os.cpu_count()} cores, median of {rounds}):")
    print("                                         wall    CPU")
    print(
        f"  harness vs tshark as a user runs it:   {median(0):5.2f}x {median(2):5.2f}x"
        "  (goal 7x, stretch 10x)"
    )
    print(f"  harness vs tshark, seq analysis off:   {median(1):5.2f}x {median(3):5.2f}x")
    wall2 = sorted(x[0] for x in split)[len(split) // 2]
    cpu2 = sorted(x[1] for x in split)[len(split) // 2]
    same = _same_report(OUT / "ordinary-report.json", OUT / "ordinary-report-j2.json")
    print(
        f"  harness -j 2 (one file split in two) vs -j 1: {wall2:5.2f}x wall, {cpu2:5.2f}x the"
        f" CPU seconds; same report: {same}; peak {peak2:.1f} MB (largest process)"
    )
    print(
        f"  harness -j 2 vs tshark (wall; tshark runs on one core): as a user runs it"
        f" {sorted(x[2] for x in split)[len(split) // 2]:5.2f}x, seq analysis off"
        f" {sorted(x[3] for x in split)[len(split) // 2]:5.2f}x"
    )
    print(f"  harness peak memory, 1M packets: {peak1:6.1f} MB (goal < 200 MB)")
    for n in scales:
        big = _capture(n * PACKETS, "ordinary")
        try:
            dt, mb, rc = measure(_analyze_cmd(big, os.devnull))
            print(f"  harness peak memory, {n}M packets: {mb:6.1f} MB ({dt:.1f} s, exit {rc})")
        finally:
            if not keep_big:
                big.unlink()


def _same_report(one: Path, other: Path) -> bool:
    import json

    with open(one, "rb") as a, open(other, "rb") as b:
        return json.load(a) == json.load(b)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.bench_analyze")
    ap.add_argument(
        "--scale",
        type=int,
        action="append",
        default=[],
        help="also measure an N-million capture (repeatable: --scale 3 --scale 10)",
    )
    ap.add_argument(
        "--own", action="store_true", help="the project's own capture and all peers (old table)"
    )
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (ordinary)")
    ap.add_argument("--keep", action="store_true", help="keep the N-million captures")
    opts, _ = ap.parse_known_args(argv)  # `python -m bench analyze` passes its own names
    OUT.mkdir(exist_ok=True)
    if not opts.own:
        ordinary(opts.rounds, [n for n in opts.scale if n > 1], opts.keep)
        return
    cap = _capture(PACKETS)
    rows: list[tuple[str, float, float, str]] = []
    py = sys.executable
    dt, mb, rc = measure(_analyze_cmd(cap, OUT / "report.json"))
    full_rate, full_mb = PACKETS / dt, mb
    rows.append(("harness analyze (full analysis + rules)", full_rate, mb, f"exit {rc}"))
    scale = max(opts.scale, default=0)
    if scale > 1:
        big = _capture(scale * PACKETS)
        dt, mb, rc = measure(_analyze_cmd(big, os.devnull))
        rows.append((f"harness analyze, {scale}M packets", scale * PACKETS / dt, mb, f"exit {rc}"))
    dt, mb, _ = measure(
        [
            py,
            "-c",
            "import sys; from harness.analyze.engine import analyze_capture; "
            "analyze_capture(sys.argv[1])",
            str(cap),
        ]
    )
    rows.append(("  of which: analysis only (no rules, no report)", PACKETS / dt, mb, ""))
    dt2, mb2, _ = measure(
        [
            py,
            "-m",
            "harness.cli",
            "analyze",
            str(cap),
            str(cap),
            "-j",
            "2",
            "--format",
            "json",
            "--out",
            os.devnull,
            "--no-progress",
        ]
    )
    rows.append(
        ("harness analyze -j 2 (same file twice)", 2 * PACKETS / dt2, mb2, "peak of parent")
    )
    tshark_rate = None
    if shutil.which("tshark"):
        cmd = ["tshark", "-r", str(cap), "-n", "-Y", TSHARK_FILTER, "-T", "fields"]
        for fld in TSHARK_FIELDS:
            cmd += ["-e", fld]
        dt, mb, _ = measure(cmd)
        tshark_rate = PACKETS / dt
        rows.append(("tshark -Y ... -T fields", tshark_rate, mb, ""))
    try:
        import dpkt  # noqa: F401

        dt, mb, _ = measure([py, "-c", _DPKT, str(cap)])
        rows.append(("dpkt, port prefilter", PACKETS / dt, mb, ""))
    except ImportError:
        rows.append(("dpkt", 0.0, 0.0, "not installed"))
    try:
        import pyshark  # noqa: F401

        part = OUT / f"slice-{PYSHARK_SLICE}.pcap"
        if not part.exists():
            _slice(cap, part, PYSHARK_SLICE)
        dt, mb, _ = measure([py, "-c", _PYSHARK, str(part), TSHARK_FILTER])
        rows.append(
            (
                f"pyshark, display filter ({PYSHARK_SLICE} slice)",
                PYSHARK_SLICE / dt,
                mb,
                "scaled from the slice",
            )
        )
    except ImportError:
        rows.append(("pyshark", 0.0, 0.0, "not installed"))
    print(f"{'tool':48} {'packets/s':>12} {'peak MB':>9} {'vs tshark':>10}")
    for name, rate, mb, note in rows:
        ratio = f"{rate / tshark_rate:.2f}x" if tshark_rate and rate else "-"
        print(f"{name:48} {rate:12,.0f} {mb:9.1f} {ratio:>10}  {note}")
    print(f"(machine: {os.cpu_count()} cores; goal: harness >= 7x tshark, peak < 200 MB)")
    if tshark_rate:
        ratio = full_rate / tshark_rate
        print(
            f"full analysis: {ratio:.2f}x tshark ({'met' if ratio >= 7 else 'NOT met'}); "
            f"peak {full_mb:.0f} MB ({'met' if full_mb < 200 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
