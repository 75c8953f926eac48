"""Helpers (no tests) for the HTTPS endpoint tests: run curl / openssl s_client against a server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.endpoints.https import HttpsServer


def curl(server: HttpsServer, tmp_path: Path, *args: str, path: str = "/") -> tuple[str, str, int]:
    """(body + final status line, stderr, exit code) of curl against `server` by FQDN."""
    ca = server.ca.cert_pem.write_to_path(tmp_path / "server-ca.pem")
    cmd = [
        "curl", "-sS", "--noproxy", "*", "--max-time", "20",
        "--cacert", str(ca), "--resolve", server.resolve,
        "-o", "-", "-w", "\n%{http_code}", *args, server.url + path,
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    return r.stdout, r.stderr, r.returncode


def s_client(server: HttpsServer, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
           "-servername", server.fqdn, *args]  # fmt: skip
    return subprocess.run(cmd, input="", capture_output=True, text=True, timeout=30, check=False)
