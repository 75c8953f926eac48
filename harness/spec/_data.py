"""Loading the TOML files shipped in `harness/spec/data` (cached, read once).

Only file access and TOML parsing live here; what the data means is for the
modules that call `load_data`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_data(name: str) -> dict[str, Any]:
    """Return the parsed `harness/spec/data/<name>.toml`."""
    text = resources.files("harness.spec").joinpath("data", f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)
