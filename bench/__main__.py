"""`python -m bench [NAME...]`: run every bench/bench_*.py module's `main()` (or the named ones).

Only discovery and dispatch here; the measurements live in the bench modules.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import bench


def modules(selected: list[str]) -> list[str]:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    if selected:
        wanted = {s if s.startswith("bench_") else f"bench_{s}" for s in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"unknown bench module(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in wanted]
    return names


def main(argv: list[str] | None = None) -> int:
    failed = 0
    for name in modules(sys.argv[1:] if argv is None else argv):
        print(f"== {name} ==", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:  # one broken bench must not hide the others
            failed += 1
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
