"""A netsim run killed with SIGKILL leaves namespaces; the next run removes them (only those)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from harness.netsim import names
from harness.netsim.cleanup import leftovers, owner_gone, remove_stale
from harness.netsim.system import list_namespaces

pytestmark = pytest.mark.needs_root

HOLDER = textwrap.dedent(
    """
    import sys, time
    from harness.netsim.topology import Topology
    topo = Topology(nat="symmetric").up()
    print(topo.prefix if hasattr(topo, "prefix") else "", flush=True)
    time.sleep(300)
    """
)


def _start_holder() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the topology is up
    return proc


def _objects_of(pid: int) -> list[str]:
    return leftovers(names.run_prefix(pid))


def _harness(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "netsim", *argv],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_killed_run_is_cleaned_by_the_next_and_a_live_one_is_not(needs_netns) -> None:
    killed = _start_holder()
    alive = _start_holder()
    name = f"s{os.getpid():x}"
    try:
        assert _objects_of(killed.pid) and _objects_of(alive.pid)
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        left = _objects_of(killed.pid)
        assert any(item.startswith("netns ") for item in left)  # SIGKILL: no teardown ran
        assert any(owner_gone(item.split()[-1]) for item in left if item.startswith("netns "))
        up = _harness("up", "--nat", "none", "--name", name)  # the next run
        assert up.returncode == 0, up.stderr
        assert _objects_of(killed.pid) == []
        for ns in (i.split()[-1] for i in left if i.startswith("netns ")):
            assert f"removed netns {ns} (left by a run that is gone)" in up.stdout
        assert _objects_of(alive.pid)  # a run that still runs keeps everything
        assert any(ns.startswith(f"hn-{name}-") for ns in list_namespaces())
    finally:
        for proc in (killed, alive):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        _harness("down", "--name", name)
        for proc in (killed, alive):
            from harness.netsim.cleanup import cleanup

            cleanup(names.run_prefix(proc.pid))
    assert _objects_of(alive.pid) == []


def test_remove_stale_leaves_named_topologies_alone(needs_netns) -> None:
    name = f"n{os.getpid():x}"
    try:
        assert _harness("up", "--name", name).returncode == 0
        removed = remove_stale()
        assert not [r for r in removed if f"hn-{name}-" in r]
        assert any(ns.startswith(f"hn-{name}-") for ns in list_namespaces())
    finally:
        _harness("down", "--name", name)
