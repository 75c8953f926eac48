"""UA-FORMAT, UA-IDENTITY and HTTP-GET on hand-made timelines that pass and fail."""

import pytest

from harness.observe import build_timelines
from harness.observe.events import TlsHandshake
from harness.rules import Verdict, evaluate
from tests.rules.timelines import DEV, PRODUCT, context, ev, http


def verdict(rule, observations, ctx=None):
    (tl,) = build_timelines(observations)
    (f,) = evaluate([tl], ctx or context(), only=[rule])
    return f


def test_ua_format_passes_on_the_seed_example():
    f = verdict("UA-FORMAT", [http(1.0), http(2.0)])
    assert f.verdict is Verdict.PASS and f.frames


@pytest.mark.parametrize(
    ("ua", "why"),
    [
        (None, "no User-Agent"),
        ("curl/8.0", "not in the cisco-8831-3pcc format"),
        (f"cisco/{PRODUCT}", "not in the cisco-8831-3pcc format"),
    ],
)
def test_ua_format_fails(ua, why):
    f = verdict("UA-FORMAT", [http(1.0), http(2.0, ua=ua)])
    assert f.verdict is Verdict.FAIL and why in f.why
    assert len(f.frames) == 1


def test_ua_format_needs_firmware_on_spa():
    ctx = context("cisco-spa")
    assert (
        verdict("UA-FORMAT", [http(1, ua="Cisco/SPA525G-7.4.4 (CBT141900G7)")], ctx).verdict
        is Verdict.PASS
    )
    assert (
        verdict("UA-FORMAT", [http(1, ua="Cisco/SPA525G (CBT141900G7)")], ctx).verdict
        is Verdict.FAIL
    )


def test_ua_format_inconclusive_without_requests():
    from tests.rules.timelines import dns

    assert verdict("UA-FORMAT", [dns(1)]).verdict is Verdict.INCONCLUSIVE


def test_ua_identity_pass_and_fail():
    assert verdict("UA-IDENTITY", [http(1)]).verdict is Verdict.PASS
    f = verdict("UA-IDENTITY", [http(1, ua="cisco/CP-8831-3PCC (99999ZZ00000)")])
    assert f.verdict is Verdict.FAIL and "99999ZZ00000" in f.why and "88012BA01234" in f.why
    f = verdict("UA-IDENTITY", [http(1, ua="cisco/CP-8841-3PCC (88012BA01234)")])
    assert f.verdict is Verdict.FAIL and "product" in f.why


def test_ua_identity_from_client_certificate_when_identity_unknown():
    hs = TlsHandshake(
        time=0.5,
        device=DEV,
        evidence=ev(),
        client_cert_subject={"OU": PRODUCT, "L": "OTHER0SERIAL", "ST": "000e08abcdef"},
    )
    f = verdict("UA-IDENTITY", [hs, http(1)], context(identity=False))
    assert f.verdict is Verdict.FAIL and "client certificate" in f.why
    f = verdict("UA-IDENTITY", [http(1)], context(identity=False))
    assert f.verdict is Verdict.INCONCLUSIVE


def test_http_get():
    assert verdict("HTTP-GET", [http(1), http(2)]).verdict is Verdict.PASS
    f = verdict("HTTP-GET", [http(1, method="POST")])
    assert f.verdict is Verdict.FAIL and "POST" in f.why
    ctx = context(Profile_Rule="[--post a] http://prov.example.test/$PN.cfg")
    assert verdict("HTTP-GET", [http(1, method="POST")], ctx).verdict is Verdict.PASS
    assert verdict("HTTP-GET", [http(1, method="PUT")], ctx).verdict is Verdict.FAIL


def test_a_rule_that_raises_is_inconclusive_not_fatal(monkeypatch):
    from harness.rules import registry

    def boom(tl, ctx):
        raise RuntimeError("bad rule")

    monkeypatch.setitem(registry._RULES, "HTTP-GET", boom)
    (tl,) = build_timelines([http(1)])
    (f,) = evaluate([tl], context(), only=["HTTP-GET"])
    assert f.verdict is Verdict.INCONCLUSIVE and "bad rule" in f.why


# -- never judged against itself (issue 10, item 5) -----------------------------------
def _analyze_ctx(stated=None):
    """A `harness analyze` context: the traffic's identity, the stated one as a fact."""
    from dataclasses import replace

    from harness.rules.registry import DeviceIdentity

    ctx = context()  # identity filled as the traffic shows it (macros only)
    given = DeviceIdentity(**stated) if stated else None
    return replace(ctx, facts={"stated_identity": given})


def test_ua_identity_without_an_independent_source_is_inconclusive():
    f = verdict("UA-IDENTITY", [http(1, ua="cisco/CP-7841-3PCC (88012BA01234)")], _analyze_ctx())
    assert f.verdict is Verdict.INCONCLUSIVE and "not judged against itself" in f.why


def test_ua_identity_against_the_stated_device():
    ua = "cisco/CP-7841-3PCC (88012BA01234)"
    f = verdict("UA-IDENTITY", [http(1, ua=ua)], _analyze_ctx({"product": PRODUCT}))
    assert f.verdict is Verdict.FAIL and "CP-7841-3PCC" in f.why and PRODUCT in f.why
    assert "--device" in f.why
    f = verdict(
        "UA-IDENTITY", [http(1)], _analyze_ctx({"product": PRODUCT, "serial": "88012BA01234"})
    )
    assert f.verdict is Verdict.PASS and "--device" in f.why


def test_ua_identity_stated_identity_outranks_the_certificate():
    hs = TlsHandshake(
        time=0.5, device=DEV, evidence=ev(),
        client_cert_subject={"OU": PRODUCT, "L": "OTHER0SERIAL", "ST": "000e08abcdef"},
    )  # fmt: skip
    ctx = _analyze_ctx({"product": PRODUCT, "serial": "88012BA01234"})
    assert verdict("UA-IDENTITY", [hs, http(1)], ctx).verdict is Verdict.PASS  # the cert is wrong
    f = verdict("UA-IDENTITY", [hs, http(1)], _analyze_ctx())
    assert f.verdict is Verdict.FAIL and "OTHER0SERIAL" in f.why and "88012BA01234" in f.why


def test_ua_identity_against_the_dhcp_mac_for_a_mac_family():
    from harness.observe.events import DhcpExchange

    ua = "Cisco-CP-8841-3PCC/11.0 (00562b043615)"
    dhcp = DhcpExchange(time=0.1, device=DEV, evidence=ev(), message_type="REQUEST",
                        client_mac="00562b043615")  # fmt: skip
    ctx = replace_family(_analyze_ctx(), "cisco-mpp")
    assert verdict("UA-IDENTITY", [dhcp, http(1, ua=ua)], ctx).verdict is Verdict.PASS
    other = DhcpExchange(time=0.1, device=DEV, evidence=ev(), message_type="REQUEST",
                         client_mac="00562b0436ff")  # fmt: skip
    f = verdict("UA-IDENTITY", [other, http(1, ua=ua)], ctx)
    assert f.verdict is Verdict.FAIL and "00562b0436ff" in f.why and "00562b043615" in f.why


def replace_family(ctx, name):
    from dataclasses import replace

    from harness.spec import load_family

    return replace(ctx, family=load_family(name))


def test_ua_identity_against_the_profile_rule_macros_the_device_expanded():
    from dataclasses import replace

    rule_ = "http://prov.example.test/cfg/$PN/$SN.xml"
    ctx = _analyze_ctx()
    ctx = replace(ctx, parameters={"Profile_Rule": rule_})
    own = http(1, url=f"/cfg/{PRODUCT}/88012BA01234.xml")
    f = verdict("UA-IDENTITY", [own], ctx)
    assert f.verdict is Verdict.PASS and "Profile_Rule" in f.why
    other = http(1, url=f"/cfg/{PRODUCT}/88012BA05678.xml")
    f = verdict("UA-IDENTITY", [other], ctx)
    assert f.verdict is Verdict.FAIL and "88012BA05678" in f.why and "88012BA01234" in f.why
    # the family's default rule is not a source: the real profile may name the file literally
    f = verdict("UA-IDENTITY", [http(1, ua="cisco/CP-7841-3PCC (88012BA01234)")], _analyze_ctx())
    assert f.verdict is Verdict.INCONCLUSIVE
