"""The harness pytest plugin (entry point `pytest11: harness`).

Registers the fixture modules of `harness.fixtures`, the `requirement` marker
and the plugin's command-line options. Fixture code lives in those modules,
not here.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "harness.fixtures.tftp",
    "harness.fixtures.http",
    "harness.fixtures.https",
    "harness.fixtures.syslog",
    "harness.fixtures.dns",
    "harness.fixtures.lab",
    "harness.fixtures.capture",
    "harness.fixtures.netsim",
    "harness.fixtures.device",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(id): the spec requirement ID this test proves")
    config.addinivalue_line("markers", "needs_root: needs root (network namespaces, raw capture)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "IP-phone provisioning harness")
    group.addoption(
        "--harness-family",
        default="cisco-8831-3pcc",
        help="device family whose spec file the rules use (default: cisco-8831-3pcc)",
    )
