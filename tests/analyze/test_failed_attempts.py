"""Failed attempts without an HTTP answer, from captures of stock tools (issue 10, item 4).

Refused (RST to SYN: curl to a closed port), never answered (SYNs retransmitted, no
SYN-ACK: scapy-crafted), unreachable (ICMP/ICMPv6 quoting the SYN: scapy-crafted; a
real tftp-hpa RRQ to a closed UDP port), and a request whose answer never comes (curl
against a socket server that accepts and stays silent). Each is an attempt of the
device, judged by HTTP-CONNERR / HTTP-TIMEOUT from its timing: the same capture
passes with the delay the client used and fails when the configured
Resync_Error_Retry_Delay asks for much longer (the client retried too soon).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.analyze.conftest import analyze_json, free_port, loopback_capture, only_verdict

PHONE_UA = "cisco/CP-8831-3PCC (88012BA01234)"
SLOW = "20"  # a Resync_Error_Retry_Delay the ~1 s retries of these captures are far short of

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


analyze = analyze_json
verdict = only_verdict


def closed_port(family: int = socket.AF_INET) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the block ends: connections are refused


def curl(*args: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", *args], timeout=30, check=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_refused_connections_are_connection_errors_judged_by_timing(tmp_path, capsys, host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = closed_port(family)
    url = f"http://[{host}]:{port}/CP-8831-3PCC.cfg" if ":" in host else f"http://{host}:{port}/x"
    cap = tmp_path / "refused.pcap"
    with loopback_capture(cap, f"tcp port {port}"):
        for i in range(3):
            curl("-A", PHONE_UA, url)
            if i < 2:
                time.sleep(1)
    base = [cap, "--port", f"http={port}", "--device", f"ip={host}"]
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=1")
    attempts = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(attempts) == 3
    assert all(t["outcome"] == "connection-error" and t["status"] is None for t in attempts)
    assert all("refused" in t["note"] and len(t["frames"]) == 2 for t in attempts)
    assert report["captures"][0]["stats"]["tcp_failed_connections"] == 3
    v, why = verdict(report, "HTTP-CONNERR")
    assert v == "pass", why
    assert "refused" in why
    v, why = verdict(
        analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={SLOW}"), "HTTP-CONNERR"
    )
    assert v == "fail" and re.search(r"came 1\.\d s later", why), why


def test_refused_connections_of_an_unnamed_client_are_listed_not_judged(tmp_path, capsys):
    port = closed_port()
    cap = tmp_path / "refused.pcap"
    with loopback_capture(cap, f"tcp port {port}"):
        curl(f"http://127.0.0.1:{port}/x")
    report = analyze(capsys, cap, "--port", f"http={port}")
    assert report["findings"] == [] and report["devices"] == []
    (other,) = report["other_clients"]
    assert other["ip"] == "127.0.0.1" and "no phone identity" in other["why"]


def test_refused_connection_to_an_unknown_port_is_not_an_attempt(tmp_path, capsys):
    port = closed_port()
    cap = tmp_path / "refused.pcap"
    with loopback_capture(cap, f"tcp port {port}"):
        curl(f"http://127.0.0.1:{port}/x")
    report = analyze(capsys, cap, "--device", "ip=127.0.0.1")
    assert report["transactions"] == []


class SilentServer:
    """Accepts connections, reads what comes, never answers (until the client gives up)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_requests_never_answered_are_timeouts_judged_by_timing(tmp_path, capsys, scheme):
    """HTTP: the GET is on the wire, unanswered. HTTPS: the ClientHello gets nothing back
    (what was asked is encrypted anyway): the same timeout, the device named by --device."""
    server = SilentServer()
    cap = tmp_path / "silent.pcap"
    url = f"{scheme}://127.0.0.1:{server.port}/CP-8831-3PCC.cfg"
    try:
        with loopback_capture(cap, f"tcp port {server.port}"):
            for i in range(3):
                curl("-k", "-m", "1", "-A", PHONE_UA, url)
                if i < 2:
                    time.sleep(1)
    finally:
        server.close()
    base = [cap, "--device", "ip=127.0.0.1"]
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=1")
    reqs = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(reqs) == 3 and all(t["outcome"] == "timeout" for t in reqs), reqs
    assert all(t["scheme"] == scheme for t in reqs)
    assert all(0.8 < t["duration"] < 3 for t in reqs), [t["duration"] for t in reqs]
    v, why = verdict(report, "HTTP-TIMEOUT")
    assert v == "pass", why
    report = analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={SLOW}")
    v, why = verdict(report, "HTTP-TIMEOUT")
    assert v == "fail", why
    assert verdict(report, "HTTP-CONNERR")[0] == "inconclusive"


# -- crafted frames: SYNs never answered, ICMP unreachable -------------------------------
scapy = pytest.importorskip("scapy.all")


def _syn(src, dst, sport, t, six=False):
    ip = scapy.IPv6(src=src, dst=dst) if six else scapy.IP(src=src, dst=dst)
    p = scapy.Ether() / ip / scapy.TCP(sport=sport, dport=80, flags="S", seq=1000)
    p.time = t
    return p


def _write(path: Path, packets) -> Path:
    with scapy.PcapWriter(str(path), linktype=1, sync=True) as w:
        for p in packets:
            w.write(p)
    return path


def _unanswered(t0: float, sport: int, six: bool, src: str, dst: str):
    # Linux-like SYN retries 1 s and 2 s apart; the client gives up ~4 s after the last
    return [_syn(src, dst, sport, t0 + dt, six) for dt in (0.0, 1.0, 3.0)]


def _unreachable(t0: float, sport: int, six: bool, src: str, dst: str):
    syn = _syn(src, dst, sport, t0, six)
    if six:
        icmp = scapy.Ether() / scapy.IPv6(src=dst, dst=src) / scapy.ICMPv6DestUnreach(code=3)
    else:
        icmp = scapy.Ether() / scapy.IP(src=dst, dst=src) / scapy.ICMP(type=3, code=1)
    icmp = icmp / bytes(syn[1])[: 48 if six else 28]
    icmp.time = t0 + 0.01
    return [syn, icmp]


@pytest.mark.parametrize("six", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize(
    ("make", "word", "span"),
    [(_unanswered, "never answered", 3.0), (_unreachable, "unreachable", 0.01)],
)
def test_crafted_failures_are_connection_errors(tmp_path, capsys, six, make, word, span):
    src, dst = ("2001:db8::10", "2001:db8::1") if six else ("192.0.2.10", "192.0.2.1")
    t0 = 1_700_000_000.0
    delay = 30.0
    # compliant: each attempt starts `delay` after the previous one ended (+ the give-up wait)
    starts = [
        t0 + i * (delay + span + (4.0 if word == "never answered" else 0.0)) for i in range(3)
    ]
    packets = [p for i, t in enumerate(starts) for p in make(t, 40000 + i, six, src, dst)]
    cap = _write(tmp_path / "crafted.pcap", packets)
    base = [cap, "--device", f"ip={src}"]
    report = analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={delay:g}")
    attempts = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(attempts) == 3 and all(word in t["note"] for t in attempts), attempts
    assert all(t["outcome"] == "connection-error" for t in attempts)
    v, why = verdict(report, "HTTP-CONNERR")
    assert v == "pass", why
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=120")
    v, why = verdict(report, "HTTP-CONNERR")
    assert v == "fail", why


@pytest.mark.skipif(shutil.which("tftp") is None, reason="tftp-hpa not installed")
def test_tftp_request_to_a_closed_port_is_refused_by_icmp(tmp_path, capsys):
    port = free_port()  # UDP, closed: the kernel answers ICMP port unreachable
    cap = tmp_path / "tftp.pcap"
    script = f"mode octet\nrexmt 1\ntimeout 2\nget CP-8831-3PCC.cfg {tmp_path / 'out'}\nquit\n"
    with loopback_capture(cap, f"udp port {port} or icmp"):
        for i in range(2):
            subprocess.run(
                ["tftp", "127.0.0.1", str(port)],
                input=script.encode(),
                timeout=60,
                capture_output=True,
                check=False,
            )
            if i == 0:
                time.sleep(1)
    base = [cap, "--port", f"tftp={port}", "--device", "ip=127.0.0.1"]
    # tftp-hpa gives up 1 s (its timeout) after its last request; then the 1 s sleep
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=2")
    tftp = [t for t in report["transactions"] if t["kind"] == "tftp"]
    assert len(tftp) == 2 and all(t["outcome"] == "refused" for t in tftp), tftp
    v, why = verdict(report, "HTTP-CONNERR")
    assert v == "pass", why
    v, why = verdict(
        analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={SLOW}"), "HTTP-CONNERR"
    )
    assert v == "fail", why


@pytest.mark.skipif(shutil.which("tftp") is None, reason="tftp-hpa not installed")
def test_tftp_request_never_answered_is_a_timeout(tmp_path, capsys):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound: no ICMP, no answer
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    cap = tmp_path / "tftp.pcap"
    script = f"mode octet\nrexmt 1\ntimeout 2\nget CP-8831-3PCC.cfg {tmp_path / 'out'}\nquit\n"
    try:
        with loopback_capture(cap, f"udp port {port}"):
            for i in range(2):
                subprocess.run(
                    ["tftp", "127.0.0.1", str(port)],
                    input=script.encode(),
                    timeout=60,
                    capture_output=True,
                    check=False,
                )
                if i == 0:
                    time.sleep(1)
    finally:
        silent.close()
    base = [cap, "--port", f"tftp={port}", "--device", "ip=127.0.0.1"]
    # tftp-hpa gives up 1 s (its timeout) after its last request; then the 1 s sleep
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=2")
    tftp = [t for t in report["transactions"] if t["kind"] == "tftp"]
    assert len(tftp) == 2 and all(t["outcome"] == "timeout" for t in tftp), tftp
    assert all(t["retransmissions"] >= 1 for t in tftp)
    v, why = verdict(report, "HTTP-TIMEOUT")
    assert v == "pass", why
    report = analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={SLOW}")
    assert verdict(report, "HTTP-TIMEOUT")[0] == "fail"


# -- a real client whose SYNs are dropped (a namespace with an nft drop rule) -------------
@pytest.fixture
def drop_namespace():
    """A network namespace (loopback only) whose nft input chain drops TCP to one port;
    removed (with its table) even when the test fails."""
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("needs root, ip and nft")
    ns, port = f"hid{os.getpid()}", 18443
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        run = ["ip", "netns", "exec", ns]
        subprocess.run([*run, "ip", "link", "set", "lo", "up"], check=True)
        rules = (
            "table inet harness_drop {\n chain input {\n"
            f"  type filter hook input priority 0;\n  tcp dport {port} drop\n }}\n}}\n"
        )
        subprocess.run([*run, "nft", "-f", "-"], input=rules.encode(), check=True)
        yield run, port
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _netns_capture(run: list[str], path: Path, bpf: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*run, "tcpdump", "-i", "lo", "-U", "-n", "-w", str(path), bpf],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening" in line, line
    time.sleep(1.0)  # tcpdump says "listening" a little before it captures
    return proc


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_syns_dropped_until_curl_gives_up_are_connection_errors(drop_namespace, tmp_path, capsys):
    run, port = drop_namespace
    cap = tmp_path / "dropped.pcap"
    proc = _netns_capture(run, cap, f"tcp port {port}")
    try:
        for i in range(2):
            subprocess.run(
                [*run, "curl", "-s", "-o", "/dev/null", "--connect-timeout", "2", "-A", PHONE_UA,
                 f"http://127.0.0.1:{port}/CP-8831-3PCC.cfg"],
                timeout=30, check=False,
            )  # fmt: skip
            if i == 0:
                time.sleep(1)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    base = [cap, "--port", f"http={port}", "--device", "ip=127.0.0.1"]
    report = analyze(capsys, *base, "--param", "Resync_Error_Retry_Delay=1")
    attempts = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(attempts) == 2, attempts
    assert all(t["outcome"] == "connection-error" for t in attempts)
    assert all("never answered" in t["note"] and len(t["frames"]) >= 2 for t in attempts)
    v, why = verdict(report, "HTTP-CONNERR")
    assert v == "pass", why
    v, why = verdict(
        analyze(capsys, *base, "--param", f"Resync_Error_Retry_Delay={SLOW}"), "HTTP-CONNERR"
    )
    assert v == "fail", why
