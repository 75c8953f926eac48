"""Every command of the README's tour runs, and exits as the README says.

The `sh` blocks of README.md's "A five-minute tour" section are taken as written:
the first is terminal 1 (`harness serve`, left running), the others are terminal 2,
run in order as one bash script (so `kill -INT %1` finds the tcpdump it started).
Only what cannot be literal is substituted: `.venv/bin/harness` becomes this
interpreter's `-m harness.cli`, the fixed ports become free ephemeral ones, and
`captures/` is the repository's. A command's exit code must be the one its comment
states (`exit N`), else 0. Runs as root (tcpdump, netsim), in a temporary directory.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import harness

TREE = Path(harness.__file__).resolve().parent.parent
TOUR_PORTS = ("6969", "8080", "8443", "5514", "5353")

pytestmark = [pytest.mark.needs_root, pytest.mark.tour, pytest.mark.timeout(900)]


def tour_blocks(readme: str) -> list[list[tuple[str, int | None]]]:
    """The tour's sh blocks: per block, (command, expected exit code or None if in background)."""
    section = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for body in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands: list[tuple[str, int | None]] = []
        for logical in body.replace("\\\n", " ").splitlines():
            parts = re.split(r"\s{2,}#\s?", logical, maxsplit=1)
            command, comment = parts[0].strip(), parts[1] if len(parts) > 1 else ""
            if not command:
                continue
            if command.endswith("&"):
                commands.append((command, None))
                continue
            code = re.search(r"\bexit (\d+)", comment)
            commands.append((command, int(code.group(1)) if code else 0))
        blocks.append(commands)
    return blocks


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))  # free for both, as serve binds UDP and TCP
    return port


def substitute(command: str, ports: dict[str, str]) -> str:
    command = command.replace(".venv/bin/harness", f"{sys.executable} -m harness.cli")
    command = command.replace(" captures/", f" {TREE}/captures/")
    for fixed, free in ports.items():
        command = re.sub(rf"\b{fixed}\b", free, command)
    return command


def test_tour_blocks_are_parsed() -> None:
    blocks = tour_blocks((TREE / "README.md").read_text())
    assert len(blocks) >= 4
    assert any("harness serve" in c for c, _ in blocks[0])
    assert ("kill -INT %1", 0) in [c for b in blocks for c in b]
    assert any(code == 1 for b in blocks for _, code in b)


def test_every_tour_command(tmp_path: Path) -> None:
    blocks = tour_blocks((TREE / "README.md").read_text())
    ports = {fixed: str(free_port()) for fixed in TOUR_PORTS}
    env = dict(os.environ, PYTHONPATH=str(TREE))
    serve_script = "\n".join(substitute(c, ports) for c, _ in blocks[0])
    terminal1 = subprocess.Popen(
        ["bash", "-c", serve_script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert terminal1.stdout is not None
        seen = []
        for line in terminal1.stdout:
            seen.append(line)
            if "Ctrl-C to stop" in line:
                break
        else:
            pytest.fail("harness serve did not start:\n" + "".join(seen))
        lines, expected = [], {}
        for i, (command, code) in enumerate(c for b in blocks[1:] for c in b):
            lines.append(substitute(command, ports))
            if code is not None:
                expected[i] = (command, code)
                lines.append(f'echo "__rc:{i}:$?"')
        done = subprocess.run(
            ["bash", "-c", "\n".join(lines)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=840,
        )
    finally:
        os.killpg(terminal1.pid, signal.SIGINT)
        try:
            terminal1.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(terminal1.pid, signal.SIGKILL)
            terminal1.wait(5)
        subprocess.run([sys.executable, "-m", "harness.cli", "netsim", "down"], env=env,
                       capture_output=True, timeout=60)  # fmt: skip
    got = {int(i): int(rc) for i, rc in re.findall(r"__rc:(\d+):(\d+)", done.stdout)}
    wrong = [
        f"{command!r}: exit {got.get(i)}, README says {code}"
        for i, (command, code) in expected.items()
        if got.get(i) != code
    ]
    assert not wrong, "\n".join(wrong) + "\n" + done.stdout[-3000:] + done.stderr[-3000:]
    # what the tour promises to show
    assert "-> 404 class B, next in 10s" in done.stdout
    assert "-> 200 class A" in done.stdout
    assert (tmp_path / "tour.pcap").stat().st_size > 1000
    assert (tmp_path / "tour.json").is_file() and (tmp_path / "reports/clean/report.json").is_file()
    assert (tmp_path / "lab/pki-all/variants/wrong-cn.pem").is_file()
    assert "summary: 2 devices; findings:" in done.stdout
