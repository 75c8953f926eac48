"""The Locust side's wire (`BlockingIo`, plain blocking sockets) without Locust: a phone
provisions over HTTP and over HTTPS with its own client certificate, and reads a refusal
exactly as the asyncio crowd does."""

from __future__ import annotations

import time

from harness.pki import DeviceCA, ServerCA
from harness.pki.variants import build_server_cert
from harness.storm.blocking_io import BlockingIo
from harness.storm.crowd import StormConfig
from harness.storm.phone import StormPhone
from tests.storm.conftest import write_profiles

FQDN = "prov.example.test"
QUICK = {"Resync_Random_Delay": "0", "Resync_Error_Retry_Delay": "3600"}


def live_once(phone: StormPhone, io: BlockingIo) -> None:
    """Power up and carry out every request the engine asks for until it waits on a timer."""
    action = phone.power_up(time.time()) or phone.fire(time.time())
    while action is not None:
        start = time.time()
        result = io.resolve(action) if hasattr(action, "qtype") else io.fetch(phone, action)
        action = phone.complete(result, start, time.time())


def test_http_profile_and_404(tmp_path, nginx_factory):
    nginx = nginx_factory(write_profiles(tmp_path / "www", [0]))
    config = StormConfig(
        server=f"http://127.0.0.1:{nginx.port}/$MA.cfg", phones=2, parameters=QUICK
    )
    io = BlockingIo(timeout=5)
    ok, missing = config.build_phones()
    live_once(ok, io)
    live_once(missing, io)
    assert ok.provisioned_at is not None and ok.requests[0].status == 200
    assert missing.provisioned_at is None and missing.requests[0].status == 404
    assert [a.action_class for a in missing.attempts] == ["B"]


def test_https_with_the_phones_own_certificate(tmp_path, nginx_factory):
    pki = tmp_path / "pki"
    pki.mkdir()
    server_ca, device_ca = ServerCA(), DeviceCA()
    build_server_cert(server_ca, FQDN).write_to_path(pki / "server.pem", pki / "server.key")
    device_ca.cert_pem.write_to_path(pki / "device-ca.pem")
    nginx = nginx_factory(write_profiles(tmp_path / "www", [0, 1]), pki)

    def phone(with_cert: bool) -> StormPhone:
        return StormConfig(
            server=f"https://{FQDN}:{nginx.port}/$MA.cfg",
            phones=1,
            parameters=QUICK,
            device_ca=device_ca if with_cert else None,
        ).make_phone(0)

    io = BlockingIo(timeout=5, ca_pem=server_ca.cert_pem.bytes(), resolve={FQDN: "127.0.0.1"})
    good, bare = phone(True), phone(False)
    live_once(good, io)
    live_once(bare, io)
    assert good.provisioned_at is not None, good.requests
    assert good.observations[0].scheme == "https"
    assert bare.provisioned_at is None and bare.requests[0].status == 400

    # a server name the phones cannot resolve: no request, a DNS failure (class C)
    lost = phone(True)
    live_once(lost, BlockingIo(timeout=5, ca_pem=server_ca.cert_pem.bytes()))
    assert lost.requests == [] and lost.attempts[0].action_class == "C"
