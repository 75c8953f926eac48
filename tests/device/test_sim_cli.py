"""`harness sim` as a newcomer runs it: a subprocess against nginx."""

from __future__ import annotations

import subprocess
import sys

PROFILE = b"<flat-profile><Resync_Periodic>600</Resync_Periodic></flat-profile>"


def sim(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "harness.cli", "sim", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_sim_against_nginx_in_virtual_time(nginx_site):
    site = nginx_site()
    (site.root / "CP-8831-3PCC.cfg").write_bytes(PROFILE)
    r = sim("--server", site.url, "--virtual-time", "--duration", "1900", "--count", "2")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if "class" in line]
    assert len(lines) == 8  # 2 phones x (power-up + 3 periodic within 1900 s)
    assert all("/CP-8831-3PCC.cfg -> 200 class A" in line for line in lines)
    assert sum("SIM00000001" in line for line in lines) == 4
    assert sum("SIM00000002" in line for line in lines) == 4


def test_sim_reports_failures_and_quirks(nginx_site):
    site = nginx_site()
    r = sim(
        "--profile-rule",
        f"{site.url}/missing.cfg",
        "--virtual-time",
        "--duration",
        "100",
        "--quirk",
        "retry-404-too-soon",
    )
    assert r.returncode == 1
    lines = [line for line in r.stdout.splitlines() if "class" in line]
    assert len(lines) >= 5 and "-> 404 class B, next in 10s" in lines[0]


def test_sim_bad_arguments_are_clear():
    r = sim("--server", "http://127.0.0.1:9/", "--quirk", "nope")
    assert r.returncode == 2 and "unknown quirk 'nope'" in r.stderr
    r = sim("--server", "http://127.0.0.1:9/", "--family", "nokia")
    assert r.returncode == 2 and "unknown device family" in r.stderr
