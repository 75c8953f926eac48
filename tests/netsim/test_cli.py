"""`harness netsim up/status/down/cleanup` through the real console entry point."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.netsim.system import list_namespaces

pytestmark = pytest.mark.needs_root


def harness(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "netsim", *argv],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_up_status_down(needs_netns) -> None:
    name = f"t{os.getpid():x}"
    try:
        up = harness("up", "--nat", "symmetric", "--name", name)
        assert up.returncode == 0, up.stderr
        assert f"ip netns exec hn-{name}-phone1" in up.stdout and "symmetric" in up.stdout
        assert f"hn-{name}-router" in harness("status").stdout
        again = harness("up", "--name", name)
        assert again.returncode == 1 and "exists" in again.stderr
        down = harness("down", "--name", name)
        assert down.returncode == 0, down.stderr
        assert not [ns for ns in list_namespaces() if ns.startswith(f"hn-{name}-")]
        assert harness("down", "--name", name).returncode == 1
    finally:
        harness("down", "--name", name)


def test_bad_name_is_refused_clearly() -> None:
    r = harness("up", "--name", "x;rm -rf")
    assert r.returncode == 2 and "topology name" in r.stderr
