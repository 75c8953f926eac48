"""The TLS scenarios: the clean simulated phone passes in every family; each quirk fails
exactly the requirements it names, and no other TLS requirement."""

import pytest

from harness.conformance.scenario import run_scenario, scenarios
from harness.device.sim.quirks import QUIRKS
from harness.device.sim_device import SimDevice
from harness.rules import Verdict
from tests.conformance.sim_runs import run_sim

FAMILIES = ["cisco-8831-3pcc", "cisco-spa", "cisco-mpp"]
TLS_SCENARIOS = sorted(n for n, s in scenarios().items() if s.run.__module__.endswith(".tls"))
TLS_REQUIREMENTS = {r for n in TLS_SCENARIOS for r in scenarios()[n].requirements}
TLS_QUIRKS = sorted(q.name for q in QUIRKS.values() if set(q.breaks) & TLS_REQUIREMENTS)


async def verdicts(name, family="cisco-8831-3pcc", *quirks, **device):
    out = await run_sim(name, family, quirks, **device)
    assert out.findings, f"{name}: no findings"
    return {f.rule: (f.verdict, f.why) for f in out.findings}


def test_every_tls_requirement_has_a_scenario_and_a_quirk():
    expected = {
        "TLS-CIPHERS", "TLS-NEGOTIATE", "TLS-SERVER-CA", "TLS-SERVER-CN", "TLS-CN-SUFFIX",
        "TLS-DNS-MATCH", "TLS-CLIENT-CERT", "TLS-GENERIC-CERT", "MACRO-CCERT",
    }  # fmt: skip
    assert expected == TLS_REQUIREMENTS
    named = {r for q in TLS_QUIRKS for r in QUIRKS[q].breaks}
    assert expected <= named


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", TLS_SCENARIOS)
async def test_clean_phone_passes(name, family):
    got = await verdicts(name, family)
    for rule, (verdict, why) in got.items():
        assert verdict is Verdict.PASS, f"{rule}: {verdict} {why}"


@pytest.mark.parametrize("family", FAMILIES)
async def test_unit_without_its_own_certificate_presents_the_generic_one(family):
    got = await verdicts("tls-generic-client-certificate", family, individual_cert=False)
    assert got["TLS-GENERIC-CERT"][0] is Verdict.PASS, got


async def test_a_device_that_cannot_drop_its_certificate_skips_the_generic_scenario():
    class RealPhoneLike(SimDevice):
        capabilities = SimDevice.capabilities - {"generic-cert-unit"}

    out = await run_scenario(scenarios()["tls-generic-client-certificate"], RealPhoneLike())
    ((verdict, why),) = [(f.verdict, f.why) for f in out.findings]
    assert verdict is Verdict.SKIPPED and "generic-cert-unit" in why


def _target(quirk):
    return [
        n for n in TLS_SCENARIOS if set(scenarios()[n].requirements) & set(QUIRKS[quirk].breaks)
    ]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("quirk", TLS_QUIRKS)
async def test_quirk_fails_what_it_names_in_its_scenarios(quirk, family):
    for name in _target(quirk):
        got = await verdicts(name, family, quirk)
        failed = {r for r, (v, _) in got.items() if v is Verdict.FAIL}
        assert failed == set(QUIRKS[quirk].breaks) & set(got), (name, got)


@pytest.mark.parametrize("name", TLS_SCENARIOS)
async def test_no_quirk_fails_a_tls_requirement_it_does_not_name(name):
    for quirk in TLS_QUIRKS:
        if name in _target(quirk):
            continue
        got = await verdicts(name, "cisco-8831-3pcc", quirk)
        failed = {r for r, (v, _) in got.items() if v is Verdict.FAIL}
        assert not failed, (quirk, got)


async def test_why_names_the_variant_and_the_suite():
    verdict, why = (await verdicts("tls-wrong-cn", "cisco-8831-3pcc", "accept-wrong-cn"))[
        "TLS-SERVER-CN"
    ]
    assert verdict is Verdict.FAIL and "wrong-cn" in why and "TLS_" in why
