"""Scenarios for what every provisioning attempt shows: User-Agent, GET, DNS, syslog.

One power-up resync against the lab's HTTP server by name (so DNS is used),
with a syslog server configured.
"""

from __future__ import annotations

from harness.conformance.scenario import ScenarioRun, scenario
from harness.profiles import render_xml_profile


@scenario(
    "UA-FORMAT",
    "UA-IDENTITY",
    "HTTP-GET",
    "DNS-A-ONLY",
    "SYSLOG-REQUEST",
    "SYSLOG-RESULT",
    "SYSLOG-MACROS",
    name="power-up-resync-over-http",
)
async def scenario_power_up_resync(run: ScenarioRun) -> None:
    """The device powers up and resyncs over HTTP by the lab's name; the profile is valid."""
    lab = run.lab
    lab.dns.add_a("http.example.test", lab.http.host)
    lab.http.expect("/$PN.cfg".replace("$PN", run.device.identity.product or "device")).respond(
        200, body=render_xml_profile({"Resync_Periodic": "3600"})
    )
    await run.provision(
        Profile_Rule=f"http://http.example.test:{lab.http.port}/$PN.cfg",
        Resync_Random_Delay="0",
    )
    await run.wait_attempts(2, timeout=2 * 3600)
