"""`harness analyze captures/<each>` gives the verdicts captures/README.md promises.

The table in captures/README.md is the source: each row's command is run as a
user runs it (the CLI in a subprocess, from the repository root, with JSON
output added) and every verdict of its last column is checked. The expected
verdicts come from the spec, never from what the analyzer prints today: where
today's analyzer disagrees because of a known gap that another branch is
closing, the case is listed in KNOWN_ANALYZER_GAPS with the reason, and runs as a
strict xfail (so it fails loudly, and the lead shrinks the list, once the gap
is closed).
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import harness

TREE = Path(harness.__file__).resolve().parent.parent
CAPTURES = TREE / "captures"

# (capture, rule) -> why today's analyzer disagrees with the spec
KNOWN_ANALYZER_GAPS: dict[tuple[str, str], str] = {}


def readme_rows() -> list[tuple[str, list[str], dict[str, str]]]:
    """(capture, argv after `harness`, {rule: verdict}) for each row of captures/README.md."""
    rows = []
    for line in (CAPTURES / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        capture = cells[0].strip("`")
        (command,) = re.findall(r"`(harness analyze [^`]+)`", cells[2])
        expected = dict(item.rsplit(" ", 1) for item in cells[3].split(", "))
        rows.append((capture, shlex.split(command)[1:], expected))
    return rows


ROWS = readme_rows()


@functools.cache
def analyze(capture: str) -> dict[str, str]:
    """{rule: verdict} of the README's command for `capture` (one run per capture)."""
    (argv,) = [argv for name, argv, _ in ROWS if name == capture]
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv, "--format", "json", "--no-progress"],
        cwd=TREE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    verdicts: dict[str, set[str]] = {}
    for finding in report["findings"]:
        verdicts.setdefault(finding["rule"], set()).add(finding["verdict"])
    # several devices or findings per rule: a fail anywhere is the rule's verdict
    order = ("fail", "pass", "inconclusive", "skipped")
    return {rule: min(vs, key=order.index) for rule, vs in verdicts.items()}


def test_readme_lists_every_capture() -> None:
    listed = {name for name, _, _ in ROWS}
    on_disk = {p.name for p in CAPTURES.glob("*.pcap*")}
    assert listed == on_disk and len(listed) >= 7
    for name in on_disk:
        assert (CAPTURES / name).stat().st_size < 64 * 1024, f"{name} is not small"


def _cases() -> list:
    cases = []
    for capture, _, expected in ROWS:
        for rule, verdict in expected.items():
            gap = KNOWN_ANALYZER_GAPS.get((capture, rule))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            cases.append(pytest.param(capture, rule, verdict, marks=marks, id=f"{capture}:{rule}"))
    return cases


@pytest.mark.parametrize(("capture", "rule", "verdict"), _cases())
def test_capture_verdict(capture: str, rule: str, verdict: str) -> None:
    assert verdict in ("pass", "fail", "inconclusive", "skipped"), f"README: {verdict!r}"
    got = analyze(capture)
    assert got.get(rule) == verdict, (
        f"{capture}: {rule} is {got.get(rule)}, the spec says {verdict}"
    )


def test_known_gaps_name_real_rows() -> None:
    expected = {(c, r) for c, _, exp in ROWS for r in exp}
    assert set(KNOWN_ANALYZER_GAPS) <= expected
