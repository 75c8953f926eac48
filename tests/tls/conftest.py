"""Fixtures for harness.tls tests: one test PKI per worker (see wire.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.tls.wire import Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("tls-pki"))


@pytest.fixture(scope="session")
def real_tools() -> None:
    """Skip (with the reason) when openssl, tcpdump or tshark is missing."""
    missing = [t for t in ("openssl", "tcpdump", "tshark") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make system)")
    if os.geteuid() != 0:
        pytest.skip("capturing on lo with tcpdump needs root")
