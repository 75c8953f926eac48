"""Thin wrappers over the `ip`, `nft`, `tc` commands, and what this machine can do.

`sh()` runs one command and turns a failure into a `NetsimError` naming the
command and its stderr. The capability probes (root, `ip netns add`, the TFTP
conntrack helper, `tc netem`) are cached per process and say *why* something
is unavailable, so tests can skip with the reason. Setting the environment
variable HARNESS_NETSIM_AS_USER=1 makes the probes answer as for a non-root
user (to test the laptop path as root). No topology logic here.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

AS_USER_ENV = "HARNESS_NETSIM_AS_USER"  # set (non-empty) to behave as a non-root user


class NetsimError(RuntimeError):
    """A network-simulation command failed; the message names the command and why."""


def sh(argv: Sequence[str], *, input: str | None = None, check: bool = True, timeout: float = 30):
    """Run a command, capture its output; raise NetsimError on failure when `check`."""
    try:
        proc = subprocess.run(
            list(argv), input=input, capture_output=True, text=True, timeout=timeout
        )
    except FileNotFoundError as exc:
        raise NetsimError(f"{argv[0]}: not installed ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise NetsimError(f"{' '.join(argv)}: no answer after {timeout} s") from exc
    if check and proc.returncode != 0:
        raise NetsimError(
            f"`{' '.join(argv)}` failed (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    return proc


def in_ns(ns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs `argv` inside network namespace `ns`."""
    return ["ip", "netns", "exec", ns, *argv]


def list_namespaces() -> list[str]:
    out = sh(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Capability:
    available: bool
    reason: str  # why not (or how, when available)

    def __bool__(self) -> bool:
        return self.available


@functools.cache
def namespaces_capability() -> Capability:
    """Can this process create network namespaces, veths and nft tables?"""
    if os.environ.get(AS_USER_ENV):
        return Capability(False, f"not root ({AS_USER_ENV} is set): network namespaces need root")
    if os.geteuid() != 0:
        return Capability(False, "not root: network namespaces need root (os.geteuid() != 0)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return Capability(False, f"`{tool}` is not installed")
    probe = f"hn{os.getpid():x}-probe{uuid.uuid4().hex[:6]}"
    proc = sh(["ip", "netns", "add", probe], check=False)
    if proc.returncode != 0:
        return Capability(False, f"`ip netns add` failed: {proc.stderr.strip()}")
    try:
        proc = sh(in_ns(probe, ["nft", "add", "table", "ip", "probe"]), check=False)
        if proc.returncode != 0:
            return Capability(False, f"nftables unusable in a namespace: {proc.stderr.strip()}")
    finally:
        sh(["ip", "netns", "del", probe], check=False)
    return Capability(True, "root, ip netns and nftables work")


def _probe_in_fresh_ns(argvs: list[list[str]]) -> subprocess.CompletedProcess | None:
    probe = f"hn{os.getpid():x}-probe{uuid.uuid4().hex[:6]}"
    sh(["ip", "netns", "add", probe])
    try:
        proc = None
        for argv in argvs:
            proc = sh(in_ns(probe, argv), check=False)
            if proc.returncode != 0:
                return proc
        return proc
    finally:
        sh(["ip", "netns", "del", probe], check=False)


@functools.cache
def tftp_helper_capability() -> Capability:
    """Does the kernel have the TFTP conntrack helper (nf_conntrack_tftp)?

    It may be built in (no module to load) or a module; either way the test is
    whether nftables accepts a `ct helper` object of type "tftp".
    """
    ns = namespaces_capability()
    if not ns:
        return ns
    if shutil.which("modprobe"):
        sh(["modprobe", "nf_conntrack_tftp"], check=False)
        sh(["modprobe", "nf_nat_tftp"], check=False)
    script = 'table ip probe {\n  ct helper t { type "tftp" protocol udp; }\n}\n'
    probe = f"hn{os.getpid():x}-probe{uuid.uuid4().hex[:6]}"
    sh(["ip", "netns", "add", probe])
    try:
        proc = sh(in_ns(probe, ["nft", "-f", "-"]), input=script, check=False)
    finally:
        sh(["ip", "netns", "del", probe], check=False)
    if proc.returncode != 0:
        return Capability(
            False,
            "TFTP conntrack helper unavailable (nf_conntrack_tftp neither built in nor "
            f"loadable): {proc.stderr.strip()}",
        )
    return Capability(True, "nf_conntrack_tftp usable via nftables `ct helper`")


@functools.cache
def netem_capability() -> Capability:
    """Does the kernel have sch_netem (delay/reorder with `tc qdisc ... netem`)?"""
    ns = namespaces_capability()
    if not ns:
        return ns
    if shutil.which("tc") is None:
        return Capability(False, "`tc` is not installed")
    proc = _probe_in_fresh_ns(
        [["ip", "link", "set", "lo", "up"], ["tc", "qdisc", "add", "dev", "lo", "root", "netem"]]
    )
    if proc is not None and proc.returncode != 0:
        return Capability(
            False,
            f"kernel has no sch_netem ({proc.stderr.strip()}); use harness.netsim.relay "
            "(userspace delay/reorder relay)",
        )
    return Capability(True, "tc netem works")
