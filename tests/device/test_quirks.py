"""Each quirk changes the behaviour it names (asserted on engine actions or adapter output)."""

from __future__ import annotations

import gzip

import pytest

from harness.device.sim.adapters.tls_client import client_certificate, openssl_cipher_names
from harness.device.sim.engine_table import (
    AttemptDone,
    CallStarted,
    DnsResult,
    Fetch,
    FetchResult,
    PowerUp,
    Resolve,
    SendSyslog,
    SetTimer,
    TimerFired,
)
from harness.device.sim.identity import Identity
from harness.device.sim.quirks import QUIRKS, Behaviour, QuirkError, behaviour_for
from harness.profiles import encrypt_profile
from harness.spec import catalog, load_family
from tests.device.test_engine import PROFILE, T0, make, of, start


def test_catalog_entries_are_valid():
    ids = set(catalog())
    for q in QUIRKS.values():
        assert q.breaks and set(q.breaks) <= ids, q.name
        assert q.doc
        assert behaviour_for([q.name]) != Behaviour(), q.name
    with pytest.raises(QuirkError, match="unknown quirk 'nope'"):
        behaviour_for(["nope"])


def ua(quirks=(), family="cisco-8831-3pcc"):
    return make(family, quirks).user_agent()


def test_ua_quirks():
    assert ua() == "cisco/CP-8831-3PCC (SIM00000001)"
    assert ua(["ua-missing-serial"]) == "cisco/CP-8831-3PCC ()"
    assert "SPA525G" not in ua(["ua-wrong-product"], "cisco-spa")


def first_attempt(quirks, result, **params):
    e = make(quirks=quirks, **params)
    start(e)
    return e, e.handle(result)


def test_retry_404_too_soon():
    _, out = first_attempt(["retry-404-too-soon"], FetchResult(status=404))
    assert of(out, SetTimer)[0].delay == 10


def test_treat_404_as_success():
    _, out = first_attempt(["treat-404-as-success"], FetchResult(status=404))
    assert of(out, AttemptDone)[0].action_class == "A"


def test_ignore_redirect():
    _, out = first_attempt(
        ["ignore-redirect"], FetchResult(status=301, headers=(("Location", "/x"),))
    )
    assert not of(out, Fetch) and of(out, AttemptDone)[0].action_class == "C"


@pytest.mark.parametrize("quirk, fetches", [("auth-retry-forever", 50), ("no-auth-retry", 0)])
def test_auth_retry_quirks(quirk, fetches):
    e = make(quirks=[quirk], Profile_Rule="[--uid u --pwd p]http://192.0.2.10/p.cfg")
    start(e)
    n = 0
    while True:
        out = e.handle(FetchResult(status=401, headers=(("WWW-Authenticate", "Basic realm=x"),)))
        if not of(out, Fetch):
            break
        n += 1
    assert n == fetches


def test_srv_lookup_and_no_failover():
    e = make(quirks=["srv-lookup"], Profile_Rule="http://prov.example.test/p.cfg")
    out = start(e)
    assert of(out, Resolve)[0].qtype == "SRV"
    e = make(quirks=["no-failover"], Profile_Rule="http://prov.example.test/p.cfg")
    start(e)
    e.handle(DnsResult(name="prov.example.test", addresses=("192.0.2.1", "192.0.2.2")))
    out = e.handle(FetchResult(outcome="connection-error"))
    assert not of(out, Fetch) and of(out, AttemptDone)[0].action_class == "C"


def test_syslog_quirks():
    out = start(make(quirks=["silent-syslog"]))
    assert not of(out, SendSyslog)
    out = start(make(quirks=["syslog-no-macros"]))
    assert of(out, SendSyslog)[0].text.startswith("$PN $MAC")


def test_https_firmware():
    e = make("cisco-spa", ["https-firmware"], Upgrade_Rule="https://192.0.2.50/fw-9.0.bin")
    start(e)
    out = e.handle(FetchResult(status=200, body=PROFILE))
    assert of(out, Fetch)[0].scheme == "https"


def test_resync_during_call():
    e = make(quirks=["resync-during-call"])
    e.handle(PowerUp(at=T0))
    e.handle(CallStarted(at=T0))
    assert of(e.handle(TimerFired(reason="resync", at=T0 + 40)), Fetch)


def test_aes_wrong_kdf_and_ignore_gzip():
    enc = encrypt_profile(PROFILE, "k3y", digest="md5")
    rule = "[--key k3y]http://192.0.2.10/p.cfg"
    _, out = first_attempt([], FetchResult(status=200, body=enc), Profile_Rule=rule)
    assert of(out, AttemptDone)[0].action_class == "A"
    _, out = first_attempt(["aes-wrong-kdf"], FetchResult(status=200, body=enc), Profile_Rule=rule)
    assert of(out, AttemptDone)[0].outcome == "corrupt"
    zipped = FetchResult(status=200, body=gzip.compress(PROFILE))
    _, out = first_attempt(["ignore-gzip"], zipped)
    assert of(out, AttemptDone)[0].outcome == "corrupt"


def test_post_as_get():
    e = make(quirks=["post-as-get"], Profile_Rule="[--post a]http://192.0.2.10/p.cfg")
    assert of(start(e), Fetch)[0].method == "GET"


def test_scheduling_quirks():
    e = make(quirks=["no-powerup-resync"])
    (timer,) = of(e.handle(PowerUp(at=T0)), SetTimer)
    assert timer.delay == 3600  # the periodic one, not the power-up resync
    _, out = first_attempt(["no-periodic-resync"], FetchResult(status=200, body=PROFILE))
    assert not of(out, SetTimer)


def test_profile_rule_quirks():
    e = make(quirks=["ignore-profile-rule-b"], Profile_Rule_B="http://192.0.2.20/b.cfg")
    start(e)
    assert not of(e.handle(FetchResult(status=200, body=PROFILE)), Fetch)
    e = make(quirks=["keep-profile-rule"])
    start(e)
    e.handle(
        FetchResult(
            status=200,
            body=b"<flat-profile><Profile_Rule>http://192.0.2.99/n</Profile_Rule></flat-profile>",
        )
    )
    assert e.params["Profile_Rule"] == "http://192.0.2.10/p.cfg"


def test_tls_quirks_in_the_adapter():
    fam = load_family("cisco-8831-3pcc")
    plain = openssl_cipher_names(fam.cipher_suites)
    assert plain and not any("GCM" in n for n in plain)
    assert any("GCM" in n for n in openssl_cipher_names(fam.cipher_suites, add_aead=True))
    ident = Identity.for_family(
        fam, cert_pem=b"own", key_pem=b"k", generic_cert_pem=b"gen", generic_key_pem=b"g"
    )
    assert client_certificate(ident, Behaviour()) == (b"own", b"k")
    assert client_certificate(ident, behaviour_for(["no-client-cert"])) is None
    assert client_certificate(ident, behaviour_for(["generic-cert-always"])) == (b"gen", b"g")


def test_no_chunked_quirk():
    import asyncio

    from harness.device.sim.adapters.http_client import read_response

    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"

    async def read(chunked):
        r = asyncio.StreamReader()
        r.feed_data(wire)
        r.feed_eof()
        return (await read_response(r, "GET", chunked_supported=chunked))[3]

    assert asyncio.run(read(True)) == b"hello"
    assert asyncio.run(read(False)).startswith(b"5\r\nhello")
