"""The remote-device driver end to end: the simulated phone runs in ANOTHER PROCESS
(`harness sim --admin-port`, real time) and RemoteDevice drives it through its admin web
interface: setup profile, resync, reboot, attempts counted from the lab's records."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.conformance.scenario import run_scenario, scenarios
from harness.device.remote import RemoteDevice, RemoteDeviceError
from harness.device.sim.identity import Identity
from harness.fixtures.device import free_port
from harness.rules import Verdict
from harness.spec.family import load_family

SCENARIO = "power-up-resync-over-http"
FAMILY = load_family("cisco-8831-3pcc")
_SIM = Identity.for_family(FAMILY, 0)  # what `harness sim` (phone 0) is: the operator knows it
IDENT = {"mac": _SIM.mac, "serial": _SIM.serial, "product": _SIM.product}


def lab_ports() -> dict[str, int]:
    tcp, udp = socket.SOCK_STREAM, socket.SOCK_DGRAM
    return {
        "http": free_port(tcp),
        "https": free_port(tcp),
        "tftp": free_port(udp),
        "syslog": free_port(udp),
        "dns": free_port(udp),
    }


def start_sim(tmp_path: Path, ports: dict[str, int], ca_pem: bytes, *quirks: str):
    """`harness sim` in a subprocess with its admin web UI; returns (process, admin address)."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(ca_pem)
    admin = free_port()
    trust = ["--ca", str(ca)] if ca_pem else []
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "sim",
        "--server",
        "http://127.0.0.1:9/none.cfg",
        "--admin-port",
        str(admin),
        "--dns",
        f"127.0.0.1:{ports['dns']}",
        *trust,
        "--duration",
        "300",
        "--set",
        "Resync_On_Reset=No",
    ]
    for q in quirks:
        cmd += ["--quirk", q]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", admin), timeout=0.2).close()
            return proc, f"127.0.0.1:{admin}"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"harness sim exited: {proc.stderr.read().decode()}") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("harness sim did not open its admin port")


@pytest.fixture
def remote_phone(tmp_path):
    procs = []

    def make(*quirks: str) -> RemoteDevice:
        ports = lab_ports()
        dev = RemoteDevice(
            "cisco-8831-3pcc",
            address="placeholder",
            lab_ports=ports,
            time_scale=0.0003,
            boot_time=1.0,
            min_wait=3.0,
            **IDENT,
        )
        proc, address = start_sim(tmp_path, ports, dev.server_ca.cert_pem.bytes(), *quirks)
        procs.append(proc)
        dev.address = f"http://{address}"
        return dev

    yield make
    for p in procs:
        p.kill()
        p.wait(timeout=5)


def test_shorten_scales_every_delay_of_the_family_and_keeps_zero():
    dev = RemoteDevice("cisco-8831-3pcc", address="192.0.2.10", time_scale=0.01, **IDENT)
    fam = load_family("cisco-8831-3pcc")
    short = dev.shorten({"Resync_Random_Delay": "0", "Resync_Periodic": "60000"})
    assert short["Resync_Random_Delay"] == "0"
    assert short["Resync_Periodic"] == "600"
    assert short["Resync_Error_Retry_Delay"] == str(
        round(float(fam.default("Resync_Error_Retry_Delay")) * 0.01)
    )
    assert "Profile_Rule" not in short


def test_shorten_keeps_each_delay_form_and_only_shrinks_random_spreads():
    mpp = RemoteDevice("cisco-mpp", address="192.0.2.10", time_scale=0.01, **IDENT)
    short = mpp.shorten({"Resync_Error_Retry_Delay": "600+300,1200,86400"})
    assert short["Resync_Error_Retry_Delay"] == "6+3,12,864"  # a list stays a list, N+R keeps R
    default = mpp.shorten({})["Resync_Error_Retry_Delay"].split(",")
    assert default[:4] == ["5", "5", "5", "5"] and default[-1] == "864"  # floors at 5 s
    assert mpp.shorten({"Resync_Random_Delay": "2"})["Resync_Random_Delay"] == "0"  # not raised
    assert mpp.shorten({})["Resync_At_Random_Delay"] == "6"
    assert "Resync_Periodic" not in mpp.shorten({"Resync_Periodic": "$A"})  # not its form


def test_admin_url_carries_mpp_credentials():
    dev = RemoteDevice(address="192.0.2.10", admin_user="admin", admin_password="p w", **IDENT)
    url = dev.admin_url("/admin/resync", "http://198.51.100.1/x.cfg")
    assert (
        url == "http://192.0.2.10/admin/resync?http://198.51.100.1/x.cfg&xuser=admin&xpassword=p+w"
    )


async def test_unreachable_phone_is_a_clear_error():
    dev = RemoteDevice(address=f"127.0.0.1:{free_port()}", **IDENT)
    with pytest.raises(RemoteDeviceError, match="cannot reach the admin web interface"):
        await dev.trigger("/admin/reboot")


async def test_calls_need_the_operator():
    dev = RemoteDevice(address="192.0.2.10", **IDENT)
    from harness.device.base import DeviceUnsupported

    with pytest.raises(DeviceUnsupported, match="--manual"):
        await dev.set_call(True)
    told = []
    manual = RemoteDevice(
        address="192.0.2.10", manual=True, operator=told.append, operator_wait=0, **IDENT
    )
    await manual.set_call(True)
    assert told and "Start a call" in told[0]


async def test_clean_phone_in_another_process_passes_the_basics(remote_phone):
    dev = remote_phone()
    out = await run_scenario(scenarios()[SCENARIO], dev)
    got = {f.rule: (f.verdict, f.why) for f in out.findings}
    bad = {r: vw for r, vw in got.items() if vw[0] is not Verdict.PASS}
    assert got and not bad, bad
    assert any("/admin/resync?http://127.0.0.1:" in u for u in dev.requests)
    assert dev.requests[-1].endswith("/admin/reboot")
    # the setup fetch was cleared: only the scenario's profile was asked for
    assert all("harness-setup" not in (getattr(o, "url", "") or "") for o in out.observations)
    assert out.parameters["Resync_Error_Retry_Delay"] == "5"  # shortened, judged as such


async def test_quirky_phone_in_another_process_fails_what_the_quirk_names(remote_phone):
    dev = remote_phone("srv-lookup")
    out = await run_scenario(scenarios()[SCENARIO], dev)
    failed = {f.rule for f in out.findings if f.verdict is Verdict.FAIL}
    assert failed == {"DNS-A-ONLY"}, [(f.rule, f.verdict, f.why) for f in out.findings]


def test_timing_tolerance_reaches_the_remote_device():
    from harness.conformance.runner import DeviceSpec, make_device

    spec = DeviceSpec(
        name="desk", kind="remote", family="cisco-8831-3pcc", address="192.0.2.10",
        timing_tolerance=3.0, **IDENT,
    )  # fmt: skip
    assert make_device(spec).timing_tolerance == 3.0
    assert RemoteDevice(address="192.0.2.10", **IDENT).timing_tolerance is None
    with pytest.raises(ValueError, match=">= 0"):
        RemoteDevice(address="192.0.2.10", timing_tolerance=-1, **IDENT)


def test_scenario_context_carries_the_device_tolerance():
    from types import SimpleNamespace

    from harness.conformance.scenario import ScenarioRun

    dev = RemoteDevice(address="192.0.2.10", timing_tolerance=2.5, **IDENT)
    lab = SimpleNamespace(syslog=SimpleNamespace(url="udp://127.0.0.1:514"))
    run = ScenarioRun(lab=lab, device=dev, family=load_family("cisco-8831-3pcc"))
    assert run.context().timing_tolerance == 2.5
