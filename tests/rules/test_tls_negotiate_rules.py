"""TLS-NEGOTIATE, branch by branch: which handshakes say something about a suite, what the
device offered over all its ClientHellos, suites this machine could not offer, the
handshake a finding points at (time and frames) and the suites its reason names.

Spec: when the server picks any one Table 3-2 suite the phone offered, the handshake
completes.
"""

from harness.observe.events import TlsAlert
from harness.rules import Verdict
from harness.spec.ciphers import cipher_suite_name
from tests.rules.test_tls_client_cert_rules import points_at
from tests.rules.test_tls_rules import conn, judge, wire
from tests.rules.timelines import context

DHE256, AES256, DHE128, AES128, RC4 = 0x0039, 0x0035, 0x0033, 0x002F, 0x0005
GCM = 0xC02F  # not in the 8831's set
CANNOT = "inconclusive: this machine's TLS stack cannot offer TLS_RSA_WITH_RC4_128_SHA"


def name(suite):
    return cipher_suite_name(suite)


def offer_verdicts(**by_suite):
    ctx = context()
    ctx.facts["suite_offer_verdicts"] = {int(k[1:], 16): v for k, v in by_suite.items()}
    return ctx


def test_a_failure_after_a_handshake_outside_the_set_is_still_found():
    obs = conn(1, offered=(GCM, AES256), chosen=GCM, accepted=False)
    obs += conn(2, offered=(AES256,), chosen=AES256, accepted=False)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.FAIL and name(AES256) in f.why
    assert points_at(f, obs[1])


def test_a_failure_after_a_suite_the_device_did_not_offer_is_still_found():
    # the server picked a suite the device never offered: nothing to judge on that one
    obs = conn(1, offered=(AES256,), chosen=DHE256, accepted=False)
    obs += conn(2, offered=(AES256,), chosen=AES256, accepted=False)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.FAIL and name(AES256) in f.why
    assert points_at(f, obs[1])


def test_a_failure_after_an_unjudged_refusal_is_still_found():
    unseen = conn(1, None, offered=(DHE256, AES256), chosen=DHE256, accepted=False)
    refused = conn(2, offered=(DHE256, AES256), chosen=AES256, accepted=False)
    f = judge("TLS-NEGOTIATE", unseen + refused)
    assert f.verdict is Verdict.FAIL and name(AES256) in f.why and "variant valid" in f.why
    assert points_at(f, refused[0])


def test_a_handshake_completed_on_a_bad_certificate_shows_the_suite_works():
    (hs, req) = conn(1, "wrong-cn", offered=(AES256,), chosen=AES256)
    f = judge("TLS-NEGOTIATE", [hs, req])
    assert f.verdict is Verdict.PASS and name(AES256) in f.why
    assert points_at(f, hs)


def test_a_pass_links_every_suite_that_completed_and_names_those_not_tried():
    offered = (DHE256, AES256, DHE128, AES128, 0x00FF)
    obs = [
        conn(1, offered=offered, chosen=DHE256),
        conn(2, offered=offered, chosen=AES256),
        conn(3, offered=offered, chosen=AES256),  # a suite already shown
        conn(4, offered=offered, chosen=DHE128),
    ]
    f = judge("TLS-NEGOTIATE", [o for c in obs for o in c])
    assert f.verdict is Verdict.PASS
    assert f"not tried: {name(AES128)})" in f.why  # offered, in the set, never picked
    assert name(RC4) not in f.why  # in the set, never offered
    assert points_at(f, obs[0][0], obs[1][0], obs[3][0])


def test_a_pass_with_every_offered_suite_tried_names_none_as_not_tried():
    f = judge("TLS-NEGOTIATE", conn(1, offered=(AES256,), chosen=AES256))
    assert f.verdict is Verdict.PASS and "not tried" not in f.why


def test_a_suite_this_machine_cannot_offer_counts_over_every_client_hello():
    # RC4 was offered in the first ClientHello only: still a suite left unjudged
    ctx = offer_verdicts(x0005=CANNOT)
    obs = conn(1, offered=(AES256, RC4), chosen=AES256) + conn(2, offered=(AES256,), chosen=AES256)
    f = judge("TLS-NEGOTIATE", obs, ctx)
    assert f.verdict is Verdict.INCONCLUSIVE and CANNOT in f.why
    assert points_at(f, obs[0])


def test_a_suite_never_offered_or_offerable_leaves_the_pass_alone():
    # RC4 could not be offered by this machine, but the device never offered it
    f = judge(
        "TLS-NEGOTIATE", conn(1, offered=(AES256,), chosen=AES256), offer_verdicts(x0005=CANNOT)
    )
    assert f.verdict is Verdict.PASS
    # DHE128 could be offered ("ok") and the device offered it: not tried, still a pass
    obs = conn(1, offered=(AES256, DHE128), chosen=AES256)
    f = judge("TLS-NEGOTIATE", obs, offer_verdicts(x0033="ok"))
    assert f.verdict is Verdict.PASS and f"not tried: {name(DHE128)}" in f.why


def test_without_a_completed_handshake_the_unofferable_suites_are_named():
    ctx = offer_verdicts(x0005=CANNOT)
    obs = conn(1, offered=(AES256, RC4), chosen=None, accepted=False)
    f = judge("TLS-NEGOTIATE", obs, ctx)
    assert f.verdict is Verdict.INCONCLUSIVE and CANNOT in f.why
    assert f.time is None and f.frames == ()


def test_a_suite_only_refused_on_an_unseen_certificate_is_not_judged():
    # AES128 completed; DHE256 was refused on a certificate the capture did not show
    done = conn(1, offered=(DHE256, AES128), chosen=AES128)
    unseen = conn(2, None, offered=(DHE256, AES128), chosen=DHE256, accepted=False)
    f = judge("TLS-NEGOTIATE", done + unseen)
    assert f.verdict is Verdict.INCONCLUSIVE and name(DHE256) in f.why and "not seen" in f.why
    assert points_at(f, done[0])


def test_a_refused_unchecked_certificate_names_the_missing_trust_anchors():
    refused = wire(conn(1, offered=(AES256,), chosen=AES256, accepted=False), trusted=None)
    f = judge("TLS-NEGOTIATE", refused)
    assert f.verdict is Verdict.INCONCLUSIVE and name(AES256) in f.why and "--trust-ca" in f.why


def test_a_failure_names_the_suite_the_variant_and_the_alert():
    alert = TlsAlert("client", 2, 40, "handshake_failure")
    obs = conn(1, "cn-suffix", offered=(DHE256,), chosen=DHE256, accepted=False, alert=alert)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.FAIL
    assert name(DHE256) in f.why and "cn-suffix" in f.why and "handshake_failure" in f.why
    assert points_at(f, obs[0])
