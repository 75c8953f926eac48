"""Each spec test reads the spec data afresh (tests/spec_caches.py says why)."""

import pytest

from tests.spec_caches import clear_spec_caches


@pytest.fixture(autouse=True)
def fresh_spec_data():
    clear_spec_caches()
