"""HTTPS against nginx with client-certificate verification: the spec's own name checks,
the DNS match, the client certificate, and the TLS quirks that break them."""

from __future__ import annotations

import pytest

from harness.device.sim.identity import Identity
from harness.pki import DeviceCA, ServerCA, other_host
from harness.pki.variants import build_server_cert
from harness.spec import load_family

FQDN = "prov.example.test"
PROFILE = b"<flat-profile><GPP_D>tls</GPP_D></flat-profile>"


@pytest.fixture(scope="module")
def cas():
    return ServerCA(), DeviceCA()


def https_site(nginx_site, tmp_path, cas, variant):
    server_ca, device_ca = cas
    cert = build_server_cert(server_ca, FQDN, variant=variant)
    cert_path, key_path = cert.write_to_path(
        tmp_path / f"{variant}.pem", tmp_path / f"{variant}.key"
    )
    client_ca = device_ca.cert_pem.write_to_path(tmp_path / "device-ca.pem")
    site = nginx_site(
        "location / { if ($ssl_client_verify != SUCCESS) { return 495; } }",
        ssl={"cert": cert_path, "key": key_path, "client_ca": client_ca},
    )
    (site.root / "p.cfg").write_bytes(PROFILE)
    return site


def identity(cas):
    _, device_ca = cas
    fam = load_family("cisco-8831-3pcc")
    ident = Identity.for_family(fam)
    own = device_ca.issue_client_cert(ident.product, ident.serial, ident.mac)
    gen = device_ca.generic_client_cert()
    return Identity.for_family(
        fam,
        cert_pem=own.cert_pem.bytes(),
        key_pem=own.private_key_pem.bytes(),
        generic_cert_pem=gen.cert_pem.bytes(),
        generic_key_pem=gen.private_key_pem.bytes(),
    )


@pytest.mark.parametrize(
    "variant, quirks, klass",
    [
        ("valid", [], "A"),
        ("cn-suffix", [], "A"),
        ("cn-suffix", ["reject-cn-suffix"], "C"),
        ("wrong-cn", [], "C"),
        ("wrong-cn", ["accept-wrong-cn"], "A"),
        ("self-signed", [], "C"),
        ("self-signed", ["accept-self-signed"], "A"),
        ("valid", ["no-client-cert"], "C"),
    ],
)
async def test_https_checks(
    sim_phone, nginx_site, dnsmasq_dns, tmp_path, cas, variant, quirks, klass
):
    site = https_site(nginx_site, tmp_path, cas, variant)
    # the wrong-cn certificate names another host: let it resolve here too, so that only
    # the CN check (not the DNS match) can refuse it
    dns = dnsmasq_dns({FQDN: ["127.0.0.1"], other_host(FQDN): ["127.0.0.1"]})
    phone = sim_phone(
        identity=identity(cas),
        dns=dns.address,
        ca_pem=cas[0].cert_pem.bytes(),
        quirks=quirks,
        parameters={"Profile_Rule": f"https://{FQDN}:{site.port}/p.cfg"},
    )
    assert await phone.run_until(attempts=1)
    a = phone.resync_attempts[0]
    assert a.action_class == klass, a
    if klass == "A":
        assert phone.params["GPP_D"] == "tls"


async def test_dns_match_rejects_a_server_at_another_address(
    sim_phone, nginx_site, dnsmasq_dns, tmp_path, cas
):
    site = https_site(nginx_site, tmp_path, cas, "valid")
    # the URL names the server by address; the certificate's name resolves elsewhere
    dns = dnsmasq_dns({FQDN: ["127.0.0.9"]})
    rule = f"https://127.0.0.1:{site.port}/p.cfg"
    common = dict(identity=identity(cas), dns=dns.address, ca_pem=cas[0].cert_pem.bytes())
    phone = sim_phone(parameters={"Profile_Rule": rule}, quirks=["accept-wrong-cn"], **common)
    assert await phone.run_until(attempts=1)
    assert phone.resync_attempts[0].action_class == "C"
    assert "not among the DNS addresses" in phone.resync_attempts[0].error
    phone2 = sim_phone(
        parameters={"Profile_Rule": rule}, quirks=["accept-wrong-cn", "skip-dns-ip-check"], **common
    )
    assert await phone2.run_until(attempts=1)
    assert phone2.resync_attempts[0].action_class == "A"
