"""`harness serve` prints device-controlled text escaped, one record per line, problems live."""

import re
import socket
import subprocess
import sys
import time

FORGED = "18:00:00.000 127.0.0.1:1 HTTP GET /fake -> 200 forged"
HOSTILE = f"boot \x1b[31mRED\x1b[0m \x1b]0;pwned\x07 done\n{FORGED}"


def _start(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(root), "--duration", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "TERM": "xterm-256color"},
    )  # fmt: skip
    urls = {}
    while len(urls) < 5:
        line = proc.stdout.readline()
        assert line, "harness serve ended before printing its URLs"
        if m := re.match(r"\s+(tftp|http|https|syslog|dns)\s+\S+://\S+:(\d+)", line):
            urls[m.group(1)] = ("127.0.0.1", int(m.group(2)))
    return proc, urls


def _wait_for(proc, pattern: str, timeout: float = 15) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if pattern in line:
            return seen
    raise AssertionError(f"{pattern!r} not printed; got {seen!r}")


def test_syslog_escapes_and_newlines_are_shown_escaped(tmp_path):
    proc, urls = _start(tmp_path)
    seen: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(f"<134>{HOSTILE}".encode(), urls["syslog"])
        seen = _wait_for(proc, "SYSLOG")
        # a problem is printed while the server runs, not only at shutdown
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x00\x09\x1b[2Jjunk", urls["tftp"])
        seen += _wait_for(proc, "problem")
    finally:
        proc.terminate()
        out = "".join(seen) + proc.communicate(timeout=15)[0]
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert not any(line.startswith(FORGED) for line in out.splitlines())
    (syslog_line,) = [line for line in out.splitlines() if "SYSLOG" in line]
    assert "boot \\x1b[31mRED\\x1b[0m \\x1b]0;pwned\\x07 done\\n18:00:00.000" in syslog_line
    assert any(line.startswith("problem tftp: malformed datagram") for line in seen)
