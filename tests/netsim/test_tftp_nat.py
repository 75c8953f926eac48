"""TFTP-NAT: tftp-hpa in the phone's namespace against in.tftpd in the WAN or on the LAN.

TFTP works routed and on the LAN, fails through port-restricted and symmetric
NAT (the server answers from a new port), works through them with the TFTP
conntrack helper, and completes over a lossy link by retransmitting.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.netsim.system import tftp_helper_capability
from harness.netsim.topology import Topology

pytestmark = [pytest.mark.needs_root, pytest.mark.requirement("TFTP-NAT")]
PROFILE = "CP-8831-3PCC.cfg"


@pytest.fixture
def tftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "tftproot"
    root.mkdir()
    (root / PROFILE).write_bytes(os.urandom(20 * 512 + 100))
    return root


def serve_tftp(
    topo: Topology, host: str, root: Path, retransmit_us: int | None = None
) -> subprocess.Popen:
    argv = ["in.tftpd", "-4", "-L", "-u", "root", "-s", str(root), "-a", f"{topo.ip(host)}:69"]
    if retransmit_us:  # the server's first retransmission timeout (-T, microseconds)
        argv += ["-T", str(retransmit_us)]
    proc = topo.popen(host, argv, stderr=subprocess.PIPE)
    for _ in range(100):
        ss = topo.run(host, ["ss", "-uln", "sport", "= :69"]).stdout
        if ":69" in ss:
            return proc
        time.sleep(0.02)
    raise AssertionError(f"in.tftpd did not start in {host}")


def tftp_get(topo: Topology, host: str, server: str, dest: Path, timeout: int = 3) -> bytes:
    """tftp-hpa's `get`; returns what arrived (its exit code does not tell with a script)."""
    script = f"mode octet\nrexmt 1\ntimeout {timeout}\nget {PROFILE} {dest}\nquit\n"
    topo.run(host, ["tftp", server], input=script, timeout=timeout + 30)
    return dest.read_bytes() if dest.exists() else b""


@pytest.mark.parametrize(
    "kind, helper, works",
    [
        ("none", False, True),
        ("full-cone", False, True),
        ("port-restricted", False, False),
        ("symmetric", False, False),
        ("port-restricted", True, True),
        ("symmetric", True, True),
    ],
)
def test_tftp_through_the_router(netsim, tftp_root, tmp_path, kind, helper, works) -> None:
    if helper and not tftp_helper_capability():
        pytest.skip(tftp_helper_capability().reason)
    topo = netsim(nat=kind, tftp_helper=helper, wan_servers=1)
    serve_tftp(topo, "server1", tftp_root)
    got = tftp_get(topo, "phone1", topo.ip("server1"), tmp_path / "got.cfg")
    assert (got == (tftp_root / PROFILE).read_bytes()) is works


def test_tftp_on_the_lan_works_behind_symmetric_nat(netsim, tftp_root, tmp_path) -> None:
    topo = netsim(nat="symmetric", wan_servers=1)
    serve_tftp(topo, "lansrv", tftp_root)
    got = tftp_get(topo, "phone1", topo.ip("lansrv"), tmp_path / "got.cfg")
    assert got == (tftp_root / PROFILE).read_bytes()


def test_tftp_retransmits_over_a_lossy_link(netsim, tftp_root, tmp_path) -> None:
    topo = netsim(nat="none", wan_servers=1)
    serve_tftp(topo, "server1", tftp_root, retransmit_us=200_000)  # recovers fast from loss
    topo.set_loss("wan", 25)
    topo.set_loss("lan", 10)
    got = tftp_get(topo, "phone1", topo.ip("server1"), tmp_path / "got.cfg", timeout=40)
    assert got == (tftp_root / PROFILE).read_bytes()
    assert topo.dropped() > 0  # packets were lost, so the transfer had to retransmit
