"""The phone's admin web interface, driven with curl (a client nobody here wrote)."""

from __future__ import annotations

import asyncio
import json

from harness.device.sim.admin import AdminServer, split_credentials

PROFILE = b"<flat-profile><GPP_C>admin</GPP_C></flat-profile>"


async def curl(url: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-s",
        "-g",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        url,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
    body, _, code = out.decode().rpartition("\n")
    return int(code), body


async def test_resync_status_and_reboot(sim_phone, nginx_site):
    site = nginx_site()
    (site.root / "admin.cfg").write_bytes(PROFILE)
    phone = sim_phone(parameters={"Resync_On_Reset": "No", "Resync_Periodic": "0"})
    async with AdminServer(phone) as admin:
        await phone.start()
        code, _ = await curl(f"{admin.url}/admin/resync?{site.url}/admin.cfg")
        assert code == 200
        assert await phone.run_until(attempts=1, timeout_virtual_seconds=60)
        a = phone.resync_attempts[0]
        assert (a.url, a.action_class, a.prvst) == (f"{site.url}/admin.cfg", "A", -1)
        code, body = await curl(f"{admin.url}/admin/status.json")
        status = json.loads(body)
        assert status["parameters"]["GPP_C"] == "admin"
        assert status["attempts"][0]["outcome"] == "200"
        assert status["identity"]["serial"] == "SIM00000001"
        code, body = await curl(f"{admin.url}/admin/status")
        assert code == 200 and "SIM00000001" in body and "admin.cfg" in body
        code, _ = await curl(f"{admin.url}/admin/reboot")
        assert code == 200
        assert await phone.run_until(lambda p: p.reboots == 1, timeout_virtual_seconds=60)
        assert (await curl(f"{admin.url}/nothing"))[0] == 404


async def test_upgrade_over_http_with_mpp_credentials(sim_phone, nginx_site):
    site = nginx_site()
    (site.root / "fw-2.5.1.bin").write_bytes(b"firmware image")
    phone = sim_phone("cisco-mpp", parameters={"Resync_On_Reset": "No", "Resync_Periodic": "0"})
    async with AdminServer(phone, user="admin", password="pw") as admin:
        await phone.start()
        url = f"{admin.url}/admin/upgrade?{site.url}/fw-2.5.1.bin"
        assert (await curl(url))[0] == 401
        assert (await curl(url + "&xuser=admin&xpassword=pw"))[0] == 200
        assert await phone.run_until(lambda p: p.upgrades, timeout_virtual_seconds=60)
        assert phone.identity.firmware == "2.5.1"


async def test_hostile_requests_get_4xx_and_server_keeps_serving(sim_phone):
    phone = sim_phone()
    async with AdminServer(phone) as admin:
        reader, writer = await asyncio.open_connection("127.0.0.1", admin.port)
        writer.write(b"\x00\xff garbage\r\n\r\n")
        await writer.drain()
        assert (await reader.read())[:12] == b"HTTP/1.1 400"
        writer.close()
        assert (await curl(f"{admin.url}/admin/upgrade"))[0] == 400
        assert (await curl(f"{admin.url}/admin/status.json"))[0] == 200


def test_split_credentials():
    assert split_credentials("http://x/a?b=1&xuser=u&xpassword=p%20w") == (
        "http://x/a?b=1",
        {"xuser": "u", "xpassword": "p w"},
    )
