"""Names of the run's network objects: every namespace and nftables table carries the prefix.

The prefix is `hn<pid-hex>-` so parallel runs (pytest-xdist workers, two shells)
never collide and `cleanup()` can find a killed run's leftovers by the `hn`
stem. Pure: no subprocesses here.
"""

from __future__ import annotations

import itertools
import os
import re

STEM = "hn"  # everything the netsim creates starts with this
_counter = itertools.count()
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$")


def run_prefix(pid: int | None = None) -> str:
    """The prefix of this process's objects: `hn<pid in hex>-`."""
    return f"{STEM}{(pid if pid is not None else os.getpid()):x}-"


def new_topology_prefix(name: str | None = None) -> str:
    """A fresh prefix for one topology: the run prefix plus a counter, or `hn-<name>-`.

    A user-given name (the CLI's --name) makes the objects findable across
    processes; it must be short and made of letters, digits, `_ . -`.
    """
    if name is not None:
        if not _VALID.match(name):
            raise ValueError(f"topology name {name!r}: use up to 31 letters, digits, '_', '.', '-'")
        return f"{STEM}-{name}-"
    return f"{run_prefix()}{next(_counter)}-"


def namespace(prefix: str, host: str) -> str:
    return f"{prefix}{host}"


def table(prefix: str) -> str:
    """The router's nftables table name (nft names allow letters, digits, `_`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", prefix.rstrip("-"))


def owned_by_pid(name: str) -> int | None:
    """The pid encoded in a `hn<hex>-...` name, or None for named/foreign ones."""
    m = re.match(rf"^{STEM}([0-9a-f]+)-", name)
    return int(m.group(1), 16) if m else None
