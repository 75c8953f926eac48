"""A crowd of reference phones against real servers: nginx with static profiles (plain and
HTTPS with client certificates) and a server that sheds load; the spec check of the crowd."""

from __future__ import annotations

import asyncio
import os
import shutil

from harness.analyze.engine import analyze_capture
from harness.capture.live import LiveCapture
from harness.pki import DeviceCA, ServerCA
from harness.pki.variants import build_server_cert
from harness.storm.crowd import StormConfig, run_crowd, run_storm
from harness.storm.summary import spec_check, summarize
from tests.storm.conftest import FAMILY, write_profiles

QUICK = {"Resync_Random_Delay": "0", "Resync_Error_Retry_Delay": "3600"}


def test_500_phones_against_nginx_all_provisioned(tmp_path, nginx_factory):
    root = write_profiles(tmp_path / "www", range(500))
    nginx = nginx_factory(root)
    config = StormConfig(
        server=f"http://127.0.0.1:{nginx.port}/$MA.cfg",
        phones=500,
        family=FAMILY,
        power_up_spread=1.0,
        duration=120,
        parameters=dict(QUICK),
    )
    storm = run_storm(config)
    s = summarize(storm)
    assert storm.stopped_because == "every phone provisioned"
    assert s["provisioned"]["provisioned"] == 500
    assert [k for _, k in s["provisioned"]["curve"]] == list(range(1, 501))
    assert s["answers"]["by_answer"] == {"200": 500}
    assert s["attempts"]["total"] == {"A": 500}
    assert len({p.identity.mac for p in storm.phones}) == 500
    assert len({p.identity.serial for p in storm.phones}) == 500
    assert {p.identity.product for p in storm.phones} <= set(storm.phones[0].family.products)
    assert s["verdict"]["server_finding"] == "held"
    assert s["spec_check"]["passed"] and s["spec_check"]["phones_judged"] == 500


def test_phones_without_a_profile_are_not_provisioned(tmp_path, nginx_factory):
    root = write_profiles(tmp_path / "www", range(40))  # phones 40..49 get 404
    nginx = nginx_factory(root)
    config = StormConfig(
        server=f"http://127.0.0.1:{nginx.port}/$MA.cfg",
        phones=50,
        duration=2,
        parameters=dict(QUICK),
    )
    s = summarize(run_storm(config))
    assert s["provisioned"]["provisioned"] == 40
    assert s["answers"]["by_answer"] == {"200": 40, "404": 10}
    assert s["attempts"]["total"] == {"A": 40, "B": 10}
    assert s["verdict"]["server_finding"] == "not-served"
    assert s["spec_check"]["passed"]  # a 404 with a long retry delay breaks no rule


def test_https_with_client_certificates(tmp_path, nginx_factory):
    fqdn = "prov.example.test"
    pki = tmp_path / "pki"
    pki.mkdir()
    server_ca, device_ca = ServerCA(), DeviceCA()
    build_server_cert(server_ca, fqdn).write_to_path(pki / "server.pem", pki / "server.key")
    device_ca.cert_pem.write_to_path(pki / "device-ca.pem")
    nginx = nginx_factory(write_profiles(tmp_path / "www", range(12)), pki)

    def config(with_certs: bool) -> StormConfig:
        return StormConfig(
            server=f"https://{fqdn}:{nginx.port}/$MA.cfg",
            phones=12,
            duration=5 if with_certs else 1.5,
            parameters=dict(QUICK),
            ca_pem=server_ca.cert_pem.bytes(),
            device_ca=device_ca if with_certs else None,
            resolve={fqdn: "127.0.0.1"},
        )

    s = summarize(run_storm(config(True)))
    assert s["provisioned"]["provisioned"] == 12, s["answers"]["by_answer"]
    assert s["answers"]["by_answer"] == {"200": 12}
    # without their certificates nginx refuses the phones (400: no required certificate)
    s = summarize(run_storm(config(False)))
    assert s["provisioned"]["provisioned"] == 0
    assert s["answers"]["by_answer"] == {"400": 12}


def test_spec_check_of_a_crowd_against_a_shedding_server(shedding_server, tmp_path):
    """Two storms side by side against servers that shed load: spec-following phones back off
    (a finding about the server's capacity); a crowd with retry-5xx-immediately phones fails
    the spec check on exactly those phones. The verdicts are the same from a capture of the
    mixed storm's traffic read by `harness analyze`'s capture path."""
    retry = 12  # above the rules' timing tolerance, so a 0 s retry is told apart
    params = {"Resync_Random_Delay": "0", "Resync_Error_Retry_Delay": str(retry)}
    clean_server, clean_shedder = shedding_server(limit=25, hold=0.5)
    mixed_server, _ = shedding_server(limit=24, hold=0.5)
    clean = StormConfig(server=clean_server.url, phones=40, duration=retry + 8, parameters=params)
    mixed = StormConfig(
        server=mixed_server.url,
        phones=64,
        duration=retry + 2,
        parameters=params,
        quirks={"retry-5xx-immediately": 4},
        first_index=1000,
    )

    async def both():
        return await asyncio.gather(run_crowd(clean), run_crowd(mixed))

    capture = None
    if os.geteuid() == 0 and (shutil.which("dumpcap") or shutil.which("tcpdump")):
        port = mixed_server.port
        capture = LiveCapture("lo", f"tcp port {port}", tmp_path / "mixed.pcapng").start()
    try:
        clean_storm, mixed_storm = asyncio.run(both())
    finally:
        if capture is not None:
            capture.stop()

    s = summarize(clean_storm)
    assert clean_shedder.shed > 0 and s["answers"]["by_answer"]["503"] > 0
    assert s["provisioned"]["provisioned"] == 40  # the second wave gets through
    assert s["verdict"]["server_finding"] == "shed-load"
    assert s["spec_check"]["passed"], s["spec_check"]["failures"]
    assert s["spec_check"]["rules"]["HTTP-503"].get("pass", 0) > 0
    assert s["verdict"]["phones_behaved"] and "capacity" in s["verdict"]["phones"]

    s = summarize(mixed_storm)
    check = s["spec_check"]
    quirky = [p for p in mixed_storm.phones if p.quirks]
    assert len(quirky) == 4
    shed_quirky = {p.id for p in quirky if any(r.status == 503 for r in p.requests)}
    assert shed_quirky, "no quirky phone was shed: the test proves nothing"
    failing = {f["phone"] for f in check["failures"]}
    assert failing == shed_quirky
    assert {f["rule"] for f in check["failures"]} == {"HTTP-503"}
    assert check["failing_clean_phones"] == 0
    assert not check["passed"] and not s["verdict"]["phones_behaved"]

    if capture is not None:  # the same traffic, from the wire: the same verdicts
        observed = analyze_capture(capture.path).observations
        from_wire = spec_check(mixed_storm.phones, observations=observed)
        assert {f["phone"] for f in from_wire["failures"]} == shed_quirky
        assert from_wire["rules"]["HTTP-503"] == check["rules"]["HTTP-503"]


def test_a_tftp_storm_against_tftpd_hpa(tftpd_hpa):
    write_profiles(tftpd_hpa.root, range(15))  # phones 15..19 get "file not found"
    config = StormConfig(
        profile_rule=f"tftp://127.0.0.1:{tftpd_hpa.port}/$MA.cfg",
        phones=20,
        duration=3,
        parameters=dict(QUICK),
    )
    storm = run_storm(config)
    s = summarize(storm)
    assert s["provisioned"]["provisioned"] == 15
    assert s["answers"]["by_answer"] == {"complete": 15, "not-found": 5}
    assert s["attempts"]["total"] == {"A": 15, "B": 5}
    assert all(o.kind == "tftp" for p in storm.phones for o in p.observations)
    assert s["spec_check"]["passed"]
