"""Emptying the caches of the spec's data loaders, so a test reads the spec data afresh.

The loaders of harness.spec (`load_family`, `catalog`, the Table 3-1 rows, the suite
names, ...) and a few rule helpers cache what they build. Filled once at import, such a
cache would hide the builders from every test that runs after it: a wrong family file
reader, a wrong status row, would go unseen as long as the process had built them right
once (mutation testing showed it: `make mutate`, docs/mutation.md). The spec tests
(tests/spec/conftest.py) empty them before each test (a few milliseconds). The rule tests
do not: every one of them reads a family, so mutation testing would run all of them for
each mutant of the spec's loaders; the spec tests own those.
"""

from __future__ import annotations

import importlib
import pkgutil

import harness.rules
import harness.spec


def clear_spec_caches() -> int:
    """Empty every functools cache of harness.spec and harness.rules; how many there were."""
    cleared = 0
    for pkg in (harness.spec, harness.rules):
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for value in vars(module).values():
                if (
                    callable(getattr(value, "cache_clear", None))
                    and getattr(value, "__module__", None) == module.__name__
                ):
                    value.cache_clear()
                    cleared += 1
    return cleared
