"""The kill matrix: every quirk of the reference phone against the whole suite.

For the clean phone every requirement must pass or be skipped with a reason,
in every family. Each quirk of `harness.device.sim.quirks.QUIRKS` runs the
*whole* suite in its full family (the first family, sorted, where a requirement
it names applies) and the scenarios of its named requirements in the other
families where one applies. The quirk is exact (*killed*) when the requirements
that fail are exactly the ones it names (`breaks`) and the requirements the
clean phone passes that turn inconclusive or skipped are exactly the ones it
declares (`shifts`, each with its reason). A failure it does not name
*over-kills*; a named requirement that fails nowhere *survives*; an undeclared
pass -> inconclusive shift is reported too. A quirk naming a requirement no
scenario judges yet is *not yet provable*.

`quirk_verdicts(quirks, family)` runs the whole suite for a (quirky) phone and
returns requirement -> (verdict, why): the twin and the tests use it.
`markdown()` renders docs/kill-matrix.md;
`python -m harness.conformance.killmatrix --write PATH` regenerates it
(`--report DIR` also writes report.html/report.json with the table).
`KillMatrix.table()` and `table_from_devices()` (a `harness conform` run of
quirky simulated phones) give the report's `KillMatrixTable`.
Running and folding only: the scenarios arrange, the rules judge.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from harness.conformance.runner import DeviceSpec, ScenarioCache, fold, judge, run_device
from harness.conformance.scenario import scenarios
from harness.device.sim.quirks import QUIRKS, QuirkError, quirk
from harness.report.model import (
    EXTRA_FAIL,
    KILL,
    NOT_RUN,
    SURVIVES,
    DeviceRun,
    KillMatrixTable,
    KillRow,
)
from harness.rules.finding import Verdict
from harness.spec.catalog import catalog
from harness.spec.family import family_names

# Verdicts a requirement the clean phone passes may shift to without failing.
SHIFTED = (Verdict.INCONCLUSIVE, Verdict.SKIPPED)


def families() -> list[str]:
    return sorted(family_names())


def quirk_verdicts(
    quirks: Iterable[str], family: str, cache: ScenarioCache | None = None
) -> dict[str, tuple[Verdict, str]]:
    """Requirement -> (verdict, why) for the simulated phone with `quirks` in one family,
    over the whole suite (every scenario of every requirement of the catalog)."""
    names = tuple(quirks)
    label = "+".join(names) or "clean"
    spec = DeviceSpec(name=f"{label}-{family}", family=family, quirks=names)
    results = run_device(spec, cache=cache)
    out: dict[str, tuple[Verdict, str]] = {}
    for req in catalog():
        out[req] = fold_results([r for r in results if r.requirement == req])
    return out


@cache
def clean_verdicts(family: str) -> dict[str, tuple[Verdict, str]]:
    """Requirement -> (verdict, why) for the clean phone in one family (the whole suite)."""
    return quirk_verdicts((), family)


def fold_results(results: Iterable[Any]) -> tuple[Verdict, str]:
    """(verdict, why) over RequirementResults (a fail wins, inconclusive keeps it from passing)."""
    from harness.rules.finding import Finding

    return fold(Finding(r.requirement, r.verdict, f"{r.scenario}: {r.why}") for r in results)


def named_scenarios(name: str) -> list[str]:
    """The scenarios judging what a quirk names."""
    q = quirk(name)
    return [s.name for s in scenarios().values() if set(s.requirements) & set(q.breaks)]


def applicable_families(name: str) -> list[str]:
    """The families where a requirement the quirk names applies (the first runs the suite)."""
    q = quirk(name)
    return [f for f in families() if any(catalog()[r].applies_to(f) for r in q.breaks)]


@dataclass
class QuirkRow:
    quirk: str
    breaks: tuple[str, ...]
    scenarios: list[str]  # the scenarios run in the families other than the full one
    unjudged: list[str]  # named requirements no scenario judges yet
    failed: dict[str, list[str]] = field(default_factory=dict)  # requirement -> families
    verdicts: dict[str, dict[str, str]] = field(default_factory=dict)  # family -> req -> verdict
    families: list[str] = field(default_factory=list)
    full_family: str = ""  # where the whole suite ran
    shifted: dict[str, str] = field(default_factory=dict)  # pass -> inconclusive: req -> why
    declared_shifts: dict[str, str] = field(default_factory=dict)

    @property
    def survived(self) -> list[str]:
        judged = [r for r in self.breaks if r not in self.unjudged]
        return [r for r in judged if r not in self.failed]

    @property
    def extra(self) -> dict[str, list[str]]:
        return {r: fs for r, fs in self.failed.items() if r not in self.breaks}

    @property
    def undeclared_shifts(self) -> dict[str, str]:
        return {r: w for r, w in self.shifted.items() if r not in self.declared_shifts}

    @property
    def missing_shifts(self) -> list[str]:
        """Declared shifts the whole-suite run did not show (stale declarations)."""
        if not self.full_family:
            return []
        return [r for r in self.declared_shifts if r not in self.shifted]

    @property
    def status(self) -> str:
        if self.extra:
            return "over-kills " + ", ".join(sorted(self.extra))
        if self.survived:
            return "survives " + ", ".join(self.survived)
        if self.undeclared_shifts:
            return "undeclared shift to inconclusive: " + ", ".join(sorted(self.undeclared_shifts))
        if self.missing_shifts:
            return "declared shift not seen: " + ", ".join(sorted(self.missing_shifts))
        if self.unjudged:
            return "not yet provable (no scenario for " + ", ".join(self.unjudged) + ")"
        return "killed"

    @property
    def ok(self) -> bool:
        return self.status == "killed" or self.status.startswith("not yet provable")


def run_quirk(name: str, fams: Iterable[str] | None = None, *, full: bool = True) -> QuirkRow:
    """The quirk's row: the whole suite in its first applicable family (unless `full` is
    False), the scenarios of its named requirements in the others."""
    q = quirk(name)
    every = scenarios()
    judged = {r for s in every.values() for r in s.requirements}
    row = QuirkRow(
        name,
        q.breaks,
        named_scenarios(name),
        [r for r in q.breaks if r not in judged],
        declared_shifts=dict(q.shifts),
    )
    wanted = set(fams) if fams is not None else None
    for fam in applicable_families(name):
        if wanted is not None and fam not in wanted:
            continue
        row.families.append(fam)
        if full and not row.full_family:
            row.full_family = fam
            verdicts = quirk_verdicts((name,), fam)
            clean = clean_verdicts(fam)
            for req, (v, why) in verdicts.items():
                if v in SHIFTED and clean[req][0] is Verdict.PASS:
                    row.shifted[req] = why
        else:
            spec = DeviceSpec(name=f"{name}-{fam}", family=fam, quirks=(name,))
            sc_cache = ScenarioCache()
            per_req: dict[str, list] = {}
            for sc_name in row.scenarios:
                outcome = sc_cache.outcome(spec, every[sc_name])
                for req in outcome.scenario.requirements:
                    per_req.setdefault(req, []).append(judge(req, outcome, spec.name))
            verdicts = {req: fold_results(results) for req, results in per_req.items()}
        row.verdicts[fam] = {req: v.value for req, (v, _) in verdicts.items()}
        for req, (v, _) in verdicts.items():
            if v is Verdict.FAIL:
                row.failed.setdefault(req, []).append(fam)
    return row


@dataclass
class KillMatrix:
    clean: dict[str, dict[str, tuple[Verdict, str]]]  # family -> requirement -> (verdict, why)
    rows: list[QuirkRow]

    def clean_problems(self) -> list[str]:
        out = []
        for fam, verdicts in self.clean.items():
            for req, (v, why) in verdicts.items():
                if v not in (Verdict.PASS, Verdict.SKIPPED) or (v is Verdict.SKIPPED and not why):
                    out.append(f"{fam} {req}: {v.value}: {why}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": {
                fam: {r: {"verdict": v.value, "why": w} for r, (v, w) in vs.items()}
                for fam, vs in self.clean.items()
            },
            "quirks": [
                {
                    "quirk": r.quirk,
                    "breaks": list(r.breaks),
                    "status": r.status,
                    "scenarios": r.scenarios,
                    "families": r.families,
                    "full_family": r.full_family,
                    "failed": r.failed,
                    "shifted": r.shifted,
                    "declared_shifts": r.declared_shifts,
                }
                for r in self.rows
            ],
        }

    def table(self) -> KillMatrixTable:
        """The quirks x requirements table for the report."""
        used = _used_requirements(self.rows)
        rows = []
        for r in self.rows:
            cells = {req: _cell_value(r, req) for req in used}
            rows.append(
                KillRow(
                    r.quirk, r.breaks, r.status, {k: v for k, v in cells.items() if v}, r.families
                )
            )
        return KillMatrixTable(used, rows, "kill-matrix build (every quirk, every family)")


def _cell_value(row: QuirkRow, req: str) -> str:
    if req in row.failed:
        return KILL if req in row.breaks else EXTRA_FAIL
    if req in row.breaks:
        return NOT_RUN if req in row.unjudged else SURVIVES
    return ""


def _used_requirements(rows: Iterable[QuirkRow]) -> list[str]:
    rows = list(rows)
    return [r for r in catalog() if any(r in row.breaks or r in row.failed for row in rows)]


def table_from_devices(
    devices: Iterable[DeviceRun], source: str = "harness conform"
) -> KillMatrixTable | None:
    """The kill-matrix table of a run's quirky simulated phones (None when there is none).

    Per device with quirks: each named requirement is KILL (its folded verdict failed),
    SURVIVES (judged, not failed) or not run (no finding, or skipped); a requirement it
    does not name that failed is EXTRA FAIL.
    """
    rows = []
    for d in devices:
        if not d.quirks:
            continue
        breaks: list[str] = []
        for name in d.quirks:
            try:
                breaks.extend(quirk(name).breaks)
            except QuirkError:
                continue
        breaks = list(dict.fromkeys(breaks))
        verdicts = d.verdicts()
        cells: dict[str, str] = {}
        for req in breaks:
            v = verdicts.get(req)
            cells[req] = (
                KILL if v is Verdict.FAIL else NOT_RUN if v in (None, Verdict.SKIPPED) else SURVIVES
            )
        for req, v in verdicts.items():
            if req not in breaks and v is Verdict.FAIL:
                cells[req] = EXTRA_FAIL
        extra = [r for r, c in cells.items() if c == EXTRA_FAIL]
        survived = [r for r, c in cells.items() if c == SURVIVES]
        not_run = [r for r, c in cells.items() if c == NOT_RUN]
        if extra:
            status = "over-kills " + ", ".join(extra)
        elif survived:
            status = "survives " + ", ".join(survived)
        elif not_run and len(not_run) == len(breaks):
            status = "not run"
        else:
            status = "killed" + (f" (not run: {', '.join(not_run)})" if not_run else "")
        label = "+".join(d.quirks)
        fams = [d.family] if d.family else []
        rows.append(KillRow(label, tuple(breaks), status, cells, fams))
    if not rows:
        return None
    seen = {r for row in rows for r in row.cells}
    reqs = [r for r in catalog() if r in seen] + sorted(seen - set(catalog()))
    return KillMatrixTable(reqs, rows, source)


def build(jobs: int = 2) -> KillMatrix:
    fams = families()
    names = sorted(QUIRKS)
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        clean = dict(zip(fams, pool.map(clean_verdicts, fams), strict=True))
        rows = list(pool.map(run_quirk, names))
    return KillMatrix(clean, rows)


def _cell(row: QuirkRow, req: str) -> str:
    named = req in row.breaks
    if req in row.failed:
        fams = ", ".join(f.removeprefix("cisco-") for f in row.failed[req])
        return f"**KILL** ({fams})" if named else f"**EXTRA FAIL** ({fams})"
    if named:
        return "no scenario" if req in row.unjudged else "**SURVIVES**"
    if req in row.shifted:
        return "*shift*" if req in row.declared_shifts else "**UNDECLARED SHIFT**"
    return ""


def markdown(matrix: KillMatrix) -> str:
    reqs = list(catalog())
    used = [
        r
        for r in reqs
        if any(r in row.breaks or r in row.failed or r in row.shifted for row in matrix.rows)
    ]
    lines = [
        "# Kill matrix (generated: `python -m harness.conformance.killmatrix --write "
        "docs/kill-matrix.md`)",
        "",
        "Every quirk of the reference phone (`harness/device/sim/quirks.py`) must make fail "
        "exactly the requirements it names. Per quirk the whole suite runs in its full family "
        "(the first family where a requirement it names applies): the requirements failing there "
        "and in the other families' runs of the named requirements' scenarios must be exactly "
        "the named ones, and every requirement the clean phone passes that turns inconclusive "
        "must be declared with its reason (`shifts`). **KILL** = the named requirement failed "
        "(families in brackets); **SURVIVES** = it did not fail anywhere; **EXTRA FAIL** = a "
        "requirement the quirk does not name failed; *shift* = pass -> inconclusive, declared; "
        "'no scenario' = no scenario judges it yet (not yet provable, not passed).",
        "",
        "## Clean phone",
        "",
        "| requirement | " + " | ".join(matrix.clean) + " |",
        "| --- | " + " | ".join("---" for _ in matrix.clean) + " |",
    ]
    for req in reqs:
        cells = []
        for fam in matrix.clean:
            v, why = matrix.clean[fam][req]
            text = v.value if v is Verdict.PASS else f"{v.value}: {why}"
            cells.append(text.replace("|", "/")[:90])
        lines.append(f"| {req} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Quirks",
        "",
        "| quirk | status | whole suite in | pass -> inconclusive (declared reason) |",
        "| --- | --- | --- | --- |",
    ]
    for row in matrix.rows:
        shifts = "; ".join(
            f"{r}: {row.declared_shifts.get(r, 'UNDECLARED')}" for r in sorted(row.shifted)
        )
        lines.append(
            f"| {row.quirk} | {row.status} | {row.full_family or '-'} | "
            f"{shifts.replace('|', '/') or '-'} |"
        )
    lines += ["", "## Quirks x requirements", ""]
    lines.append("| quirk | " + " | ".join(used) + " |")
    lines.append("| --- | " + " | ".join("---" for _ in used) + " |")
    for row in matrix.rows:
        lines.append(f"| {row.quirk} | " + " | ".join(_cell(row, r) for r in used) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the kill matrix (quirks x requirements)")
    parser.add_argument("--write", type=Path, help="write the Markdown table here")
    parser.add_argument("--json", type=Path, help="write the matrix as JSON here")
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="write report.html/report.json with the table"
    )
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    matrix = build(args.jobs)
    text = markdown(matrix)
    if args.write:
        args.write.write_text(text)
    if args.json:
        import json

        args.json.write_text(json.dumps(matrix.to_dict(), indent=2))
    if args.report:
        from harness.report.model import RunReport
        from harness.report.write import write_reports

        meta = {"title": "harness kill matrix", "name": "harness kill matrix"}
        write_reports(RunReport(meta=meta, kill_matrix=matrix.table()), args.report)
    if not args.write and not args.json and not args.report:
        print(text)
    bad = [r for r in matrix.rows if not r.ok]
    for r in bad:
        print(f"kill matrix: {r.quirk}: {r.status}", file=sys.stderr)
    for p in matrix.clean_problems():
        print(f"kill matrix: clean phone: {p}", file=sys.stderr)
    return 1 if bad or matrix.clean_problems() else 0


if __name__ == "__main__":
    sys.exit(main())
