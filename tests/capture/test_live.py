"""Live capture with real tools: curl against HttpServer, tftp-hpa against TftpServer.

The files are read back with the project's reader and analyzer; the `capture`
fixture is exercised directly and, for marker/teardown/report behaviour, in a
pytester run of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.analyze.engine import analyze_capture
from harness.capture.live import (
    PROBE_ETHERTYPE,
    CaptureError,
    LiveCapture,
    probe_frame,
    remove_probe_frames,
)
from harness.capture.pcapwrite import write_pcap, write_pcapng
from harness.capture.reader import CaptureReader
from harness.observe.events import HttpExchange, TftpTransfer
from tests.clients import free_udp_port, tftp_get

UA = "Cisco/SPA504G-7.6.2 (88012BA01234)"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")
pytestmark = [needs_root]
TOOLS = [t for t in ("dumpcap", "tcpdump") if shutil.which(t)]


def curl(url: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-A", UA, url], check=True, timeout=10)


@pytest.mark.parametrize("tool", TOOLS)
def test_live_capture_of_curl_and_tftp(tool, tmp_path, http_server, tftp_server):
    http_server.expect("/CP-8831-3PCC.cfg").respond(200, body=b"<flat-profile/>")
    tftp_server.add_file("/SPA504G.cfg", b"x" * 1300)
    local = free_udp_port()
    bpf = f"tcp port {http_server.port} or udp port {tftp_server.port} or udp port {local}"
    cap = LiveCapture("lo", bpf, tmp_path / "live.cap", tool=tool).start()
    try:
        curl(http_server.url_for("/CP-8831-3PCC.cfg"))
        curl(http_server.url_for("/missing.cfg"))
        assert tftp_get(tftp_server.port, "SPA504G.cfg", tmp_path / "got", local).returncode == 0
    finally:
        path = cap.stop()
    with CaptureReader(path) as reader:
        records = list(reader)
        assert reader.format == cap.format == ("pcapng" if tool == "dumpcap" else "pcap")
        assert not reader.problems
    assert cap.probes_sent >= 2  # one at start, one at stop at least
    assert not any(d[12:14] == PROBE_ETHERTYPE.to_bytes(2, "big") for _, _, d in records)
    result = analyze_capture(path)
    http = [o for o in result.observations if isinstance(o, HttpExchange)]
    assert [(o.url, o.status, o.user_agent) for o in http] == [
        ("/CP-8831-3PCC.cfg", 200, UA),
        ("/missing.cfg", 404, UA),
    ]
    tftp = [o for o in result.observations if isinstance(o, TftpTransfer)]
    assert [(t.filename, t.outcome, t.bytes) for t in tftp] == [("SPA504G.cfg", "complete", 1300)]


def test_everything_sent_before_stop_is_in_the_file(tmp_path):
    """No settle sleep anywhere: the last datagram sent right before stop() is written."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        cap = LiveCapture("lo", f"udp port {port}", tmp_path / "c.pcapng").start()
        for i in range(50):
            s.sendto(b"n%03d" % i, ("127.0.0.1", port))
        path = cap.stop()
    with CaptureReader(path) as reader:
        payloads = [d[-4:] for _, _, d in reader]
    assert payloads == [b"n%03d" % i for i in range(50)]


def test_bad_filter_is_a_clear_error_with_the_tools_stderr(tmp_path):
    cap = LiveCapture("lo", "udp port nonsense", tmp_path / "c.pcapng")
    with pytest.raises(CaptureError, match=r"(?s)exited.*nonsense"):
        cap.start()
    assert not cap.running


def test_missing_interface_is_a_clear_error(tmp_path):
    with pytest.raises(CaptureError, match="nosuchif0"):
        LiveCapture("nosuchif0", "udp", tmp_path / "c.pcap", tool=TOOLS[-1]).start()


def test_tool_killed_during_the_run_is_reported_at_stop(tmp_path):
    cap = LiveCapture("lo", "udp port 9", tmp_path / "c.pcap", tool=TOOLS[-1]).start()
    assert cap.proc is not None
    cap.proc.kill()
    cap.proc.wait()
    with pytest.raises(CaptureError, match="exited with -9"):
        cap.stop()


def test_unknown_tool_is_refused():
    with pytest.raises(ValueError, match="wireshark"):
        LiveCapture("lo", None, "x.pcap", tool="wireshark")


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_remove_probe_frames_keeps_every_other_record(tmp_path, fmt):
    other = b"\x00" * 12 + b"\x08\x00" + b"\x45" + b"\x00" * 30
    probe = probe_frame(b"HARNESS-PROBEtoken")
    path = tmp_path / f"f.{fmt}"
    records = [(1.0, probe), (2.0, other), (3.0, probe), (4.0, other + b"x")]
    if fmt == "pcap":
        write_pcap(path, records)
    else:
        write_pcapng(path, [(t, d, 0) for t, d in records])
    assert remove_probe_frames(path) == 2
    with CaptureReader(path) as reader:
        assert [(t, d) for t, _, d in reader] == [(2.0, other), (4.0, other + b"x")]
        assert not reader.problems


def test_netns_capture(tmp_path):
    """Inside a namespace: the capture runs there and sees that namespace's loopback only."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 missing")
    ns = f"hncap{os.getpid():x}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        cap = LiveCapture("lo", "udp port 5555", tmp_path / "ns.pcap", netns=ns).start()
        send = "import socket; socket.socket(2, 2).sendto(b'inside', ('127.0.0.1', 5555))"
        subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", send], check=True)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # root namespace: not seen
            s.sendto(b"outside", ("127.0.0.1", 5555))
        path = cap.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    with CaptureReader(path) as reader:
        payloads = [d[42:] for _, _, d in reader]
    assert payloads == [b"inside"]


# -- the pytest fixture -------------------------------------------------------------------
def test_capture_fixture_start_and_analyze(capture, http_server):
    http_server.expect("/a.cfg").respond(200, body=b"hello")
    path = capture.start(bpf=f"tcp port {http_server.port}")
    assert path.name.startswith("test_capture_fixture_start_and_analyze.")
    curl(http_server.url_for("/a.cfg"))
    result = capture.analyze()
    assert [(o.url, o.status) for o in result.observations if isinstance(o, HttpExchange)] == [
        ("/a.cfg", 200)
    ]


PYTESTER_TESTS = """
import subprocess, pytest

@pytest.mark.capture(bpf="udp port {p1}")
def test_marked(capture):
    import socket
    socket.socket(2, 2).sendto(b"marked", ("127.0.0.1", {p1}))
    assert capture.path.name.startswith("test_marked.")

@pytest.mark.capture("udp port {p2}")
def test_fails(capture):
    import socket
    socket.socket(2, 2).sendto(b"failing", ("127.0.0.1", {p2}))
    assert False, "on purpose"
"""


def run_inner_pytest(where: Path) -> subprocess.CompletedProcess:
    """pytest in a subprocess on `where`, with captures under caps/ and a JUnit file."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            f"--harness-captures={where / 'caps'}",
            f"--junitxml={where / 'junit.xml'}",
            "test_cap.py",
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_capture_fixture_marker_teardown_and_report(tmp_path):
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
    ):  # held while the inner run sends to them: nobody else gets these ports
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        ports = {"p1": a.getsockname()[1], "p2": b.getsockname()[1]}
        (tmp_path / "test_cap.py").write_text(PYTESTER_TESTS.format(**ports))
        run = run_inner_pytest(tmp_path)
    out_dir, junit = tmp_path / "caps", tmp_path / "junit.xml"
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "harness capture" in run.stdout and f"{out_dir}/test_cap/test_fails.pcap" in run.stdout
    files = sorted(p.name.split(".")[0] for p in (out_dir / "test_cap").iterdir())
    assert files == ["test_fails", "test_marked"]
    for name, payload in (("test_fails", b"failing"), ("test_marked", b"marked")):
        (f,) = (out_dir / "test_cap").glob(f"{name}.*")
        with CaptureReader(f) as reader:  # stopped and flushed at teardown, even on failure
            assert [d[42:] for _, _, d in reader] == [payload]
    props = {
        tc.get("name"): [p.get("value") for p in tc.iter("property") if p.get("name") == "capture"]
        for tc in ET.parse(junit).getroot().iter("testcase")
    }
    assert set(props) == {"test_marked", "test_fails"}
    assert all(len(v) == 1 and v[0].startswith(str(out_dir)) for v in props.values())
