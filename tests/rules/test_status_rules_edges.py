"""Table 3-1 rules at their exact edges, with the run's own tolerance, and with the facts a
finding states (which parameter, which status, which retries, which packet).

Through `evaluate` over `build_timelines`; each case is one a wrong rule would judge
differently (docs/mutation.md: a verdict, the evidence or a fact in the reason).
"""

from __future__ import annotations

import pytest

from harness.observe.timeline import build_timelines
from harness.profiles import encrypt_profile, gzip_profile
from harness.rules import Verdict
from harness.rules.registry import RuleContext, evaluate
from harness.rules.tolerance import DEFAULT_TIMING_TOLERANCE_S as TOL
from tests.rules.test_status_rules_branches import (
    AUTH_RULE,
    CHALLENGE,
    CREDENTIALS,
    PATH,
    PROFILE,
    RULE,
    SERVER,
    T0,
    context,
    judge,
    points_at,
    req,
    served,
    tftp,
)

KEY = "k3y"


def judge_with_tolerance(req_id, observations, tolerance, **params):
    base = {"Profile_Rule": RULE, "Resync_Error_Retry_Delay": "6", **params}
    ctx = context(**base)
    ctx = RuleContext(ctx.family, ctx.identity, ctx.parameters, {}, tolerance)
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f


# -- exact edges: lo - tolerance and hi + tolerance are inside ------------------------------
@pytest.mark.parametrize("gap", [6 - TOL, 6 + TOL])
def test_the_window_s_edges_are_inside(gap):
    f = judge("HTTP-404", [req(T0, 404), req(T0 + gap)])
    assert f.verdict is Verdict.PASS, f


def test_a_refused_connection_that_took_no_time_gets_no_extra_wait():
    from tests.rules.test_status_rules_branches import no_request

    f = judge("HTTP-CONNERR", [no_request(T0, duration=0.0), req(T0 + 6 + TOL + 0.5)])
    assert f.verdict is Verdict.FAIL and "may have waited" not in f.why, f


# -- the run's tolerance, not the default, for "at once" -----------------------------------
def test_a_redirect_is_judged_with_the_run_s_tolerance():
    moved = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
    obs = [req(T0, 302, rheaders=moved), req(T0 + 0.5, path="/moved.cfg")]
    f = judge_with_tolerance("HTTP-302", obs, 0.1)
    assert f.verdict is Verdict.FAIL and "within 0.1 s" in f.why, f
    assert judge_with_tolerance("HTTP-302", obs, 1.0).verdict is Verdict.PASS


def test_a_credentialed_retry_is_judged_with_the_run_s_tolerance():
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 0.5, headers=CREDENTIALS)]
    f = judge_with_tolerance("HTTP-401", obs, 0.1, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.FAIL and "within 0.1 s" in f.why, f
    assert points_at(f, obs[1]), f
    assert judge_with_tolerance("HTTP-401", obs, 1.0, Profile_Rule=AUTH_RULE).verdict is (
        Verdict.PASS
    )


# -- settings --------------------------------------------------------------------------------
def test_periodic_settings_at_their_edges():
    f = judge("HTTP-200", [req(T0), req(T0 + 1)], Resync_Periodic="1")  # 1 s is a period
    assert f.verdict is Verdict.PASS and "expected 1 s ± 1.5 s" in f.why, f
    f = judge("HTTP-200", [req(T0), req(T0 + 5)], Resync_Periodic=" ")
    assert f.verdict is Verdict.INCONCLUSIVE and "Resync_Periodic = 0" in f.why, f
    f = judge("HTTP-200", [req(T0), req(T0 + 12)], Resync_Periodic="12", Resync_Random_Delay="")
    assert f.verdict is Verdict.PASS and "Resync_Random_Delay=0 x 20 s" in f.why, f
    f = judge("HTTP-200", [req(T0), req(T0 + 5)], Resync_Periodic="soon")
    assert "Resync_Periodic = 'soon'" in f.why, f


def test_resync_fails_on_fnf_does_not_touch_other_failures():
    f = judge("HTTP-503", [req(T0, 503), req(T0 + 6)], Resync_Fails_On_FNF="No")
    assert f.verdict is Verdict.PASS and "is class C" in f.why, f
    assert "Resync_Fails_On_FNF" not in f.why, f


def test_the_resync_that_went_on_names_both_fetches_and_the_parameter():
    obs = [
        req(T0, path="/a.cfg"),
        req(T0 + 0.5, path="/b.cfg"),
        req(T0 + 0.5 + 3600, path="/a.cfg"),
    ]
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"http://{SERVER[0]}/b.cfg",
    }
    f = judge("HTTP-200", obs, Resync_Periodic="3600", **rules)
    assert f.verdict is Verdict.PASS, f
    first = "first: HTTP 200 for GET /a.cfg is class A, and the resync went on to HTTP 200 for"
    assert f"{first} GET /b.cfg and the next attempt came 3600.0 s later" in f.why, f
    f = judge("HTTP-404", [req(T0, 404)])
    assert "(Resync_Error_Retry_Delay=6;" in f.why, f


# -- credentials -----------------------------------------------------------------------------
def test_credentials_come_from_the_rule_of_the_challenged_path():
    rules = {"Profile_Rule": f"http://{SERVER[0]}/a.cfg", "Profile_Rule_B": AUTH_RULE}
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 3600)]
    f = judge("HTTP-401", obs, **rules)
    assert f.verdict is Verdict.FAIL and "profile rule gives --uid" in f.why, f
    assert f.why.startswith(f"HTTP 401 for GET {PATH}: "), f


def test_accepted_on_the_second_retry_states_both_gaps_and_the_final_status():
    obs = [
        req(T0, 401, rheaders=CHALLENGE),
        req(T0 + 0.1, 401, rheaders=CHALLENGE, headers=CREDENTIALS),
        req(T0 + 0.2, 200, headers=CREDENTIALS),
    ]
    f = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.PASS, f
    assert "(2 retry/retries, 0.1, 0.1 s after the answer), then HTTP 200" in f.why, f
    assert points_at(f, obs[0]), f


# -- redirects -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "location", "asked"),
    [
        ("/dir/p.cfg", "moved.cfg", "/dir/moved.cfg"),
        (PATH, f"http://{SERVER[0]}", "/"),
    ],
)
def test_a_redirect_location_is_resolved_against_the_request(url, location, asked):
    obs = [req(T0, 302, path=url, rheaders=(("Location", location),)), req(T0 + 0.2, path=asked)]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.PASS and f"asked for {asked} 0.2 s later" in f.why, f


# -- POST --------------------------------------------------------------------------------------
def test_a_post_body_that_is_not_utf8_is_judged_not_crashed():
    params = {"Profile_Rule": f"[--post a]{RULE}", "GPP_A": "$PN"}
    obs = [req(T0, method="POST", request_body=b"\xff\xfe")]
    f = judge("HTTP-POST", obs, **params)
    assert f.verdict is Verdict.FAIL and "is not GPP_A = '$PN' expanded" in f.why, f


def test_a_post_rule_never_fetched_is_inconclusive():
    params = {"Profile_Rule": f"[--post a]{RULE}", "GPP_A": "$PN"}
    f = judge("HTTP-POST", [req(T0, path="/other.cfg")], **params)
    assert f.verdict is Verdict.INCONCLUSIVE, f


# -- profile rules -----------------------------------------------------------------------------
def test_profile_aes_and_gzip_ignore_answers_of_other_kinds():
    obs = [req(T0, 404), req(T0 + 6), req(T0 + 6 + 86400)]
    assert judge("PROFILE-AES", obs, facts=served(PROFILE)).verdict is Verdict.INCONCLUSIVE
    assert judge("PROFILE-GZIP", obs, facts=served(PROFILE)).verdict is Verdict.INCONCLUSIVE
    fw = {"served": {}, "firmware_paths": ["/fw.bin"]}
    gz = [req(T0, 404), req(T0 + 6, path="/fw.bin", response_content_kind="gzip"), req(T0 + 12)]
    assert judge("PROFILE-GZIP", gz, facts=fw).verdict is Verdict.INCONCLUSIVE


def test_a_gzip_answer_is_judged_by_its_kind_alone():
    obs = [req(T0, 404), req(T0 + 6, response_content_kind="gzip"), req(T0 + 6 + 86400)]
    f = judge("PROFILE-GZIP", obs)
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f


def test_http_versions_reports_the_answer_it_judged():
    obs = [req(T0, 404), req(T0 + 6, response_version="HTTP/1.0"), req(T0 + 6 + 86400)]
    f = judge("HTTP-VERSIONS", obs, facts=served(PROFILE))
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f
    assert f.evidence == ("test",), f


def test_plain_http_judges_every_answer_and_passes_a_readable_encrypted_one():
    keyed = f"[--key {KEY}]{RULE}"
    body = encrypt_profile(PROFILE, KEY, "md5")
    obs = [req(T0, 404), req(T0 + 6)]
    f = judge("PROFILE-PLAIN-HTTP", obs, facts=served(body), Profile_Rule=keyed)
    assert f.verdict is Verdict.PASS and "with an AES-encrypted profile" in f.why, f
    assert points_at(f, obs[1]), f
    f = judge("PROFILE-PLAIN-HTTP", obs, facts=served(gzip_profile(PROFILE)))
    assert f.verdict is Verdict.FAIL and points_at(f, obs[1]), f


# -- a rule judges its own rows only, and every one of them ----------------------------------
MOVED = (("Location", f"http://{SERVER[0]}/moved.cfg"),)


def test_a_rule_does_not_judge_another_code_s_redirect_or_challenge():
    redirect = [req(T0, 302, rheaders=MOVED), req(T0 + 0.2, path="/moved.cfg")]
    f = judge("HTTP-301", redirect)
    assert f.verdict is Verdict.INCONCLUSIVE and "HTTP-301" in f.why, f
    challenge = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 0.2, headers=CREDENTIALS)]
    f = judge("HTTP-407", challenge, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.INCONCLUSIVE and "HTTP-407" in f.why, f


def test_earlier_answers_do_not_stop_the_search_for_a_redirect():
    no_location = req(T0 + 6, 302)
    obs = [
        req(T0, 404),
        no_location,
        req(T0 + 12, 302, rheaders=MOVED),
        req(T0 + 12.2, path="/moved.cfg"),
    ]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.PASS and points_at(f, obs[2]), f
    assert set(no_location.evidence.frames) <= set(f.frames), f  # every case judged is linked
    f = judge("HTTP-302", [req(T0, 302, rheaders=MOVED)])
    assert f.why.startswith(f"HTTP 302 for GET {PATH}: the device never requested"), f


def test_earlier_attempts_do_not_stop_the_search_for_a_challenge():
    obs = [
        req(T0),
        req(T0 + 86400, 401, rheaders=CHALLENGE),
        req(T0 + 86400.2, headers=CREDENTIALS),
    ]
    f = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f


# -- one resync: Profile_Rule, then _B.. at once; a path asked again starts the next ---------
RULES_AB = {
    "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
    "Profile_Rule_B": f"http://{SERVER[0]}/b.cfg",
}


@pytest.mark.parametrize(("gap", "same_resync"), [(5.0, True), (5.01, False)])
def test_the_next_profile_rule_continues_the_resync_up_to_the_follow_up_window(gap, same_resync):
    obs = [req(T0, path="/a.cfg"), req(T0 + gap, path="/b.cfg")]
    f = judge("HTTP-200", obs, Resync_Periodic="3600", **RULES_AB)
    # one resync: nothing after it to time; two: the second came far too early
    assert f.verdict is (Verdict.INCONCLUSIVE if same_resync else Verdict.FAIL), f


def test_a_path_asked_again_starts_the_next_resync_however_soon():
    obs = [req(T0, path="/a.cfg"), req(T0 + 0.5, path="/b.cfg"), req(T0 + 1.0, path="/b.cfg")]
    f = judge("HTTP-200", obs, Resync_Periodic="3600", **RULES_AB)
    assert f.verdict is Verdict.FAIL and "0.5 s later" in f.why, f
    assert points_at(f, obs[0]), f  # the resync that started at /a.cfg ended with /b.cfg


def test_each_resync_is_one_case():
    obs = [
        req(T0, path="/a.cfg"),
        req(T0 + 0.5, path="/b.cfg"),
        req(T0 + 3600.5, path="/a.cfg"),
        req(T0 + 3601, path="/b.cfg"),
    ]
    f = judge("HTTP-200", obs, Resync_Periodic="3600", **RULES_AB)
    assert f.verdict is Verdict.PASS and f.why.startswith("all 2 cases pass"), f


def test_a_connection_that_failed_right_after_a_success_continues_the_resync():
    facts = {"unanswered": [{"time": T0 + 1, "outcome": "connection-error", "url": RULE}]}
    f = judge("HTTP-200", [req(T0), req(T0 + 7)], facts=facts)
    assert f.verdict is Verdict.INCONCLUSIVE, f
    assert "the resync went on with the next profile rule (no answer (connection-error)" in f.why


# -- the profile rule's key where the rule's path is not known ---------------------------------
def test_a_macro_path_s_key_still_reads_the_profile():
    from harness.rules.registry import DeviceIdentity

    body = encrypt_profile(PROFILE, KEY, "md5")
    rule = f"[--key {KEY}]http://{SERVER[0]}/$PN.cfg"
    path = "/CP-8831-3PCC.cfg"
    obs = [req(T0, path=path), req(T0 + 86400, path=path)]
    f = judge(
        "PROFILE-AES",
        obs,
        facts=served(body, path=path),
        identity=DeviceIdentity(),
        Profile_Rule=rule,
    )
    assert f.verdict is Verdict.PASS, f


def test_a_tftp_transfer_after_a_challenge_is_no_credentialed_retry():
    """A 401 not retried, then (within the follow-up window) a TFTP fetch: the challenge
    was refused for good (class C), not "retried ... then HTTP None"."""
    obs = [req(T0, 401, rheaders=CHALLENGE), tftp(T0 + 0.2, duration=1.0)]
    f = judge("HTTP-401", obs)
    assert f.verdict is Verdict.FAIL and "still refused" in f.why, f
    assert "is class C (credentials refused after 2 retries)" in f.why, f
    assert "the next attempt came 0.2 s later" in f.why, f
    f = judge("HTTP-401", [req(T0, 401, rheaders=CHALLENGE), tftp(T0 + 6, duration=1.0)])
    assert f.verdict is Verdict.PASS and "still refused" in f.why, f


def test_a_macro_upgrade_path_is_no_known_firmware_path():
    bad = dict(response_content_kind="xml-profile", profile_valid=False)
    obs = [req(T0, path="/$PN.bin", **bad), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, Upgrade_Rule=f"http://{SERVER[0]}/$PN.bin")
    assert f.verdict is Verdict.PASS, f


def test_only_a_transfer_encoding_header_says_chunked():
    obs = [req(T0, rheaders=(("Content-Type", "text/chunked"),)), req(T0 + 86400)]
    assert judge("HTTP-VERSIONS", obs, facts=served(PROFILE)).verdict is Verdict.INCONCLUSIVE


def test_compression_known_to_the_exchange_wins_when_the_body_is_read_for_the_rest():
    known = dict(response_content_kind="xml-profile", profile_gzipped=False)
    obs = [req(T0, **known), req(T0 + 86400)]
    f = judge("PROFILE-GZIP", obs, facts=served(gzip_profile(PROFILE)))
    assert f.verdict is Verdict.INCONCLUSIVE, f


def test_an_aes_profile_of_unknown_readability_does_not_hide_a_later_one():
    body = encrypt_profile(PROFILE, KEY, "md5")
    rules = {
        "Profile_Rule": f"[--key $MA]http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"[--key {KEY}]http://{SERVER[0]}/b.cfg",
    }
    facts = {"served": {"/a.cfg": [{"body": body}], "/b.cfg": [{"body": body}]}}
    obs = [
        req(T0, path="/a.cfg"),
        req(T0 + 0.5, path="/b.cfg"),
        req(T0 + 0.5 + 86400, path="/a.cfg"),
    ]
    f = judge("PROFILE-AES", obs, facts=facts, **rules)
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f
