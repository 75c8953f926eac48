"""Scenarios on the NAT simulation: TFTP-NAT reproduced with stock clients, and seed 000's
preprovisioning (DHCP 66 -> LAN TFTP -> remote HTTPS through symmetric NAT) with the
simulated phone placed in the LAN; quirks fail what they name there too."""

import pytest

from harness.conformance.scenario import run_scenario, scenarios
from harness.device.sim_device import SimDevice
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity
from harness.spec.family import load_family

pytestmark = [pytest.mark.needs_root]


async def findings(name, quirks=()):
    out = await run_scenario(scenarios()[name], SimDevice(quirks=quirks))
    return {f.rule: f for f in out.findings}, out


async def test_tftp_fails_and_http_works_behind_symmetric_nat(needs_netns):
    got, out = await findings("tftp-through-nat")
    f = got["TFTP-NAT"]
    assert f.verdict is Verdict.PASS, f.why
    assert "symmetric NAT" in f.why and "HTTP" in f.why


async def test_seed_000_preprovisioning_through_nat(needs_netns):
    got, out = await findings("preprovision-through-nat")
    assert {r: f.verdict for r, f in got.items()} == {
        "TFTP-DHCP66": Verdict.PASS,
        "TFTP-DEFAULT-RULE": Verdict.PASS,
        "REDIRECT-PREPROV": Verdict.PASS,
    }, {r: f.why for r, f in got.items()}
    assert "192.0.2.2" in got["TFTP-DHCP66"].why  # the real DHCP server's option 66
    https = [o for o in out.observations if getattr(o, "scheme", None) == "https"]
    assert https and all(o.client[0] == "203.0.113.1" for o in https)  # through the NAT


async def test_preprovisioning_quirk_fails_only_its_requirement(needs_netns):
    got, _ = await findings("preprovision-through-nat", quirks=("keep-profile-rule",))
    assert {r for r, f in got.items() if f.verdict is Verdict.FAIL} == {"REDIRECT-PREPROV"}


class RemotePhone:
    """A device the harness cannot move into a namespace (as a real phone)."""

    family = load_family("cisco-8831-3pcc")
    description = "a phone on the bench"
    capabilities = frozenset()
    identity = DeviceIdentity(product="CP-8831-3PCC", serial="X1", mac="000e08aabbcc")

    async def stop(self):
        return None


async def test_a_phone_that_cannot_be_placed_is_skipped_with_the_reason(needs_netns):
    out = await run_scenario(scenarios()["preprovision-through-nat"], RemotePhone())
    assert {f.verdict for f in out.findings} == {Verdict.SKIPPED}
    assert all("simulated phone" in f.why for f in out.findings)
