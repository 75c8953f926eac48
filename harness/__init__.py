"""harness: packet-level test and protocol-analysis harness for IP-phone provisioning.

The package is organised by the data flow of docs/architecture.md: sources
(endpoints, captures) produce observations (`harness.observe`), rules
(`harness.rules`) judge them against the spec (`harness.spec`) into findings,
and reports are rendered from findings only. Nothing is imported here eagerly:
the names a test needs (`from harness import DeviceIdentity, SimPhone`, the same
as `harness.testing`'s) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name.startswith("_") or name == "testing":  # dunder probes, and the submodule itself
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    testing = importlib.import_module("harness.testing")
    if name in testing._EXPORTS:
        return getattr(testing, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
