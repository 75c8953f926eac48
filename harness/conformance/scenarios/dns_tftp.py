"""Scenarios for redundant servers by DNS and for TFTP provisioning, on the lab.

dns-failover (DNS-FAILOVER: two A records, the first server dead), dns-all-down
(DNS-ALL-DOWN: every A-record server dead, an error must reach syslog),
factory-tftp (TFTP-DHCP66, TFTP-DEFAULT-RULE: a factory phone with the lab's TFTP
server as DHCP option 66) and tftp-resync-upgrade (TFTP-RESYNC). A dead server
is an address nothing listens on (another loopback address when the lab is on
loopback, a documentation address otherwise). Arranging and facts only.
"""

from __future__ import annotations

import ipaddress

from harness.conformance.scenario import ScenarioRun, scenario
from harness.conformance.scenarios.schedule import (
    factory_profile_path,
    firmware_image,
    pass_time,
    product_of,
    wait_for,
)
from harness.device.base import DHCP_OPTION_66, POWER_CYCLE, UPGRADE
from harness.profiles import render_xml_profile

POOL_NAME = "pool.example.test"  # the provisioning name with several A records


def dead_addresses(run: ScenarioRun, count: int) -> list[str]:
    """Addresses where no provisioning server listens, for the lab's network."""
    host = ipaddress.ip_address(run.lab.http.host)
    if host.is_loopback:  # the whole 127/8 is loopback: other addresses refuse at once
        return [str(ipaddress.ip_address("127.0.0.2") + i) for i in range(count)]
    return [f"192.0.2.{201 + i}" for i in range(count)]  # TEST-NET-1: nothing answers


@scenario("DNS-FAILOVER", name="dns-failover")
async def scenario_dns_failover(run: ScenarioRun) -> None:
    """The name has two A records; the first server is dead, the second serves the profile."""
    lab, product = run.lab, product_of(run)
    dead = dead_addresses(run, 1)
    lab.dns.add_a(POOL_NAME, *dead, lab.http.host)
    lab.put(f"{product}.cfg", render_xml_profile({"Resync_Periodic": "3600"}))
    run.facts["dead_servers"] = dead
    await run.provision(
        Profile_Rule=f"http://{POOL_NAME}:{lab.http.port}/$PN.cfg", Resync_Random_Delay="0"
    )
    await wait_for(run, 2, 2 * 3600)


@scenario("DNS-ALL-DOWN", name="dns-all-down")
async def scenario_dns_all_down(run: ScenarioRun) -> None:
    """The name has two A records and neither server answers; syslog is configured."""
    lab = run.lab
    dead = dead_addresses(run, 2)
    lab.dns.add_a(POOL_NAME, *dead)
    run.facts["dead_servers"] = dead
    await run.provision(
        Profile_Rule=f"http://{POOL_NAME}:{lab.http.port}/$PN.cfg", Resync_Random_Delay="0"
    )
    await wait_for(run, 2, 2 * 3600)


@scenario(
    "TFTP-DHCP66",
    "TFTP-DEFAULT-RULE",
    name="factory-tftp",
    needs=[DHCP_OPTION_66, POWER_CYCLE],
)
async def scenario_factory_tftp(run: ScenarioRun) -> None:
    """A factory phone (factory Profile_Rule) powers up; DHCP option 66 names the lab's TFTP
    server, which holds `/<product>.cfg`."""
    lab = run.lab
    lab.put(factory_profile_path(run), render_xml_profile({"Resync_Periodic": "3600"}))
    run.facts["dhcp_option_66"] = f"{lab.tftp.host}:{lab.tftp.port}"
    run.facts["power_up_time"] = power_up = lab.clock.now()
    await run.provision()
    await wait_for(run, 1, 600)
    left = power_up + 600 - lab.clock.now()
    if left > 0:
        await pass_time(run, left)
    run.facts["observed_until"] = lab.clock.now()


@scenario("TFTP-RESYNC", name="tftp-resync-upgrade", needs=[UPGRADE])
async def scenario_tftp_resync_upgrade(run: ScenarioRun) -> None:
    """Profile and firmware both on the lab's TFTP server (Profile_Rule and Upgrade_Rule)."""
    lab, product = run.lab, product_of(run)
    lab.put(f"{product}.cfg", render_xml_profile({"Resync_Periodic": "3600"}))
    image = f"/fw/{product}-2.0.0.loads"
    lab.put(image, firmware_image("2.0.0"))
    run.facts["firmware_paths"] = [image]
    server = f"tftp://{lab.tftp.host}:{lab.tftp.port}"
    await run.provision(
        Profile_Rule=f"{server}/$PN.cfg",
        Upgrade_Rule=f"{server}{image}",
        Resync_Random_Delay="0",
    )
    await wait_for(run, 3, 2 * 3600)
