"""Running one registered scenario against the simulated phone, for the scenario tests."""

from __future__ import annotations

from harness.conformance.scenario import ScenarioOutcome, run_scenario, scenarios
from harness.device.sim_device import SimDevice
from harness.rules import Verdict


async def run_sim(
    name: str, family: str = "cisco-8831-3pcc", quirks: tuple[str, ...] = (), **device: object
) -> ScenarioOutcome:
    """Scenario `name` against a `SimDevice(family, quirks=quirks, **device)`."""
    return await run_scenario(scenarios()[name], SimDevice(family, quirks=quirks, **device))


async def verdicts(
    name: str, family: str = "cisco-8831-3pcc", quirks: tuple[str, ...] = ()
) -> dict[str, tuple[Verdict, str]]:
    """{requirement: (verdict, why)} of scenario `name`."""
    out = await run_sim(name, family, quirks)
    return {f.rule: (f.verdict, f.why) for f in out.findings}
