"""Scenarios for when a device resyncs and how it upgrades, and for preprovisioning.

resync-schedule (RESYNC-POWERUP, RESYNC-PERIODIC), resync-idle (RESYNC-IDLE,
with calls), upgrade-https (UPGRADE-PROTO), upgrade-multistage
(UPGRADE-MULTISTAGE), preprovision-redirect and preprovision-profile-rule-b
(REDIRECT-PREPROV). Also the time helpers other scenario modules use
(`wait_for`, `pass_time`): they let lab time pass with the device running, so on
a virtual clock hours take milliseconds. Arranging and facts only: the rules
in harness.rules.schedule_rules judge.
"""

from __future__ import annotations

import asyncio

from harness.conformance.scenario import ScenarioRun, scenario
from harness.device.base import CALLS, UPGRADE
from harness.profiles import render_xml_profile
from harness.spec.macros import expand, product_series_number

NEVER = 10**9  # an attempt count no device reaches: "just let time pass"


async def wait_for(run: ScenarioRun, attempts: int, seconds: float) -> bool:
    """Wait until the device made `attempts` attempts in all; else let `seconds` pass in full."""
    until = run.lab.clock.now() + seconds
    reached = await run.wait_attempts(attempts, timeout=seconds)
    if not reached:
        left = until - run.lab.clock.now()
        if left > 0:  # the device has nothing due before `until`: the time passes idle
            await run.lab.clock.sleep(left)
    return reached


async def pass_time(run: ScenarioRun, seconds: float) -> None:
    """Let `seconds` of lab time pass with the device running."""
    await wait_for(run, NEVER, seconds)


async def set_call(run: ScenarioRun, active: bool) -> float:
    """Start or end a call; returns the lab time it happened at."""
    at = run.lab.clock.now()
    await run.device.set_call(active)
    await asyncio.sleep(0.01)  # let the device take the event before time moves on
    return at


def product_of(run: ScenarioRun) -> str:
    return run.device.identity.product or run.family.default_product


def factory_profile_path(run: ScenarioRun) -> str:
    """The path the family's factory Profile_Rule names for this device (`/CP-8831-3PCC.cfg`)."""

    ident, product = run.device.identity, product_of(run)
    mac = (ident.mac or "").lower().replace(":", "")
    values = {"PN": product, "PSN": product_series_number(product), "MA": mac}
    values.update(MAU=mac.upper(), SN=ident.serial or "")
    return expand(run.family.default("Profile_Rule"), values)


def http_url(run: ScenarioRun, path: str) -> str:
    return f"http://{run.lab.http.host}:{run.lab.http.port}{path}"


def firmware_image(version: str) -> bytes:
    """A firmware image as the harness serves it: a `version=` line, then filler."""
    return f"version={version}\n".encode() + b"\0" * 2048


@scenario("RESYNC-POWERUP", "RESYNC-PERIODIC", name="resync-schedule")
async def scenario_resync_schedule(run: ScenarioRun) -> None:
    """Power-up, then periodic resyncs at the interval the served profile sets (1800 s)."""
    lab, product = run.lab, product_of(run)
    served = {"Resync_Periodic": "1800"}
    lab.put(f"{product}.cfg", render_xml_profile(served))
    run.facts["profile_parameters"] = served
    run.facts["power_up_time"] = lab.clock.now()
    await run.provision(Profile_Rule=http_url(run, "/$PN.cfg"))
    await wait_for(run, 4, 4 * 1800 + 600)
    run.facts["observed_until"] = lab.clock.now()


@scenario("RESYNC-IDLE", name="resync-idle", needs=[CALLS])
async def scenario_resync_idle(run: ScenarioRun) -> None:
    """A resync falls due during a call (released when it ends), and during a call longer
    than Forced_Resync_Delay (forced then)."""
    lab, product = run.lab, product_of(run)
    lab.put(f"{product}.cfg", render_xml_profile({"Resync_Periodic": "3600"}))
    await run.provision(
        Profile_Rule=http_url(run, "/$PN.cfg"),
        Resync_Periodic="3600",
        Resync_Random_Delay="0",
        Forced_Resync_Delay="14400",
    )
    await wait_for(run, 1, 600)
    calls = []
    start = await set_call(run, True)
    await pass_time(run, 7200)  # the periodic resync falls due an hour into the call
    calls.append((start, await set_call(run, False)))
    await wait_for(run, 2, 600)  # the held resync runs now
    start = await set_call(run, True)
    await pass_time(run, 3600 + 14400 + 1200)  # due after an hour, forced 14400 s later
    calls.append((start, await set_call(run, False)))
    await wait_for(run, 4, 3600)
    run.facts["calls"] = calls


@scenario("UPGRADE-PROTO", name="upgrade-https", needs=[UPGRADE])
async def scenario_upgrade_https(run: ScenarioRun) -> None:
    """The Upgrade_Rule names an HTTPS server: where the family forbids it, no HTTPS fetch."""
    lab, product = run.lab, product_of(run)
    lab.put(f"{product}.cfg", render_xml_profile({"Resync_Periodic": "3600"}))
    image = f"/fw/{product}-2.0.0.loads"
    lab.put(image, firmware_image("2.0.0"))
    run.facts["firmware_paths"] = [image]
    await run.provision(
        Profile_Rule=http_url(run, "/$PN.cfg"),
        Upgrade_Rule=f"https://{lab.fqdn}:{lab.https.port}{image}",
        Resync_Random_Delay="0",
    )
    await wait_for(run, 4, 2 * 3600)


@scenario("UPGRADE-MULTISTAGE", name="upgrade-multistage", needs=[UPGRADE])
async def scenario_upgrade_multistage(run: ScenarioRun) -> None:
    """From 1.x the Upgrade_Rule leads through 2.0.0 to 3.0.0 by conditions on $SWVER."""
    lab, product = run.lab, product_of(run)
    lab.put(f"{product}.cfg", render_xml_profile({"Resync_Periodic": "3600"}))
    stages = [f"/fw/{product}-2.0.0.loads", f"/fw/{product}-3.0.0.loads"]
    lab.put(stages[0], firmware_image("2.0.0"))
    lab.put(stages[1], firmware_image("3.0.0"))
    run.facts["upgrade_stages"] = stages
    run.facts["firmware_paths"] = stages
    await run.provision(
        Profile_Rule=http_url(run, "/$PN.cfg"),
        Upgrade_Rule=f"($SWVER lt 2.0.0)? {http_url(run, stages[0])} | {http_url(run, stages[1])}",
        Resync_Random_Delay="0",
    )
    await wait_for(run, 6, 3 * 3600)


async def _preprovision(run: ScenarioRun, remote_param: str) -> None:
    lab = run.lab
    mac = (run.device.identity.mac or "").lower().replace(":", "")
    pre, remote = f"/preprov/{mac}.cfg", f"/remote/{mac}.cfg"
    points = {remote_param: http_url(run, "/remote/$MA.cfg"), "Resync_Periodic": "3600"}
    lab.put(pre, render_xml_profile(points))
    lab.put(remote, render_xml_profile({"Resync_Periodic": "3600"}))
    run.facts.update(preprovision_path=pre, remote_path=remote)
    await run.provision(
        Profile_Rule=f"tftp://{lab.tftp.host}:{lab.tftp.port}/preprov/$MA.cfg",
        Resync_Random_Delay="0",
    )
    await wait_for(run, 3, 3 * 3600 + 600)


@scenario("REDIRECT-PREPROV", name="preprovision-redirect")
async def scenario_preprovision_redirect(run: ScenarioRun) -> None:
    """The preprovisioning profile (TFTP) sets Profile_Rule to the remote HTTP server."""
    await _preprovision(run, "Profile_Rule")


@scenario("REDIRECT-PREPROV", name="preprovision-profile-rule-b")
async def scenario_preprovision_rule_b(run: ScenarioRun) -> None:
    """The preprovisioning profile keeps Profile_Rule and adds the remote server as
    Profile_Rule_B: every resync then fetches both."""
    await _preprovision(run, "Profile_Rule_B")
