"""The kill matrix: the clean phone passes (or skips with a reason) every requirement in every
family; every quirk, over the whole suite (on the virtual clock), fails exactly the
requirements it names and turns inconclusive exactly the ones it declares in `shifts`.
Quirks whose requirements no scenario judges yet are skipped as "not yet provable", never
passed. The whole-suite runs include the NAT scenarios, which make network namespaces."""

import pytest

from harness.conformance.killmatrix import (
    KillMatrix,
    QuirkRow,
    clean_verdicts,
    families,
    markdown,
    quirk_verdicts,
    run_quirk,
)
from harness.device.sim.quirks import QUIRKS
from harness.rules import Verdict

FAMILY = "cisco-8831-3pcc"


@pytest.mark.needs_root
@pytest.mark.parametrize("family", families())
def test_clean_phone_passes_or_skips_with_a_reason(family):
    verdicts = clean_verdicts(family)
    bad = {r: vw for r, vw in verdicts.items() if vw[0] not in (Verdict.PASS, Verdict.SKIPPED)}
    assert not bad, bad
    assert all(why for v, why in verdicts.values() if v is Verdict.SKIPPED)


@pytest.mark.needs_root
@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_quirk_fails_exactly_what_it_names(name):
    row = run_quirk(name)
    where = f"whole suite in {row.full_family}; named scenarios in {row.families[1:]}"
    assert not row.extra, f"{name} also fails {row.extra} ({where})"
    assert not row.survived, f"{name} does not fail {row.survived} in {row.verdicts}"
    assert not row.undeclared_shifts, (
        f"{name} turns these inconclusive without declaring it in its shifts: "
        f"{row.undeclared_shifts}"
    )
    assert not row.missing_shifts, f"{name} declares shifts the suite does not show: " + ", ".join(
        row.missing_shifts
    )
    if row.unjudged:
        pytest.skip(f"not yet provable: no scenario judges {', '.join(row.unjudged)}")
    assert set(row.failed) == set(row.breaks)
    assert row.ok


def test_every_declared_shift_has_a_reason():
    for q in QUIRKS.values():
        assert not set(q.shifts) & set(q.breaks), f"{q.name}: a shift that it also breaks"
        assert all(why.strip() for why in q.shifts.values()), q.name


@pytest.mark.needs_root
def test_quirk_verdicts_of_the_clean_phone_are_the_clean_verdicts():
    """The public entry point the twin uses: the whole suite, requirement -> verdict."""
    verdicts = quirk_verdicts((), FAMILY)
    assert {r: v for r, (v, _) in verdicts.items()} == {
        r: v for r, (v, _) in clean_verdicts(FAMILY).items()
    }


@pytest.mark.needs_root
def test_markdown_renders_a_real_run():
    row = run_quirk("srv-lookup", [FAMILY], full=False)
    assert row.failed == {"DNS-A-ONLY": [FAMILY]}
    clean = clean_verdicts(FAMILY)
    text = markdown(KillMatrix({FAMILY: clean}, [row]))
    assert "| srv-lookup | killed | - | - |" in text
    assert "**KILL** (8831-3pcc)" in text
    v, why = clean["UA-FORMAT"]
    assert f"| UA-FORMAT | {v.value if v is Verdict.PASS else v.value + ': '} " in text


def test_shift_statuses_and_cells():
    declared = QuirkRow(
        "q",
        ("SYSLOG-REQUEST",),
        [],
        [],
        {"SYSLOG-REQUEST": [FAMILY]},
        full_family=FAMILY,
        shifted={"SYSLOG-MACROS": "no message to judge"},
        declared_shifts={"SYSLOG-MACROS": "no syslog message to judge"},
    )
    assert declared.status == "killed" and declared.ok
    undeclared = QuirkRow(
        "q", ("SYSLOG-REQUEST",), [], [], {"SYSLOG-REQUEST": [FAMILY]}, full_family=FAMILY,
        shifted={"SYSLOG-MACROS": "no message to judge"},
    )  # fmt: skip
    assert undeclared.status == "undeclared shift to inconclusive: SYSLOG-MACROS"
    assert not undeclared.ok
    stale = QuirkRow(
        "q", ("SYSLOG-REQUEST",), [], [], {"SYSLOG-REQUEST": [FAMILY]}, full_family=FAMILY,
        declared_shifts={"SYSLOG-MACROS": "no syslog message to judge"},
    )  # fmt: skip
    assert stale.status == "declared shift not seen: SYSLOG-MACROS" and not stale.ok
    text = markdown(KillMatrix({}, [declared, undeclared]))
    assert "| q | killed | cisco-8831-3pcc | SYSLOG-MACROS: no syslog message to judge |" in text
    assert "*shift*" in text and "**UNDECLARED SHIFT**" in text
