"""`harness serve` as a user runs it: serves a directory, prints what arrives, writes the lab CA."""

import re
import subprocess
import sys
import time

import pytest


def start_serve(tmp_path, *args):
    root = tmp_path / "root"
    root.mkdir()
    (root / "CP-8831-3PCC.cfg").write_text("<flat-profile/>")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "serve",
            "--root",
            str(root),
            "--duration",
            "20",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    urls = {}
    deadline = time.monotonic() + 15
    while len(urls) < 5 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.match(r"\s+(tftp|http|https|syslog|dns)\s+(\S+)", line)
        if m:
            urls[m.group(1)] = m.group(2)
    return proc, urls, tmp_path


@pytest.fixture
def served(tmp_path):
    proc, urls, base = start_serve(tmp_path)
    try:
        yield proc, urls, base
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_shows_each_transaction_and_writes_the_ca(served):
    proc, urls, base = served
    assert set(urls) == {"tftp", "http", "https", "syslog", "dns"}
    got = subprocess.run(
        ["curl", "-sf", "-A", "cisco/CP-8831-3PCC (88012BA01234)", urls["http"] + "/CP-8831-3PCC.cfg"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert got.stdout == "<flat-profile/>"
    port = urls["tftp"].rsplit(":", 1)[1]
    subprocess.run(
        ["tftp", "127.0.0.1", port, "-m", "binary", "-c", "get", "CP-8831-3PCC.cfg", str(base / "t")],
        check=True, timeout=20,
    )  # fmt: skip
    assert (base / "pki" / "server-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    seen = []  # the transfer ends when the server reads the last ACK: wait for its line
    while not any("TFTP RRQ" in line for line in seen) and (line := proc.stdout.readline()):
        seen.append(line)
    proc.terminate()
    out = "".join(seen) + proc.communicate(timeout=15)[0]
    assert (
        'HTTP GET /CP-8831-3PCC.cfg HTTP/1.1 -> 200 15B UA="cisco/CP-8831-3PCC (88012BA01234)"'
        in out
    )
    assert "TFTP RRQ CP-8831-3PCC.cfg (octet) -> complete" in out


def test_serve_refuses_a_missing_root(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2 and "not a directory" in out.stderr


def test_serve_rejects_bad_port_settings(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(tmp_path), "--ports", "ftp=21"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2 and "bad port setting 'ftp=21'" in out.stderr
