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
