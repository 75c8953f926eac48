"""`make mutate`: mutation testing of harness/rules and harness/spec with mutmut 3.

mutmut 3 mutates only undecorated functions (a decorated one is left alone, since the
decorator runs at import) and never module-level assignments. The rules register
themselves with `@rule("ID")`, so this tool runs mutmut in a work copy of the tree
(build/mutate/) in which each `@rule("ID")` decorator is replaced by the same call after
the function (`rule("ID")(fn)` at the end of the module): the same registration, and
the rule bodies become mutable. The repository's files are never changed.

Module-level constants (the named harness tolerances) are not mutated by mutmut; the
fixed mutants of tests/rules/test_mutation_smoke.py cover them.

It runs one module at a time (`--module` to choose; status_rules last), with `--jobs`
workers (default: one per core; `--jobs 1` on a shared machine), against the fast rule
tests ([tool.mutmut] in pyproject.toml), then prints the score and the surviving mutants and writes reports/mutation.txt and
reports/mutation.json (every survivor with its diff). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).with_name("mutmut")


def all_modules() -> list[str]:
    """Every module of harness/rules and harness/spec (status_rules, the largest, last)."""
    names = [
        f"harness.{path.parent.name}.{path.stem}"
        for pkg in ("rules", "spec")
        for path in sorted((ROOT / "harness" / pkg).glob("*.py"))
        if not path.stem.startswith("_")
    ]
    return sorted(names, key=lambda n: n == "harness.rules.status_rules")


KILLED = {"killed", "timeout", "segfault", "caught by type check"}
_DECORATOR = re.compile(r'^@rule\((?P<arg>"[^"]+")\)\n(?P<def>def (?P<name>\w+)\()', re.M)


def undecorate_rules(text: str) -> str:
    """The module with `@rule("ID")` decorators turned into calls after the functions."""
    calls = [f"rule({m['arg']})({m['name']})" for m in _DECORATOR.finditer(text)]
    if not calls:
        return text
    body = _DECORATOR.sub(lambda m: m["def"], text)
    return (
        body.rstrip("\n")
        + "\n\n\n# registered here, not by decorators (tools/mutate.py)\n"
        + ("\n".join(calls) + "\n")
    )


def prepare(work: Path) -> None:
    """A fresh work copy of the tree with the rule decorators undone."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("harness", "tests"):
        shutil.copytree(ROOT / name, work / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    for path in (work / "harness" / "rules").glob("*.py"):
        path.write_text(undecorate_rules(path.read_text()))


def results(work: Path) -> dict[str, str]:
    """Mutant name -> status, as `mutmut results --all true` reports them."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and name.startswith("harness."):
            found[name] = status.strip()
    return found


def _functions(path: Path) -> dict[str, str]:
    """Function name -> source, for the top-level and class-level defs of a mutants file."""
    import ast

    text = path.read_text()
    tree = ast.parse(text)
    lines = text.splitlines()
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out[node.name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return out


def show(work: Path, name: str, cache: dict[Path, dict[str, str]]) -> str:
    """The mutant's diff against the original function (read from mutmut's mutants/ file;
    much faster than one `mutmut show` per survivor)."""
    import difflib

    module, _, func = name.rpartition(".")
    path = work / "mutants" / (module.replace(".", "/") + ".py")
    if "xǁ" in func:  # a method: Class.xǁClassǁmethod__mutmut_N
        func = func
    if path not in cache:
        cache[path] = _functions(path) if path.exists() else {}
    funcs = cache[path]
    orig = funcs.get(func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
    mutant = funcs.get(func)
    if orig is None or mutant is None:
        return f"(no source for {name})"
    mutant = mutant.replace(func, func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", 1)
    diff = difflib.unified_diff(orig.splitlines(), mutant.splitlines(), lineterm="", n=1)
    return "\n".join(list(diff)[2:])


def module_of(name: str) -> str:
    return name.split(".x", 1)[0].rsplit(".", 1)[0] if ".x" in name else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="a module to mutate (repeatable)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "mutate")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--keep", action="store_true", help="reuse the work copy's results")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="copy the current tests into the work copy and run only the survivors again",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    args = parser.parse_args(argv)
    modules = args.module or all_modules()
    if args.recheck and args.work.exists():
        recheck(args.work, modules, args.jobs)
        return report(args, modules, {})
    if not args.keep or not args.work.exists():
        prepare(args.work)
    timings = {}
    for mod in modules:
        start = time.monotonic()
        print(f"== mutmut: {mod}", flush=True)
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(args.jobs), f"{mod}.*"],
            cwd=args.work,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        timings[mod] = round(time.monotonic() - start)
    return report(args, modules, timings)


def recheck(work: Path, modules: list[str], jobs: int) -> None:
    """After tests were added: the current tests into the work copy, then only the
    survivors of `modules` run again (mutmut records which tests cover what anew), and
    the mutants an interrupted run left unchecked."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for dest in (work / "tests", work / "mutants" / "tests"):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(ROOT / "tests", dest, ignore=ignore)
    (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    names = [
        n
        for n, st in results(work).items()
        if st in ("survived", "no tests", "not checked")
        and any(n.startswith(m + ".") for m in modules)
    ]
    print(f"== rechecking {len(names)} survivors", flush=True)
    if names:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(jobs), *names],
            cwd=work,
            stdout=subprocess.DEVNULL,
            check=False,
        )


def report(args: argparse.Namespace, modules: list[str], timings: dict[str, int]) -> int:
    status = results(args.work)
    per_module: dict[str, dict[str, int]] = {}
    for name, st in status.items():
        mod = next((m for m in modules if name.startswith(m + ".")), None)
        if mod is None:
            continue
        counts = per_module.setdefault(mod, {})
        counts[st] = counts.get(st, 0) + 1
    judged = {n: s for n, s in status.items() if any(n.startswith(m + ".") for m in modules)}
    killed = sum(1 for s in judged.values() if s in KILLED)
    survived = sorted(n for n, s in judged.items() if s == "survived")
    untested = sorted(n for n, s in judged.items() if s == "no tests")
    scored = killed + len(survived) + len(untested)
    score = 100.0 * killed / scored if scored else 0.0
    lines = [
        f"mutation score {datetime.now(UTC):%Y-%m-%d}: {score:.1f}% ({killed}/{scored} killed)"
    ]
    for mod in modules:
        c = per_module.get(mod, {})
        k = sum(v for s, v in c.items() if s in KILLED)
        n = k + c.get("survived", 0) + c.get("no tests", 0)
        pct = f"{100.0 * k / n:.1f}%" if n else "-"
        lines.append(f"  {mod}: {pct} ({k}/{n}) {dict(sorted(c.items()))} {timings.get(mod, 0)} s")
    lines.append(f"survivors ({len(survived)}), untested ({len(untested)}):")
    lines += [f"  {n}" for n in survived + untested]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    sources: dict[Path, dict[str, str]] = {}
    diffs = {n: show(args.work, n, sources) for n in survived + untested}
    (args.out / "mutation.txt").write_text(
        text + "\n\n" + "\n\n".join(f"# {n}\n{d}" for n, d in diffs.items()) + "\n"
    )
    report = {
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "score": round(score, 1),
        "killed": killed,
        "scored": scored,
        "modules": per_module,
        "seconds": timings,
        "survivors": diffs,
    }
    (args.out / "mutation.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
