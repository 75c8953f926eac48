"""Fixtures for the analyzer tests: ephemeral ports and a tcpdump capture on loopback."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tshark_oracle import tshark_fields  # noqa: F401 - the tests import it from here


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


@pytest.fixture
def sniff(tmp_path):
    def start(bpf: str, name: str = "cap.pcap"):
        return loopback_capture(tmp_path / name, bpf)

    return start


SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())


def analyze_json(capsys, *args: str) -> dict:
    """`harness analyze ARGS --format json`: the report, validated against the contract."""
    import jsonschema

    from harness.cli import main

    code = main(["analyze", *map(str, args), "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    return report


def only_verdict(report: dict, rule: str) -> tuple[str, str]:
    """(verdict, why) of the one finding of `rule` in a report."""
    (f,) = [f for f in report["findings"] if f["rule"] == rule]
    return f["verdict"], f["why"]
