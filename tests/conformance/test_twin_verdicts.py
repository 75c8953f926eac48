"""The twin check (issue 11): every scenario's verdict from its own pcap equals the live verdict.

The whole suite runs on the clean simulated phone inside one run capture
(harness.conformance.wire), each scenario's pcap is cut out and retimed, and
`harness analyze --scenario`'s judging (harness.analyze.scenario.rejudge)
re-judges it. Then every quirk of the kill matrix runs the scenarios the kill
matrix names for it (`killmatrix.named_scenarios`), in the first family where
what it breaks applies, and must be caught from its pcaps as it is live.

Accepted differences, and only these:
* `twin.NOT_ON_WIRE` (docs/twin-check.md): the evidence is not in the capture; the
  pcap verdict must then be inconclusive;
* `KNOWN_ANALYZER_GAPS` below: the pcap analyzer's known gaps, each fixed on another
  branch; the lead removes entries as those branches merge. A listed pair that agrees
  passes (the entry is then stale: remove it).
Needs root (a live capture on lo); skipped with the reason otherwise.
"""

from __future__ import annotations

import shutil

import pytest

from harness.conformance import twin
from harness.conformance.killmatrix import named_scenarios
from harness.conformance.runner import DeviceSpec
from harness.conformance.scenario import scenarios
from harness.conformance.wire import run_captured
from harness.device.sim.quirks import QUIRKS, quirk
from harness.spec.catalog import catalog
from harness.spec.family import family_names

FAMILY = "cisco-8831-3pcc"

# (scenario, requirement) -> (why the pcap analyzer disagrees today, the branch that fixes it)
KNOWN_ANALYZER_GAPS: dict[tuple[str, str], tuple[str, str]] = {}


def _need_capture() -> None:
    if shutil.which("dumpcap") is None and shutil.which("tcpdump") is None:
        pytest.skip("no capture tool (dumpcap or tcpdump)")


def _check(rec: twin.ScenarioRecord) -> list[str]:
    """What is wrong with one record's twin verdicts (empty: they agree)."""
    problems = []
    assert rec.capture is not None and rec.capture.is_file(), f"{rec.name}: no pcap ({rec.note})"
    for req, live in rec.verdicts.items():
        pcap = rec.pcap_verdicts.get(req, "missing")
        if live == "skipped":
            continue
        if req in rec.not_on_wire:
            if pcap != "inconclusive":
                problems.append(f"{req}: not on the wire, yet the pcap says {pcap}")
            continue
        if pcap == live:
            continue
        gap = KNOWN_ANALYZER_GAPS.get((rec.name, req))
        if gap is None:
            problems.append(f"{req}: live {live}, pcap {pcap}")
    return problems


@pytest.fixture(scope="module")
def clean_records(tmp_path_factory):
    _need_capture()
    spec = DeviceSpec(name="sim", family=FAMILY)
    run = run_captured(spec, tmp_path_factory.mktemp("twin-clean"))
    if run.notes:
        pytest.skip(f"no run capture: {'; '.join(run.notes)}")
    return {r.name: r for r in twin.twin_records(run, spec)}


def _scenario_names() -> list[str]:
    return sorted(s.name for s in scenarios().values() if s.applies_to(FAMILY))


@pytest.mark.parametrize("name", _scenario_names())
def test_clean_phone_pcap_verdict_equals_live_verdict(clean_records, name):
    rec = clean_records.get(name)
    if rec is None:
        pytest.skip(f"{name} did not run on the simulated phone (skipped, no traffic)")
    problems = _check(rec)
    assert not problems, f"{name} ({rec.capture}): " + "; ".join(problems)
    # the pcap really holds the scenario: frames, and the device's own address only
    if not rec.not_on_wire:
        assert rec.frames > 0, f"{name}: empty pcap"


def test_not_on_wire_is_short_and_each_reason_is_given():
    listed = [(s, r, why) for s, reqs in twin.NOT_ON_WIRE.items() for r, why in reqs.items()]
    assert len(listed) <= 6
    assert all(why.strip() for _, _, why in listed)
    known = scenarios()
    assert all(s in known and r in known[s].requirements for s, r, _ in listed)


def _family_for(name: str) -> str:
    breaks = quirk(name).breaks
    for fam in [FAMILY, *sorted(family_names())]:
        if any(catalog()[r].applies_to(fam) for r in breaks):
            return fam
    return FAMILY


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_quirk_is_caught_from_its_pcap_as_it_is_live(tmp_path, name):
    _need_capture()
    fam = _family_for(name)
    spec = DeviceSpec(name=name, family=fam, quirks=(name,))
    run = run_captured(spec, tmp_path, scenario_names=named_scenarios(name))
    if run.notes:
        pytest.skip(f"no run capture: {'; '.join(run.notes)}")
    records = twin.twin_records(run, spec)
    problems = [f"{r.name}: {p}" for r in records for p in _check(r)]
    assert not problems, f"quirk {name} ({fam}): " + "; ".join(problems)
    live_fail = {req for r in records for req, v in r.verdicts.items() if v == "fail"}
    pcap_fail = {req for r in records for req, v in r.pcap_verdicts.items() if v == "fail"}
    gaps = {req for (_, req) in KNOWN_ANALYZER_GAPS}
    assert live_fail - gaps <= pcap_fail, f"caught live, not from the pcap: {live_fail - pcap_fail}"
