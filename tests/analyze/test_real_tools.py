"""Captures made with real tools on loopback; the analyzer's facts must equal tshark's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from harness.analyze.engine import Ports, analyze_capture
from harness.observe.events import DnsQuery, HttpExchange, SyslogMessage, TftpTransfer, TlsHandshake
from tests.analyze.conftest import free_port, tshark_fields

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

UA = "cisco/CP-8831-3PCC (88012BA01234)"


def wait_port(port: int, kind=socket.SOCK_STREAM, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, kind) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def test_http_curl_against_http_server(tmp_path, sniff):
    www = tmp_path / "www"
    www.mkdir()
    (www / "CP-8831-3PCC.cfg").write_text(
        "<flat-profile><Resync_Periodic>77</Resync_Periodic></flat-profile>"
    )
    port = free_port(socket.SOCK_STREAM)
    srv = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(www)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        with sniff(f"tcp port {port}") as cap:
            base = f"http://127.0.0.1:{port}"
            subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-A",
                    UA,
                    f"{base}/CP-8831-3PCC.cfg",
                    "-A",
                    UA,
                    f"{base}/missing.cfg",
                ],
                check=True,
                timeout=10,
            )
            subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "--http1.0", "-A", "other/1", f"{base}/x?y=1"],
                timeout=10,
            )
    finally:
        srv.kill()
        srv.wait()
    r = analyze_capture(cap)
    got = [(o.url, o.user_agent, o.status) for o in r.observations if isinstance(o, HttpExchange)]
    rows = tshark_fields(
        cap, "http.request", ["http.request.uri", "http.user_agent"], [f"tcp.port=={port},http"]
    )
    codes = tshark_fields(cap, "http.response", ["http.response.code"], [f"tcp.port=={port},http"])
    assert [(u, a) for u, a, _ in got] == [(row[0], row[1]) for row in rows]
    assert [s for *_, s in got] == [int(c[0]) for c in codes] == [200, 404, 404]
    assert got[0][1] == UA
    assert r.observations[0].device.serial == "88012BA01234"
    assert r.profiles[0][2] == {"Resync_Periodic": "77"}


@pytest.mark.skipif(
    shutil.which("in.tftpd") is None and not shutil.which("/usr/sbin/in.tftpd"),
    reason="tftpd-hpa not installed",
)
def test_tftp_hpa_transfers_across_tids(tmp_path, sniff):
    root = tmp_path / "root"
    root.mkdir()
    (root / "CP-8831-3PCC.cfg").write_bytes(b"A" * 1300)  # three blocks
    (root / "small.cfg").write_bytes(b"<flat-profile></flat-profile>")
    port = free_port()
    srv = subprocess.Popen(
        ["/usr/sbin/in.tftpd", "-L", "-s", str(root), "-a", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        with sniff("udp and host 127.0.0.1") as cap:
            for name in ("CP-8831-3PCC.cfg", "missing.cfg", "small.cfg"):
                subprocess.run(
                    [
                        "tftp",
                        "127.0.0.1",
                        str(port),
                        "-m",
                        "binary",
                        "-c",
                        "get",
                        name,
                        str(tmp_path / "out"),
                    ],
                    timeout=15,
                    capture_output=True,
                )
    finally:
        srv.kill()
        srv.wait()
    r = analyze_capture(cap)
    # other tests may run TFTP on loopback at the same time: keep this server's transfers
    tftp = [o for o in r.observations if isinstance(o, TftpTransfer) and o.server[1] == port]
    da = [f"udp.port=={port},tftp"]
    names = tshark_fields(cap, f"tftp.opcode==1 and udp.dstport=={port}", ["tftp.source_file"], da)
    assert (
        [t.filename for t in tftp]
        == [n[0] for n in names]
        == [
            "CP-8831-3PCC.cfg",
            "missing.cfg",
            "small.cfg",
        ]
    )
    big, missing, small = tftp
    assert (big.outcome, big.bytes, big.blocks, big.op, big.mode) == (
        "complete",
        1300,
        3,
        "RRQ",
        "octet",
    )
    assert big.server[1] == port and len(big.evidence.frames) == 7  # RRQ + 3 x (DATA, ACK)
    tid = missing.evidence.frames  # the error came from the server's transfer port
    err = tshark_fields(cap, "tftp.opcode==5", ["frame.number", "tftp.error.code"], da)
    err = [row for row in err if int(row[0]) in tid]
    assert (missing.outcome, missing.error_code) == ("error", int(err[0][1]))
    assert small.outcome == "complete" and small.bytes == 29


@pytest.mark.parametrize("fmt", ["--rfc3164", "--rfc5424"])
def test_syslog_from_logger(tmp_path, sniff, fmt):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    texts = ["CP-8831-3PCC 0011223344aa -- Requesting resync tftp://x/y", "second message"]
    try:
        with sniff(f"udp port {port}") as cap:
            for t in texts:
                subprocess.run(
                    [
                        "logger",
                        "-n",
                        "127.0.0.1",
                        "-P",
                        str(port),
                        fmt,
                        "-d",
                        "-p",
                        "local0.notice",
                        "-t",
                        "phone",
                        t,
                    ],
                    check=True,
                    timeout=10,
                )
    finally:
        sock.close()
    r = analyze_capture(cap, ports=Ports().with_extra({"syslog": {port}}))
    got = [o for o in r.observations if isinstance(o, SyslogMessage)]
    rows = tshark_fields(
        cap,
        "syslog",
        ["syslog.msg", "syslog.facility", "syslog.level"],
        [f"udp.port=={port},syslog"],
    )
    assert [g.message for g in got] == texts
    assert all(row[0].endswith(g.message) for row, g in zip(rows, got, strict=True))
    assert [(g.facility, g.severity) for g in got] == [(int(r_[1]), int(r_[2])) for r_ in rows]
    assert got[0].facility == 16 and got[0].severity == 5


def test_dns_dig_against_dnslib(tmp_path, sniff):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    port = sock.getsockname()[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(4096)
            except OSError:
                continue
            q = DNSRecord.parse(data)
            a = q.reply()
            if q.q.qtype == QTYPE.A and str(q.q.qname).startswith("prov"):
                a.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("198.51.100.7"), ttl=60))
            else:
                a.header.rcode = 3
            sock.sendto(a.pack(), addr)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        with sniff(f"udp port {port}") as cap:
            for name, qt in (("prov.example.net", "A"), ("_tftp._udp.example.net", "SRV")):
                subprocess.run(
                    ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2", name, qt],
                    capture_output=True,
                    timeout=10,
                )
    finally:
        stop.set()
        th.join()
        sock.close()
    r = analyze_capture(cap, ports=Ports().with_extra({"dns": {port}}))
    got = [o for o in r.observations if isinstance(o, DnsQuery)]
    rows = tshark_fields(cap, "dns.flags.response==0", ["dns.qry.name"], [f"udp.port=={port},dns"])
    assert [g.qname for g in got] == [row[0] for row in rows]
    assert [(g.qtype, g.rcode, g.answers) for g in got] == [
        ("A", "NOERROR", ("198.51.100.7",)),
        ("SRV", "NXDOMAIN", ()),
    ]


def _self_signed(tmp_path, cn: str):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-days",
            "2",
            "-subj",
            f"/CN={cn}/O=Test",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return key, crt


def test_tls_openssl_s_client_against_s_server(tmp_path, sniff):
    key, crt = _self_signed(tmp_path, "prov.example.net")
    port = free_port(socket.SOCK_STREAM)
    srv = subprocess.Popen(
        [
            "openssl",
            "s_server",
            "-accept",
            f"127.0.0.1:{port}",
            "-key",
            str(key),
            "-cert",
            str(crt),
            "-tls1_2",
            "-quiet",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        with sniff(f"tcp port {port}") as cap:
            subprocess.run(
                [
                    "openssl",
                    "s_client",
                    "-connect",
                    f"127.0.0.1:{port}",
                    "-servername",
                    "prov.example.net",
                    "-tls1_2",
                    "-cipher",
                    "AES256-SHA:AES128-SHA:DHE-RSA-AES256-SHA",
                ],
                input=b"GET / HTTP/1.0\r\n\r\n",
                capture_output=True,
                timeout=15,
            )
    finally:
        srv.kill()
        srv.wait()
    r = analyze_capture(cap)
    (h,) = [o for o in r.observations if isinstance(o, TlsHandshake)]
    da = [f"tcp.port=={port},tls"]
    (hello,) = tshark_fields(
        cap,
        "tls.handshake.type==1",
        ["tls.handshake.ciphersuite", "tls.handshake.extensions_server_name"],
        da,
    )
    (shello,) = tshark_fields(cap, "tls.handshake.type==2", ["tls.handshake.ciphersuite"], da)
    assert list(h.offered_cipher_suites) == [int(x, 0) for x in hello[0].split(",")]
    assert h.server_name == hello[1] == "prov.example.net"
    assert h.chosen_cipher_suite == int(shello[0], 0)
    assert h.server_cert_subject_cn == "prov.example.net"
    assert h.chosen_version == "TLS1.2"
    assert 0x0035 in h.offered_cipher_suites
