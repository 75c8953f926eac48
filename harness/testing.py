"""What a test written with the harness pytest plugin imports, from one place.

    from harness.testing import DeviceIdentity, ProvisioningLab, SimPhone, Verdict

Every name is imported lazily on first use (`import harness.testing` itself
loads nothing), so a test module pays only for what it touches. This module
re-exports only: the objects live in their own modules, listed in `_EXPORTS`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # judging
    "DeviceIdentity": "harness.rules.registry",
    "Finding": "harness.rules.finding",
    "Verdict": "harness.rules.finding",
    # the fixtures' objects: endpoints, the lab, the simulated phone and its clock
    "ProvisioningLab": "harness.endpoints.lab",
    "TftpServer": "harness.endpoints.tftp",
    "HttpServer": "harness.endpoints.http",
    "HttpsServer": "harness.endpoints.https",
    "SyslogServer": "harness.endpoints.syslog",
    "DnsServer": "harness.endpoints.dns",
    "SimPhone": "harness.device.sim.phone",
    "Identity": "harness.device.sim.identity",
    "VirtualClock": "harness.clock",
    "RealClock": "harness.clock",
    # what endpoints record (harness.observe)
    "Observation": "harness.observe.events",
    "TftpTransfer": "harness.observe.events",
    "HttpExchange": "harness.observe.events",
    "TlsHandshake": "harness.observe.events",
    "SyslogMessage": "harness.observe.events",
    "DnsQuery": "harness.observe.events",
    "DhcpExchange": "harness.observe.events",
}

__all__ = [
    "DeviceIdentity",
    "DhcpExchange",
    "DnsQuery",
    "DnsServer",
    "Finding",
    "HttpExchange",
    "HttpServer",
    "HttpsServer",
    "Identity",
    "Observation",
    "ProvisioningLab",
    "RealClock",
    "SimPhone",
    "SyslogMessage",
    "SyslogServer",
    "TftpServer",
    "TftpTransfer",
    "TlsHandshake",
    "Verdict",
    "VirtualClock",
]  # the same names as _EXPORTS (a test checks)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time `__getattr__` imports
    from harness.clock import RealClock, VirtualClock
    from harness.device.sim.identity import Identity
    from harness.device.sim.phone import SimPhone
    from harness.endpoints.dns import DnsServer
    from harness.endpoints.http import HttpServer
    from harness.endpoints.https import HttpsServer
    from harness.endpoints.lab import ProvisioningLab
    from harness.endpoints.syslog import SyslogServer
    from harness.endpoints.tftp import TftpServer
    from harness.observe.events import (
        DhcpExchange,
        DnsQuery,
        HttpExchange,
        Observation,
        SyslogMessage,
        TftpTransfer,
        TlsHandshake,
    )
    from harness.rules.finding import Finding, Verdict
    from harness.rules.registry import DeviceIdentity


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
