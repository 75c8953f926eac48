"""Entering a network namespace from the calling thread (setns(2) on /run/netns/NAME).

Linux namespaces are per thread: after `setns_net(path)` every socket the
thread opens lives in that namespace. Live capture opens its probe socket this
way, and netsim's namespace event loops (`harness.netsim.nsloop`) start their
threads with it; it lives here, below both, so neither package imports the
other's internals. Only the system call lives here: no namespace creation, no
sockets, no event loops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


def setns_net(path: str) -> None:
    """Move the calling thread into the network namespace whose handle is at `path`."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if hasattr(os, "setns"):  # Python 3.12+
            os.setns(fd, CLONE_NEWNET)
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)
