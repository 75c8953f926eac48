"""`harness.testing` (and `harness`) export what a test needs, lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness
import harness.testing as testing


def test_all_is_the_export_table_and_every_name_resolves() -> None:
    assert testing.__all__ == sorted(testing._EXPORTS)
    for name in testing.__all__:
        assert getattr(testing, name) is getattr(harness, name)
        assert getattr(testing, name).__name__ == name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = testing.Nope
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = harness.Nope


def test_importing_loads_nothing_until_a_name_is_used() -> None:
    code = (
        "import sys, harness, harness.testing\n"
        "before = sorted(m for m in sys.modules if m.startswith('harness'))\n"
        "from harness import DeviceIdentity\n"
        "after = 'harness.rules.registry' in sys.modules\n"
        "print(before, after)\n"
    )
    tree = str(Path(harness.__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=tree),
    )
    assert out.stdout.strip() == "['harness', 'harness.testing'] True", out.stderr
