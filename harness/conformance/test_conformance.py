"""The conformance suite: one test per (device, requirement, scenario that judges it).

Run by `harness conform` (pytest with `-p harness.conformance.suite`). Each
test runs its scenario against the configured device (once per device; the
other requirements of the same scenario reuse the outcome; the run is captured
once by the suite plugin, harness.conformance.wire), and asserts
with the findings: a fail fails the test with the finding's sentence; skipped
or inconclusive skip it with the reason (never a pass); a requirement no
scenario judges is skipped "no scenario yet". No judging here: the rules judge.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.conformance.results import store_outcome
from harness.conformance.runner import NO_SCENARIO_WHY, ScenarioCache, judge
from harness.conformance.suite import RESULT_KEY, Case, ConformConfig, cases, load_config
from harness.rules.finding import Verdict


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", cases(load_config(metafunc.config)))


def test_requirement(
    case: Case,
    conform_config: ConformConfig,
    conform_cache: ScenarioCache,
    request: pytest.FixtureRequest,
    record_property: pytest.RecordProperty,
) -> None:
    record_property("requirement", case.requirement)
    record_property("device", case.device.name)
    record_property("scenario", case.scenario_name)
    base = {
        "requirement": case.requirement,
        "scenario": case.scenario_name,
        "device": case.device.name,
        "description": case.device.describe(),
    }
    if case.scenario is None:
        request.node.user_properties.append(
            (RESULT_KEY, {**base, "verdict": "skipped", "why": NO_SCENARIO_WHY})
        )
        pytest.skip(NO_SCENARIO_WHY)
    spec, sc = case.device, case.scenario
    notes: list[str] = []
    fresh = not conform_cache.seen(spec, sc)
    if fresh:
        try:
            outcome = conform_cache.outcome(spec, sc)
        except Exception as exc:  # the device or the lab broke: say so, as a failure
            why = f"the scenario {sc.name} could not run: {type(exc).__name__}: {exc}"
            request.node.user_properties.append(
                (RESULT_KEY, {**base, "verdict": "fail", "why": why})
            )
            pytest.fail(why, pytrace=False)
        store_outcome(conform_config.workdir, spec.name, outcome)
        ident = conform_config.workdir / "identity" / f"{spec.name}.json"
        ident.parent.mkdir(parents=True, exist_ok=True)
        identity = conform_cache.device(spec).identity
        ident.write_text(json.dumps(dataclasses.asdict(identity)))
    outcome = conform_cache.outcome(spec, sc)
    result = judge(case.requirement, outcome, spec.name)
    why = result.why + (f" (note: {'; '.join(notes)})" if notes else "")
    request.node.user_properties.append(
        (RESULT_KEY, {**base, "verdict": result.verdict.value, "why": why})
    )
    if result.verdict is Verdict.FAIL:
        frames = sorted({n for f in result.findings for n in f.frames})
        where = f" [frames {', '.join(map(str, frames[:20]))}]" if frames else ""
        pytest.fail(f"{case.requirement} on {spec.describe()}: {why}{where}", pytrace=False)
    if result.verdict is not Verdict.PASS:
        pytest.skip(f"{result.verdict.value}: {why}")
