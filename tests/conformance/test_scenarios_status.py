"""Table 3-1 scenarios: the clean simulated phone passes every row in every family; each quirk
that names a row fails exactly what it names there (the kill matrix for these IDs)."""

import pytest

from harness.conformance.scenario import scenarios
from harness.device.sim.quirks import QUIRKS
from harness.rules import Verdict
from harness.spec import family_names
from harness.spec.status_table import all_status_rows, all_transport_rows
from tests.conformance.sim_runs import run_sim

TABLE_IDS = {r.requirement for r in (*all_status_rows(), *all_transport_rows())}
TABLE_IDS = {r for r in TABLE_IDS if r.startswith("HTTP-")}


def table_scenarios():
    import harness.conformance.scenarios.http_status as mod

    return [s for s in scenarios().values() if s.run.__module__ == mod.__name__]


async def verdicts(name, family="cisco-8831-3pcc", quirks=()):
    out = await run_sim(name, family, quirks)
    return {f.rule: f.verdict for f in out.findings}, out


def test_every_table_requirement_has_a_scenario():
    covered = {r for s in table_scenarios() for r in s.requirements}
    assert covered == TABLE_IDS
    assert {"http-404", "http-4xx", "http-401-accepted", "http-timeout"} <= set(scenarios())


@pytest.mark.parametrize("family", family_names())
@pytest.mark.parametrize("name", sorted(s.name for s in table_scenarios()))
async def test_clean_phone_passes(name, family):
    got, out = await verdicts(name, family)
    assert got and all(v is Verdict.PASS for v in got.values()), (got, out.findings)


QUIRKS_HERE = sorted(q.name for q in QUIRKS.values() if set(q.breaks) & TABLE_IDS)


@pytest.mark.parametrize("quirk", QUIRKS_HERE)
async def test_quirk_fails_exactly_what_it_names(quirk):
    """Every row the quirk names fails in some scenario of the row; nothing else fails."""
    named = set(QUIRKS[quirk].breaks)
    failed: set[str] = set()
    for sc in table_scenarios():
        if not named & set(sc.requirements):
            continue
        got, out = await verdicts(sc.name, quirks=(quirk,))
        fails = {r for r, v in got.items() if v is Verdict.FAIL}
        assert fails <= named, (sc.name, out.findings)
        failed |= fails
    assert failed == named & TABLE_IDS


def test_every_table_requirement_is_killed_by_a_quirk():
    assert {r for q in QUIRKS_HERE for r in QUIRKS[q].breaks} >= TABLE_IDS


async def test_no_auth_retry_fails_even_when_the_credentials_are_right():
    got, _ = await verdicts("http-401-accepted", quirks=("no-auth-retry",))
    assert got == {"HTTP-401": Verdict.FAIL}


@pytest.mark.parametrize(
    "quirk", ["follow-any-redirect", "retry-5xx-immediately", "accept-corrupt-profile"]
)
async def test_new_quirks_leave_the_other_rows_alone(quirk):
    for name in ("http-404", "http-301", "http-200"):
        got, _ = await verdicts(name, quirks=(quirk,))
        assert all(v is Verdict.PASS for v in got.values()), (quirk, name, got)
