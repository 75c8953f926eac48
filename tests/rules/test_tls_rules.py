"""The TLS rules on hand-made timelines: each passes, fails, and says inconclusive when it should."""

import dataclasses

import pytest

from harness.observe import build_timelines
from harness.observe.events import HttpExchange, TlsAlert, TlsHandshake
from harness.rules import Verdict, evaluate
from harness.spec.ciphers import TABLE_3_2, cipher_suite_name
from tests.rules.timelines import DEV, IP, MAC, PRODUCT, SERIAL, UA, context, dns, ev

SERVER = ("198.51.100.5", 443)
OWN = {"OU": PRODUCT, "L": SERIAL, "ST": MAC}
GENERIC = {"OU": "cisco.com", "L": "ciscogeneric", "ST": "ciscogeneric"}
_port = iter(range(41000, 49000))


def conn(
    t,
    variant="valid",
    *,
    offered=(0x0039, 0x0035, 0x00FF),
    chosen=0x0035,
    accepted=True,
    alert=None,
    cn="prov.example.test",
    client_cert=None,
    asked=False,
    url="/CP-8831-3PCC.cfg",
    ua=UA,
    server=SERVER,
):
    """One TLS connection; when `accepted`, the HTTPS request made on it too."""
    client = (IP, next(_port))
    hs = TlsHandshake(
        time=t, client=client, server=server, device=DEV, evidence=ev(),
        offered_cipher_suites=tuple(offered), chosen_cipher_suite=chosen,
        server_cert_subject_cn=cn, server_cert_variant=variant,
        client_cert_subject=client_cert, client_cert_requested=asked,
        alert=alert, application_data=accepted, established=chosen is not None,
    )  # fmt: skip
    if not accepted:
        return [hs]
    req = HttpExchange(
        time=t + 0.01, client=client, server=server, device=DEV, evidence=ev(),
        method="GET", url=url, user_agent=ua, status=200, scheme="https",
    )  # fmt: skip
    return [hs, req]


def judge(rule, observations, ctx=None):
    (tl,) = build_timelines(observations)
    (f,) = evaluate([tl], ctx or context(), only=[rule])
    return f


# -- TLS-CIPHERS ----------------------------------------------------------------------------
def test_ciphers_pass_on_table_3_2_with_signalling_and_grease():
    f = judge("TLS-CIPHERS", conn(1, offered=(0x0A0A, *TABLE_3_2, 0x00FF, 0x5600)))
    assert f.verdict is Verdict.PASS and "GREASE" in f.why


def test_ciphers_fail_names_the_suite_outside_the_set():
    f = judge("TLS-CIPHERS", conn(1, offered=(0x0035, 0xC02F)))
    assert f.verdict is Verdict.FAIL and cipher_suite_name(0xC02F) in f.why


def test_ciphers_follow_the_family_set():
    f = judge("TLS-CIPHERS", conn(1, offered=(0xC02F, 0x1301)), context("cisco-mpp"))
    assert f.verdict is Verdict.PASS


def test_ciphers_without_a_client_hello_are_inconclusive():
    f = judge("TLS-CIPHERS", conn(1, offered=()))
    assert f.verdict is Verdict.INCONCLUSIVE


# -- TLS-NEGOTIATE ------------------------------------------------------------------------------
def test_negotiate_passes_when_every_picked_suite_completes():
    obs = conn(1, chosen=0x0039) + conn(2, chosen=0x0035)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.PASS and cipher_suite_name(0x0039) in f.why


def test_negotiate_fails_when_the_device_closes_after_a_picked_suite():
    obs = conn(1, chosen=0x0039) + conn(2, chosen=0x0035, accepted=False)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.FAIL and cipher_suite_name(0x0035) in f.why


def test_negotiate_is_inconclusive_for_a_suite_this_machine_cannot_offer():
    ctx = context()
    reason = "inconclusive: this machine's TLS stack cannot offer 0x0005"
    ctx.facts["suite_offer_verdicts"] = {0x0005: reason, 0x0035: "ok"}
    f = judge("TLS-NEGOTIATE", conn(1, offered=(0x0035, 0x0005), chosen=0x0035), ctx)
    assert f.verdict is Verdict.INCONCLUSIVE and reason in f.why


def test_negotiate_ignores_a_suite_outside_the_set_and_bad_certificates():
    obs = conn(1, offered=(0xC02F,), chosen=0xC02F, accepted=False)
    obs += conn(2, "wrong-cn", accepted=False)
    assert judge("TLS-NEGOTIATE", obs).verdict is Verdict.INCONCLUSIVE


# -- certificate variants ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "variant"),
    [
        ("TLS-SERVER-CA", "self-signed"),
        ("TLS-SERVER-CA", "untrusted-ca"),
        ("TLS-SERVER-CN", "wrong-cn"),
    ],
)
def test_a_refused_certificate_passes_and_an_accepted_one_fails(rule, variant):
    refused = judge(
        rule, conn(1, variant, accepted=False, alert=TlsAlert("client", 2, 48, "unknown_ca"))
    )
    assert refused.verdict is Verdict.PASS and variant in refused.why
    assert cipher_suite_name(0x0035) in refused.why
    taken = judge(rule, conn(1, variant) + conn(2))
    assert taken.verdict is Verdict.FAIL and variant in taken.why and "GET" in taken.why


def test_server_cn_fails_when_the_valid_control_is_refused():
    f = judge("TLS-SERVER-CN", conn(1, "wrong-cn", accepted=False) + conn(2, accepted=False))
    assert f.verdict is Verdict.FAIL and "variant valid" in f.why


def test_a_server_alert_is_not_the_device_refusing():
    alert = TlsAlert("server", 2, 40, "handshake_failure")
    f = judge("TLS-SERVER-CA", conn(1, "self-signed", chosen=None, accepted=False, alert=alert))
    assert f.verdict is Verdict.INCONCLUSIVE


def test_only_valid_certificates_say_nothing_about_the_ca_check():
    assert judge("TLS-SERVER-CA", conn(1)).verdict is Verdict.INCONCLUSIVE


def test_facts_name_the_variant_for_a_capture():
    ctx = context()
    ctx.facts.update(served_variant="self-signed", tls_expectation="reject")
    obs = [dataclasses.replace(o, server_cert_variant=None) for o in conn(1, accepted=False)]
    assert judge("TLS-SERVER-CA", obs, ctx).verdict is Verdict.PASS


def test_cn_suffix_must_be_accepted():
    cn = "prov.example.test/mailto:admin@example.test"
    assert judge("TLS-CN-SUFFIX", conn(1, "cn-suffix", cn=cn)).verdict is Verdict.PASS
    f = judge("TLS-CN-SUFFIX", conn(1, "cn-suffix", cn=cn, accepted=False))
    assert f.verdict is Verdict.FAIL and "cn-suffix" in f.why


def test_a_request_on_another_connection_does_not_count_as_accepting():
    (hs,) = conn(1, "wrong-cn", accepted=False)
    _, other_req = conn(2)
    assert judge("TLS-SERVER-CN", [hs, other_req]).verdict is Verdict.PASS


# -- TLS-DNS-MATCH ----------------------------------------------------------------------------
def test_dns_match_from_the_device_queries():
    elsewhere = dataclasses.replace(dns(0.5, "elsewhere.example.test"), answers=("192.0.2.99",))
    here = dataclasses.replace(dns(0.6, "prov.example.test"), answers=(SERVER[0],))
    refused = conn(1, cn="elsewhere.example.test", accepted=False)
    ok = conn(2)
    assert judge("TLS-DNS-MATCH", [elsewhere, here, *refused, *ok]).verdict is Verdict.PASS
    taken = conn(1, cn="elsewhere.example.test")
    f = judge("TLS-DNS-MATCH", [elsewhere, *taken])
    assert f.verdict is Verdict.FAIL and "192.0.2.99" in f.why and SERVER[0] in f.why


def test_dns_match_from_scenario_facts_and_without_data():
    ctx = context()
    ctx.facts["dns_answer_for_cert_name"] = {"elsewhere.example.test": ["192.0.2.99"]}
    obs = conn(1, cn="elsewhere.example.test", accepted=False)
    assert judge("TLS-DNS-MATCH", obs, ctx).verdict is Verdict.PASS
    assert judge("TLS-DNS-MATCH", obs).verdict is Verdict.INCONCLUSIVE


# -- client certificates ----------------------------------------------------------------------
def test_client_cert_passes_with_the_units_own_subject():
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=OWN, asked=True))
    assert f.verdict is Verdict.PASS and SERIAL in f.why


@pytest.mark.parametrize(
    ("subject", "why"),
    [
        (None, "presented none"),
        (GENERIC, "generic"),
        ({**OWN, "L": "OTHER1234"}, "L='OTHER1234'"),
        ({"OU": PRODUCT, "L": SERIAL}, "no ST"),
    ],
)
def test_client_cert_fails(subject, why):
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=subject, asked=True))
    assert f.verdict is Verdict.FAIL and why in f.why


def test_client_cert_not_asked_is_inconclusive():
    assert judge("TLS-CLIENT-CERT", conn(1, client_cert=OWN)).verdict is Verdict.INCONCLUSIVE


def test_client_cert_identity_from_the_user_agent_when_unconfigured():
    ctx = context(identity=False)
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert={**OWN, "L": "X1"}, asked=True), ctx)
    assert f.verdict is Verdict.FAIL and "User-Agent" in f.why


def test_generic_cert_pass_skip_and_fail():
    assert (
        judge("TLS-GENERIC-CERT", conn(1, client_cert=GENERIC, asked=True)).verdict is Verdict.PASS
    )
    own = judge("TLS-GENERIC-CERT", conn(1, client_cert=OWN, asked=True))
    assert own.verdict is Verdict.SKIPPED and "individual" in own.why
    none = judge("TLS-GENERIC-CERT", conn(1, asked=True))
    assert none.verdict is Verdict.FAIL
    half = judge("TLS-GENERIC-CERT", conn(1, client_cert={**GENERIC, "L": "x"}, asked=True))
    assert half.verdict is Verdict.FAIL and "L=x" in half.why
    no_serial = judge("TLS-GENERIC-CERT", conn(1, client_cert=GENERIC, asked=True, ua="cisco/X ()"))
    assert no_serial.verdict is Verdict.FAIL and "serial" in no_serial.why


# -- MACRO-CCERT -----------------------------------------------------------------------------
RULE = "https://prov.example.test/$PN-$CCERT.cfg"


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("/CP-8831-3PCC-Installed.cfg", Verdict.PASS),
        ("/CP-8831-3PCC-Not%20Installed.cfg", Verdict.PASS),
        ("/CP-8831-3PCC-yes.cfg", Verdict.FAIL),
        ("/CP-8831-3PCC-$CCERT.cfg", Verdict.FAIL),
    ],
)
def test_ccert_in_the_url(url, verdict):
    f = judge("MACRO-CCERT", conn(1, url=url), context(Profile_Rule=RULE))
    assert f.verdict is verdict, f.why


def test_ccert_must_agree_with_the_certificate_presented():
    obs = conn(1, url="/CP-8831-3PCC-Not%20Installed.cfg", client_cert=OWN, asked=True)
    f = judge("MACRO-CCERT", obs, context(Profile_Rule=RULE))
    assert f.verdict is Verdict.FAIL and "its own" in f.why


def test_ccert_in_a_post_body():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg", GPP_A="c=$CCERT")
    (hs, req) = conn(1, url="/x.cfg")
    req = dataclasses.replace(req, method="POST", request_body=b"c=Not Installed")
    assert judge("MACRO-CCERT", [hs, req], ctx).verdict is Verdict.PASS


def test_ccert_unused_is_inconclusive():
    assert judge("MACRO-CCERT", conn(1)).verdict is Verdict.INCONCLUSIVE


# -- TLS-CLIENT-CERT: never against the certificate itself (issue 10, item 5) ------------
def _analyze_ctx(stated=None):
    from dataclasses import replace

    from harness.rules.registry import DeviceIdentity

    given = DeviceIdentity(**stated) if stated else None
    return replace(context(), facts={"stated_identity": given})


def test_client_cert_against_the_user_agent_without_a_stated_identity():
    other = {**OWN, "L": "88012BA09999"}
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=other, asked=True), _analyze_ctx())
    assert f.verdict is Verdict.FAIL and "88012BA09999" in f.why and SERIAL in f.why
    assert "User-Agent" in f.why
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=OWN, asked=True), _analyze_ctx())
    assert f.verdict is Verdict.PASS and "User-Agent" in f.why


def test_client_cert_alone_is_not_judged_against_itself():
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=OWN, asked=True, ua=None), _analyze_ctx())
    assert f.verdict is Verdict.INCONCLUSIVE and "no source independent" in f.why


def test_client_cert_against_the_stated_identity_outranks_the_user_agent():
    ctx = _analyze_ctx({"product": PRODUCT, "serial": SERIAL, "mac": MAC})
    wrong_ua = "cisco/CP-8831-3PCC (88012BA05555)"
    f = judge("TLS-CLIENT-CERT", conn(1, client_cert=OWN, asked=True, ua=wrong_ua), ctx)
    assert f.verdict is Verdict.PASS and "--device" in f.why  # the UA is UA-IDENTITY's fail
    f = judge(
        "TLS-CLIENT-CERT", conn(1, client_cert={**OWN, "ST": "000e08000000"}, asked=True), ctx
    )
    assert f.verdict is Verdict.FAIL and "000e08000000" in f.why and MAC in f.why


# -- chains classified from a capture (harness.analyze.tls) ------------------------------------
def wire(obs, trusted=True, reason="classified"):
    """The records as the analyzer makes them: the variant named from the chain on the wire."""
    return [
        dataclasses.replace(o, server_cert_reason=reason, server_cert_trusted=trusted)
        if isinstance(o, TlsHandshake)
        else o
        for o in obs
    ]


def test_negotiate_does_not_fail_a_device_for_refusing_a_self_signed_server():
    unknown_ca = TlsAlert("client", 2, 48, "unknown_ca")
    obs = wire(conn(1, "self-signed", accepted=False, alert=unknown_ca), trusted=False)
    obs += wire(conn(2))
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.PASS
    assert judge("TLS-SERVER-CA", obs).verdict is Verdict.PASS


def test_negotiate_still_fails_a_device_that_refuses_a_trusted_valid_server():
    f = judge("TLS-NEGOTIATE", wire(conn(1, accepted=False)))
    assert f.verdict is Verdict.FAIL


def test_negotiate_does_not_judge_a_refusal_of_an_unseen_or_unchecked_certificate():
    unseen = conn(1, None, accepted=False)
    f = judge("TLS-NEGOTIATE", unseen)
    assert f.verdict is Verdict.INCONCLUSIVE and "not seen" in f.why
    unchecked = wire(conn(1, accepted=False), trusted=None)
    f = judge("TLS-NEGOTIATE", unchecked)
    assert f.verdict is Verdict.INCONCLUSIVE and "--trust-ca" in f.why


def test_without_trust_anchors_cn_rules_judge_and_the_ca_rule_names_what_is_missing():
    refused = wire(conn(1, "wrong-cn", accepted=False), trusted=None)
    taken = wire(conn(1, "wrong-cn"), trusted=None)
    control = wire(conn(2, accepted=False), trusted=None)
    assert judge("TLS-SERVER-CN", refused + wire(conn(2), trusted=None)).verdict is Verdict.PASS
    assert judge("TLS-SERVER-CN", taken).verdict is Verdict.FAIL
    # refusing a name-right certificate of an unchecked issuer may be right: no fail
    f = judge("TLS-SERVER-CN", refused + control)
    assert f.verdict is Verdict.PASS
    f = judge("TLS-SERVER-CA", wire(conn(1), trusted=None))
    assert f.verdict is Verdict.INCONCLUSIVE and "--trust-ca" in f.why
