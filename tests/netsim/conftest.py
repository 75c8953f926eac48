"""Shared set-up for the netsim tests: remove leftovers of killed earlier runs once."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _stale(netsim_stale_cleanup: None) -> None:
    return None
