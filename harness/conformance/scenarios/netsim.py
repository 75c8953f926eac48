"""Scenarios that need the NAT simulation (root and network namespaces, harness.netsim).

tftp-through-nat (TFTP-NAT: an environment fact; stock clients, tftp-hpa and
curl, in the phone's namespace behind symmetric NAT: TFTP fails, HTTP works) and
preprovision-through-nat (seed 000's in-house preprovisioning: a factory phone on
the LAN gets DHCP option 66 from a real DHCP server, fetches `/<product>.cfg` from
the LAN TFTP server, which points it at the remote HTTPS server behind the NAT,
where it resyncs from then on). Where namespaces cannot be made, or the device
cannot be placed in one (a real phone), the scenario is skipped with the reason.
The netsim records are attributed to the one phone (the harness knows the NAT
mapping) and added to the run's lab, where the rules judge them. Arranging only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.clock import REAL_CLOCK
from harness.conformance.scenario import ScenarioRun, scenario
from harness.conformance.scenarios.schedule import factory_profile_path, product_of
from harness.device.base import DeviceUnsupported
from harness.endpoints.dhcp import DhcpServer
from harness.endpoints.http import HttpServer
from harness.endpoints.lab import ProvisioningLab
from harness.endpoints.tftp import TftpServer
from harness.observe.events import DeviceKey, HttpExchange, Observation
from harness.observe.recorder import Recorder
from harness.profiles import render_xml_profile

NAT_KIND = "symmetric"
WALL_TIMEOUT = 120.0  # real seconds any one step in a namespace may take (harness limit)


def _need_namespaces() -> None:
    from harness.netsim.system import namespaces_capability

    cap = namespaces_capability()
    if not cap:
        raise DeviceUnsupported(f"needs network namespaces: {cap.reason}")


def _need_placeable(run: ScenarioRun) -> None:
    from harness.device.sim_device import SimDevice

    if not isinstance(run.device, SimDevice):
        raise DeviceUnsupported(
            "needs a simulated phone: only it can be placed inside the simulated LAN"
        )


def _adopt(run: ScenarioRun, observations: list[Observation], device: DeviceKey) -> None:
    """Record the namespace endpoints' observations in the run's lab, as the one phone's."""
    for o in sorted(observations, key=lambda o: o.time):
        run.lab.recorder.record(dataclasses.replace(o, device=device))


async def _cancel_others() -> None:
    """Cancel what is left on this (namespace) loop, so nothing dies with the loop."""
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for t in others:
        t.cancel()
    await asyncio.gather(*others, return_exceptions=True)


async def _in(topo: Any, host: str, coro: Any, timeout: float = WALL_TIMEOUT) -> Any:
    return await asyncio.to_thread(topo.call, host, coro, timeout)


@scenario("TFTP-NAT", name="tftp-through-nat")
async def scenario_tftp_through_nat(run: ScenarioRun) -> None:
    """Stock tftp and curl clients behind symmetric NAT fetch the same file from a WAN server."""
    _need_namespaces()
    from harness.netsim.topology import Topology

    topo = Topology(nat=NAT_KIND, tftp_helper=False, phones=1, wan_servers=1, lan_server=False)
    await asyncio.to_thread(topo.up)
    try:
        with tempfile.TemporaryDirectory(prefix="harness-nat-") as tmp:
            root = Path(tmp)
            name = f"{product_of(run)}.cfg"
            (root / name).write_bytes(render_xml_profile({"Resync_Periodic": "3600"}))
            server = topo.ip("server1")
            rec = Recorder()
            kw: dict[str, Any] = {"host": server, "clock": REAL_CLOCK, "recorder": rec}
            tftp = TftpServer(root, port=69, retransmit_timeout=0.5, max_retries=2, **kw)
            http = HttpServer(root=root, port=80, **kw)
            await asyncio.to_thread(topo.start_endpoint, "server1", tftp)
            await asyncio.to_thread(topo.start_endpoint, "server1", http)
            script = f"mode octet\nrexmt 1\ntimeout 3\nget {name} /dev/null\nquit\n"
            await asyncio.to_thread(topo.run, "phone1", ["tftp", server], input=script, timeout=60)
            curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10"]
            got = await asyncio.to_thread(
                topo.run, "phone1", [*curl, f"http://{server}/{name}"], timeout=30
            )
            await asyncio.to_thread(tftp.wait_transfers, 1, 30.0)
            await asyncio.to_thread(
                rec.wait_for, lambda obs: any(isinstance(o, HttpExchange) for o in obs), 10.0
            )
            run.facts["nat"] = {"kind": NAT_KIND, "tftp_helper": False}
            run.facts["nat_clients"] = {"tftp": "tftp-hpa", "http": f"curl: {got.stdout}"}
            _adopt(run, rec.observations, DeviceKey(ip=topo.ip("phone1")))
    finally:
        await asyncio.to_thread(topo.down)


@scenario("TFTP-DHCP66", "TFTP-DEFAULT-RULE", "REDIRECT-PREPROV", name="preprovision-through-nat")
async def scenario_preprovision_through_nat(run: ScenarioRun) -> None:
    """Seed 000: factory phone -> DHCP 66 -> LAN TFTP `/<product>.cfg` -> remote HTTPS
    server through symmetric NAT, used from then on."""
    _need_namespaces()
    _need_placeable(run)
    from harness.netsim.dhcp_client import discover
    from harness.netsim.topology import LAN_NET, ROUTER_LAN_IP, Topology

    preprov = factory_profile_path(run)
    mac = (run.device.identity.mac or "").lower()
    topo = Topology(nat=NAT_KIND, tftp_helper=False, phones=1, wan_servers=1, lan_server=True)
    await asyncio.to_thread(topo.up)
    clock = run.lab.clock
    wan: ProvisioningLab | None = None
    placed = False
    try:
        with tempfile.TemporaryDirectory(prefix="harness-preprov-") as tmp:
            lan_root, wan_root = Path(tmp, "lan"), Path(tmp, "wan")
            lan_root.mkdir()
            lan_rec = Recorder()
            lan_ip, phone_ip = topo.ip("lansrv"), topo.ip("phone1")
            # the remote provisioning server: a whole lab inside server1, trusted CA shared
            wan = ProvisioningLab(
                wan_root,
                host=topo.ip("server1"),
                clock=clock,
                server_ca=run.lab.server_ca,
                device_ca=run.lab.device_ca,
                ports={"tftp": 69, "http": 80, "https": 443, "syslog": 514, "dns": 53},
            )
            await _in(topo, "server1", wan.start_async())
            remote_path = f"/remote/{mac}.cfg"
            wan.put(remote_path, render_xml_profile({"Resync_Periodic": "3600"}))
            remote_rule = f"https://{wan.fqdn}/remote/$MA.cfg"
            # the LAN: a DHCP server giving option 66, a TFTP server with the preprov profile
            (lan_root / preprov.lstrip("/")).write_bytes(
                render_xml_profile({"Profile_Rule": remote_rule, "Resync_Periodic": "3600"})
            )
            common: dict[str, Any] = {"clock": clock, "recorder": lan_rec}
            tftp = TftpServer(lan_root, host=lan_ip, port=69, **common)
            dhcp = DhcpServer(
                interface="eth0",
                server_ip=lan_ip,
                pool=(phone_ip, phone_ip),
                subnet=str(LAN_NET),
                router=ROUTER_LAN_IP,
                options={66: lan_ip},
                **common,
            )
            await asyncio.to_thread(topo.start_endpoint, "lansrv", tftp)
            await asyncio.to_thread(topo.start_endpoint, "lansrv", dhcp)
            lease = await _in(topo, "phone1", discover("eth0"))
            option_66 = lease.text(66)
            if not option_66:
                raise RuntimeError(f"the LAN DHCP server offered no option 66 ({lease})")
            # the device, placed in the phone's namespace, sees the LAN's TFTP server as
            # option 66 and the remote lab's DNS, syslog and CA
            view = SimpleNamespace(
                clock=clock,
                dns=wan.dns,
                syslog=wan.syslog,
                tftp=SimpleNamespace(host=option_66, port=69),
                server_ca=run.lab.server_ca,
                device_ca=run.lab.device_ca,
            )
            run.facts.update(
                preprovision_path=preprov,
                remote_path=remote_path,
                power_up_time=clock.now(),
                nat={"kind": NAT_KIND, "tftp_helper": False},
            )
            placed = True
            await _in(topo, "phone1", run.device.provision(view, {}, power_up=True))  # type: ignore[arg-type]
            await _in(topo, "phone1", run.device.wait_attempts(3, 3 * 3600 + 600))
            run.facts["observed_until"] = clock.now()
            key = DeviceKey(ip=phone_ip, serial=run.device.identity.serial)
            _adopt(run, lan_rec.observations + wan.observations, key)
    finally:
        if placed:
            await _in(topo, "phone1", run.device.stop())
            await _in(topo, "phone1", _cancel_others())
        if wan is not None:
            await _in(topo, "server1", wan.stop_async())
        await asyncio.to_thread(topo.down)
