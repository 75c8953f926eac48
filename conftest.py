"""The repository's own pytest set-up: what this repository's tests share.

Not a copy of the plugin (`harness.plugin`, which `pip install` registers for
every user, provides the fixtures). Here: the markers the repository's tests
use, the root-only skip (a test marked `needs_root` is skipped with the reason
when not run as root, or fails with `--require-root`, for a CI that must run
everything), and that option.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness-repo", "the harness repository's own tests")
    group.addoption(
        "--require-root",
        action="store_true",
        default=False,
        help="fail tests marked needs_root when not run as root, instead of skipping them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root: needs root (network namespaces, raw capture)")
    config.addinivalue_line("markers", "requirement(id): the spec requirement ID a test proves")
    config.addinivalue_line("markers", "tour: runs a command shown in the README's tour")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 or config.getoption("--require-root"):
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces, raw capture): run as root")
    for item in items:
        if item.get_closest_marker("needs_root") is not None:
            item.add_marker(skip)
