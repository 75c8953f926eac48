"""DNS failover and TFTP scenarios on the lab: the clean simulated phone passes them in every
family, and each quirk fails exactly the requirements it names."""

import pytest

from harness.conformance.scenario import scenarios
from harness.device.sim.quirks import QUIRKS
from harness.rules import Verdict
from harness.spec.family import family_names
from tests.conformance.sim_runs import verdicts

SCENARIOS = ["dns-failover", "dns-all-down", "factory-tftp", "tftp-resync-upgrade"]


@pytest.mark.parametrize("family", family_names())
@pytest.mark.parametrize("name", SCENARIOS)
async def test_clean_phone_passes(name, family):
    got = await verdicts(name, family)
    assert set(got) == set(scenarios()[name].requirements)
    assert all(v is Verdict.PASS for v, _ in got.values()), got


@pytest.mark.parametrize(
    ("name", "quirk", "fails"),
    [
        ("dns-failover", "no-failover", {"DNS-FAILOVER"}),
        ("dns-failover", "silent-syslog", set()),
        ("dns-all-down", "silent-syslog", {"DNS-ALL-DOWN"}),
        ("dns-all-down", "no-failover", set()),
        ("factory-tftp", "tftp-ignore-option-66", {"TFTP-DHCP66"}),
        ("factory-tftp", "wrong-default-rule", {"TFTP-DEFAULT-RULE"}),
        ("factory-tftp", "no-tftp-upgrade", set()),
        ("tftp-resync-upgrade", "no-tftp-upgrade", {"TFTP-RESYNC"}),
        ("tftp-resync-upgrade", "wrong-default-rule", set()),
    ],
)
async def test_quirk_fails_exactly_what_it_breaks(name, quirk, fails):
    assert fails <= set(QUIRKS[quirk].breaks)
    got = await verdicts(name, quirks=(quirk,))
    assert {r for r, (v, _) in got.items() if v is Verdict.FAIL} == fails, got


async def test_spa_default_rule_is_its_family_file_rule():
    got = await verdicts("factory-tftp", "cisco-spa")
    assert "/spa525G.cfg" in got["TFTP-DEFAULT-RULE"][1]


async def test_all_down_failure_names_the_template():
    got = await verdicts("dns-all-down", quirks=("silent-syslog",))
    verdict, why = got["DNS-ALL-DOWN"]
    assert verdict is Verdict.FAIL and "Log_Failure_Msg" in why and "127.0.0.2" in why
