"""Real clients for tests (tftp-hpa), with the plumbing captures need (a known source port)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path


def free_udp_port() -> int:
    """A UDP port free right now: the tftp client's source port, so a capture filter can name it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tftp_get(port: int, name: str, dest: Path, local: int) -> subprocess.CompletedProcess:
    """tftp-hpa fetches `name` from 127.0.0.1:`port` into `dest`, from source port `local`."""
    argv = ["tftp", "-R", f"{local}:{local}", "-m", "binary", "127.0.0.1", str(port)]
    return subprocess.run(
        [*argv, "-c", "get", name, str(dest)], capture_output=True, text=True, timeout=20
    )
