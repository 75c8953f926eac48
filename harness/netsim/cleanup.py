"""Removing what the netsim created: live topologies at exit, leftovers of killed runs.

Every topology registers here when it comes up; an atexit handler takes down
whatever this process still has. `cleanup(prefix=None)` removes every `hn*`
namespace (killing the processes inside first), `hn*` links and nftables
tables in the root namespace — what `harness netsim cleanup` runs.
`cleanup(stale_only=True)` (`remove_stale()`) removes only the leftovers of
processes that are gone, which is safe while parallel test workers run: the
netsim fixture and `harness netsim up` run it at start and say what it removed.
An owner is gone when its pid does not run, or runs a process that started after
the namespace was made (the pid was reused). The registry knows topologies only
as `LiveNetwork` (something with `down()`), so topology imports this module and
never the reverse; the names both use are in `harness.netsim.names`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import threading
from typing import Protocol

from harness.netsim import names
from harness.netsim.system import NetsimError, list_namespaces, sh


class LiveNetwork(Protocol):
    """What the registry takes down at exit (a `Topology`; this module never imports it)."""

    def down(self) -> None: ...


_live: list[LiveNetwork] = []
_lock = threading.Lock()


def register(topo: LiveNetwork) -> None:
    with _lock:
        if topo not in _live:
            _live.append(topo)


def unregister(topo: LiveNetwork) -> None:
    with _lock:
        if topo in _live:
            _live.remove(topo)


@atexit.register
def _down_all() -> None:
    for topo in list(_live):
        with contextlib.suppress(Exception):
            topo.down()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fp:
            fields = fp.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as fp:
            boot = next(int(line.split()[1]) for line in fp if line.startswith("btime "))
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _namespace_created(ns: str) -> float | None:
    try:
        return os.stat(f"/run/netns/{ns}").st_mtime
    except OSError:
        return None


def owner_gone(name: str) -> bool:
    """Whether `name` is `hn<pid-hex>-...` and that process no longer runs.

    A pid that runs again, but in a process started after the namespace `name`
    was made, is a reused pid: the owner is gone. Named objects (`hn-NAME-`) have
    no owner and are never "gone".
    """
    pid = names.owned_by_pid(name)
    if pid is None:
        return False
    if not _pid_alive(pid):
        return True
    created, started = _namespace_created(name), _start_time(pid)
    return created is not None and started is not None and started > created + 2.0


def _kill_inside(ns: str) -> None:
    out = sh(["ip", "netns", "pids", ns], check=False).stdout
    for word in out.split():
        pid = int(word)
        if pid in (os.getpid(), os.getppid()):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def remove_prefix(prefix: str) -> list[str]:
    """Delete the namespaces whose names start with `prefix` (processes inside first)."""
    removed = []
    for ns in list_namespaces():
        if ns.startswith(prefix):
            _kill_inside(ns)
            proc = sh(["ip", "netns", "del", ns], check=False)
            if proc.returncode == 0:
                removed.append(ns)
    return removed


def _root_links() -> list[str]:
    out = sh(["ip", "-j", "link", "show"], check=False).stdout or "[]"
    return [link["ifname"] for link in json.loads(out)]


def _root_tables() -> list[tuple[str, str]]:
    out = sh(["nft", "-j", "list", "tables"], check=False).stdout or "{}"
    with contextlib.suppress(ValueError):
        items = json.loads(out).get("nftables", [])
        return [(t["table"]["family"], t["table"]["name"]) for t in items if "table" in t]
    return []


def leftovers(prefix: str | None = None) -> list[str]:
    """Everything a cleanup would remove: namespaces, root links, root nft tables."""
    stem = prefix or names.STEM
    table_stem = names.table(stem) if prefix else names.STEM
    found = [f"netns {ns}" for ns in list_namespaces() if ns.startswith(stem)]
    found += [f"link {name}" for name in _root_links() if name.startswith(stem)]
    found += [f"nft table {f} {t}" for f, t in _root_tables() if t.startswith(table_stem)]
    return found


def cleanup(prefix: str | None = None, *, stale_only: bool = False) -> list[str]:
    """Remove leftovers whose names start with `prefix` (default: every `hn*` object).

    With `stale_only`, only objects named after a process that no longer runs
    (`hn<pid-hex>-...`) are removed. Returns what was removed.
    """
    stem = prefix or names.STEM
    removed: list[str] = []

    def wanted(name: str) -> bool:
        if not name.startswith(stem):
            return False
        if stale_only:
            return owner_gone(name)
        return True

    for ns in list_namespaces():
        if wanted(ns):
            removed += [f"netns {n}" for n in remove_prefix(ns)]
    for link in _root_links():
        if wanted(link):
            with contextlib.suppress(NetsimError):
                sh(["ip", "link", "del", link])
                removed.append(f"link {link}")
    table_stem = names.table(stem) if prefix else names.STEM
    for family, table in _root_tables():
        if table.startswith(table_stem) and (not stale_only or wanted(table.replace("_", "-"))):
            with contextlib.suppress(NetsimError):
                sh(["nft", "delete", "table", family, table])
                removed.append(f"nft table {family} {table}")
    return removed


def remove_stale() -> list[str]:
    """Remove the leftovers of killed runs (owner gone) and only those; returns what went."""
    return cleanup(stale_only=True)
