"""Fixtures for the analyzer tests: ephemeral ports and a tcpdump capture on loopback."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def loopback_capture(path: Path, bpf: str) -> Iterator[Path]:
    """tcpdump on lo writing `path` while the block runs; stopped with SIGINT, then waited."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump not installed")
    probe = free_port()
    proc = subprocess.Popen(
        [
            "tcpdump",
            "-i",
            "lo",
            "-U",
            "--immediate-mode",
            "-n",
            "-w",
            str(path),
            f"({bpf}) or (udp port {probe})",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        if "listening" not in line:
            raise RuntimeError(f"tcpdump did not start: {line}")
        # "listening" comes before the capture really runs: probe until a packet lands
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(200):
                s.sendto(b"probe", ("127.0.0.1", probe))
                time.sleep(0.025)
                if path.exists() and path.stat().st_size > 24:
                    break
            else:
                raise RuntimeError("tcpdump captured nothing in 5 s")
        yield path
        time.sleep(0.3)  # let the last packets reach the capture
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tshark_fields(path: Path, display_filter: str, fields: list[str], decode_as: list[str] = ()):
    """Rows of tshark's dissection of a capture (one list of field values per packet)."""
    cmd = ["tshark", "-r", str(path), "-n", "-Y", display_filter, "-T", "fields"]
    for d in decode_as:
        cmd += ["-d", d]
    for f in fields:
        cmd += ["-e", f]
    cmd += ["-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


@pytest.fixture
def sniff(tmp_path):
    def start(bpf: str, name: str = "cap.pcap"):
        return loopback_capture(tmp_path / name, bpf)

    return start
