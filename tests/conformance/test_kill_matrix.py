"""The kill matrix: the clean phone passes (or skips with a reason) every requirement in every
family; every quirk fails exactly the requirements it names in the scenarios run for it
(those of its requirements plus the smoke set). Quirks whose requirements no scenario judges
yet are skipped as "not yet provable", never passed."""

import pytest

from harness.conformance.killmatrix import KillMatrix, clean_verdicts, families, markdown, run_quirk
from harness.device.sim.quirks import QUIRKS
from harness.rules import Verdict
from harness.spec import catalog


@pytest.mark.parametrize("family", families())
def test_clean_phone_passes_or_skips_with_a_reason(family):
    verdicts = clean_verdicts(family)
    bad = {r: vw for r, vw in verdicts.items() if vw[0] not in (Verdict.PASS, Verdict.SKIPPED)}
    assert not bad, bad
    assert all(why for v, why in verdicts.values() if v is Verdict.SKIPPED)


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_quirk_fails_exactly_what_it_names(name):
    row = run_quirk(name)
    assert not row.extra, f"{name} also fails {row.extra} (scenarios run: {row.scenarios})"
    assert not row.survived, f"{name} does not fail {row.survived} in {row.verdicts}"
    if row.unjudged:
        pytest.skip(f"not yet provable: no scenario judges {', '.join(row.unjudged)}")
    assert set(row.failed) == set(row.breaks)


def test_markdown_table_names_every_quirk_and_marks_kills():
    row = run_quirk("srv-lookup", ["cisco-8831-3pcc"])
    clean = {r: (Verdict.SKIPPED, "not run here") for r in catalog()}
    clean["DNS-A-ONLY"] = (Verdict.PASS, "")
    text = markdown(KillMatrix({"cisco-8831-3pcc": clean}, [row]))
    assert "| srv-lookup | killed |" in text
    assert "**KILL** (8831-3pcc)" in text
    assert "| DNS-A-ONLY | pass |" in text
