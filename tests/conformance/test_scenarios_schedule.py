"""Scheduling, upgrade and preprovisioning scenarios: the clean simulated phone passes them
in every family (UPGRADE-PROTO is skipped where the family allows HTTPS firmware), and each
quirk fails exactly the requirements it names."""

import pytest

from harness.conformance.scenario import scenarios
from harness.device.sim.quirks import QUIRKS
from harness.rules import Verdict
from harness.spec.family import family_names, load_family
from tests.conformance.sim_runs import verdicts

SCENARIOS = [
    "resync-schedule",
    "resync-idle",
    "upgrade-https",
    "upgrade-multistage",
    "preprovision-redirect",
    "preprovision-profile-rule-b",
]


@pytest.mark.parametrize("family", family_names())
@pytest.mark.parametrize("name", SCENARIOS)
async def test_clean_phone_passes(name, family):
    got = await verdicts(name, family)
    assert set(got) == set(scenarios()[name].requirements)
    for req, (verdict, why) in got.items():
        if req == "UPGRADE-PROTO" and load_family(family).upgrade_https_allowed:
            assert verdict is Verdict.SKIPPED and "allows firmware over HTTPS" in why
        else:
            assert verdict is Verdict.PASS, (req, why)


@pytest.mark.parametrize(
    ("name", "quirk", "fails"),
    [
        ("resync-schedule", "no-powerup-resync", {"RESYNC-POWERUP"}),
        ("resync-schedule", "no-periodic-resync", {"RESYNC-PERIODIC"}),
        ("resync-schedule", "resync-during-call", set()),
        ("resync-idle", "resync-during-call", {"RESYNC-IDLE"}),
        ("resync-idle", "no-periodic-resync", set()),
        ("resync-idle", "no-powerup-resync", set()),
        ("upgrade-https", "https-firmware", {"UPGRADE-PROTO"}),
        ("upgrade-https", "upgrade-skip-stages", set()),
        ("upgrade-multistage", "upgrade-skip-stages", {"UPGRADE-MULTISTAGE"}),
        ("upgrade-multistage", "https-firmware", set()),
        ("preprovision-redirect", "keep-profile-rule", {"REDIRECT-PREPROV"}),
        ("preprovision-redirect", "ignore-profile-rule-b", set()),
        ("preprovision-profile-rule-b", "keep-profile-rule", {"REDIRECT-PREPROV"}),
        ("preprovision-profile-rule-b", "ignore-profile-rule-b", {"REDIRECT-PREPROV"}),
    ],
)
async def test_quirk_fails_exactly_what_it_breaks(name, quirk, fails):
    assert fails <= set(QUIRKS[quirk].breaks)
    got = await verdicts(name, quirks=(quirk,))
    assert {r for r, (v, _) in got.items() if v is Verdict.FAIL} == fails, got


async def test_findings_say_the_delays_seen_and_expected():
    got = await verdicts("resync-schedule", quirks=("no-powerup-resync",))
    verdict, why = got["RESYNC-POWERUP"]
    assert verdict is Verdict.FAIL
    assert "3600 s after power-up" in why and "0..40 s" in why and "x 20 s" in why
    verdict, why = got["RESYNC-PERIODIC"]
    assert "Resync_Periodic=1800" in why  # the value the served profile set, not 3600


async def test_https_firmware_passes_on_a_family_that_allows_it():
    got = await verdicts("upgrade-https", "cisco-mpp", quirks=("https-firmware",))
    assert got["UPGRADE-PROTO"][0] is Verdict.SKIPPED
