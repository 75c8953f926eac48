"""The progress bar of `harness analyze`: on a terminal it shows packets/s and the time
left (one process and `-j 2`); when stderr is not a terminal nothing of it is written."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_analyze import generate_ordinary

TREE = Path(__file__).resolve().parents[2]
PACKETS = 70_000  # > 8 MiB (the bar's threshold) and past the first 65,536-record sweep


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory) -> Path:
    cap = tmp_path_factory.mktemp("progress") / "progress-ordinary.pcap"
    generate_ordinary(cap, PACKETS)
    assert cap.stat().st_size > 8 << 20
    return cap


def _cmd(cap: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "analyze", str(cap), "--format", "json",
            "--out", os.devnull, *extra]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "COLUMNS")}
    return {**env, "PYTHONPATH": str(TREE), "TERM": "xterm-256color", "COLUMNS": "160"}


def stderr_on_a_terminal(cmd: list[str]) -> tuple[int, str]:
    """Run `cmd` with its stderr on a pseudo-terminal; (exit code, what it wrote there)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=_env(), cwd=TREE)
    os.close(slave)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        code = proc.wait(timeout=120)
    return code, out.decode("utf-8", "replace")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_on_a_terminal_the_bar_shows_packets_per_second_and_time_left(big_capture, jobs) -> None:
    code, err = stderr_on_a_terminal(_cmd(big_capture, "-j", jobs))
    assert code in (0, 1), err
    assert big_capture.name in err and "packets/s" in err, err[-2000:]
    assert any(c in err for c in ("-:--:--", "0:00:")), err[-2000:]  # the time left column


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_stderr_not_a_terminal_gets_no_bar(big_capture, jobs) -> None:
    # FORCE_COLOR (set in many CI environments) makes rich draw into a pipe: our check
    # is on stderr itself
    done = subprocess.run(_cmd(big_capture, "-j", jobs), capture_output=True, text=True,
                          env={**_env(), "FORCE_COLOR": "1"}, cwd=TREE, timeout=300)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "packets/s" not in done.stderr and big_capture.name not in done.stderr
    assert "\x1b[" not in done.stderr, done.stderr


def test_no_progress_turns_it_off_on_a_terminal(big_capture) -> None:
    code, err = stderr_on_a_terminal(_cmd(big_capture, "--no-progress"))
    assert code in (0, 1), err
    assert "packets/s" not in err and big_capture.name not in err, err[-2000:]
