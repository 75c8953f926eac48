"""Every branch of the Table 3-1 rules (harness.rules.status_rules) reached, with the facts
its finding must state and the observation it must point at.

Through `evaluate` over `build_timelines`, as in a live run and `harness analyze`: what
an attempt counts as (a redirect not followed, a TFTP transfer, a connection that sent
nothing), which settings make the spec give no delay to judge against, which answers are
profiles (the rule's path with its macros expanded, the `served` and `firmware_paths`
facts), and the Location / credentials checks of the redirect and auth rows.
"""

from __future__ import annotations

import pytest

from harness.observe.events import HttpExchange, TftpTransfer
from harness.observe.timeline import build_timelines
from harness.profiles import encrypt_profile, render_xml_profile
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate, registered_rules
from harness.rules.status_rules import requirements, rule_targets
from harness.rules.tolerance import DEFAULT_TIMING_TOLERANCE_S as TOL
from harness.spec import load_family
from harness.spec.status_table import all_status_rows, all_transport_rows
from tests.rules.timelines import DEV, IP, MAC, PRODUCT, SERIAL, SERVER, UA, context, ev

T0 = 1_700_000_000.0
EPS = 0.01
PATH = "/p.cfg"
RULE = f"http://{SERVER[0]}{PATH}"
AUTH_RULE = f"[--uid u --pwd p]{RULE}"
PROFILE = render_xml_profile({"GPP_P": "x"})
JUNK = b"\x00junk"
CHALLENGE = (("WWW-Authenticate", 'Basic realm="x"'),)
CREDENTIALS = (("Authorization", "Basic dTpw"),)
MOVED = (("Location", f"http://{SERVER[0]}/moved.cfg"),)


def req(t, status=200, *, path=PATH, method="GET", rheaders=(), headers=(), **kw):
    return HttpExchange(
        time=t, client=(IP, 40000), server=kw.pop("server", SERVER), device=DEV, evidence=ev(),
        method=method, url=path, user_agent=UA, status=status,
        response_headers=tuple(rheaders), headers=tuple(headers), **kw,
    )  # fmt: skip


def no_request(t, *, outcome="connection-error", duration=0.0, note="", server=SERVER):
    """A connection that failed before any request was sent."""
    return HttpExchange(
        time=t, client=(IP, 40001), server=server, device=DEV, evidence=ev(), method="",
        url="", status=None, outcome=outcome, note=note, duration=duration,
    )  # fmt: skip


def tftp(t, *, outcome="complete", error_code=None, duration=1.0, filename="p.cfg"):
    return TftpTransfer(
        time=t, client=(IP, 40002), server=(SERVER[0], 69), device=DEV, evidence=ev(),
        op="RRQ", filename=filename, outcome=outcome, error_code=error_code, duration=duration,
    )  # fmt: skip


def judge(req_id, observations, *, facts=None, identity=None, **params):
    base = {
        "Profile_Rule": RULE,
        "Resync_Periodic": "86400",
        "Resync_Random_Delay": "0",
        "Resync_Error_Retry_Delay": "6",
    }
    ctx = context(**{**base, **params})
    ident = ctx.identity if identity is None else identity
    ctx = RuleContext(ctx.family, ident, ctx.parameters, dict(facts or {}))
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f


def points_at(f, obs):
    return f.time == obs.time and set(obs.evidence.frames) <= set(f.frames)


def served(*bodies, path=PATH):
    return {"served": {path: [{"body": b} for b in bodies]}}


# -- the profile rule's path: macros expanded with the device's identity ----------------
@pytest.mark.parametrize("mac", [MAC, "00:0E:08:AB:CD:EF", "00-0e-08-ab-cd-ef"])
def test_the_rule_path_is_expanded_with_every_identity_macro(mac):
    rule = f"http://{SERVER[0]}/$PN/$SN/$MA/$MAU/$MAC.cfg"
    ctx = context(Profile_Rule=rule)
    ctx = RuleContext(ctx.family, DeviceIdentity(PRODUCT, SERIAL, mac), ctx.parameters)
    (target,) = rule_targets(ctx)
    path = f"/{PRODUCT}/{SERIAL}/000e08abcdef/000E08ABCDEF/00:0e:08:ab:cd:ef.cfg"
    assert (target.parameter, target.path) == ("Profile_Rule", path)


def test_a_macro_the_identity_cannot_fill_leaves_the_path_unknown():
    family = load_family("cisco-8831-3pcc")
    params = {"Profile_Rule": f"http://{SERVER[0]}/$PN-$SN.cfg"}
    only_product = RuleContext(family, DeviceIdentity(product=PRODUCT), params)
    assert rule_targets(only_product)[0].path is None
    only_serial = RuleContext(family, DeviceIdentity(serial=SERIAL), params)
    assert rule_targets(only_serial)[0].path is None
    both = RuleContext(family, DeviceIdentity(PRODUCT, SERIAL), params)
    assert rule_targets(both)[0].path == f"/{PRODUCT}-{SERIAL}.cfg"
    no_mac = RuleContext(family, DeviceIdentity(PRODUCT, SERIAL), {"Profile_Rule": "/$MA.cfg"})
    assert rule_targets(no_mac)[0].path is None
    # one context after another: each gets its own targets
    assert rule_targets(only_product)[0].path is None


def test_an_unreadable_answer_on_the_expanded_rule_path_is_corrupt():
    rule = f"http://{SERVER[0]}/$PN.cfg"
    path = f"/{PRODUCT}.cfg"
    bad = dict(response_content_kind="other", profile_valid=False)
    obs = [req(T0, path=path, **bad), req(T0 + 6, path=path)]
    f = judge("HTTP-CORRUPT", obs, Profile_Rule=rule)
    assert (
        f.verdict is Verdict.PASS
        and f"HTTP 200 with a body that is not a valid profile ({path})" in f.why
    ), f
    assert points_at(f, obs[0]), f
    # the path unknown (no product to expand $PN): an "other" body is not a profile
    f = judge("HTTP-CORRUPT", obs, Profile_Rule=rule, identity=DeviceIdentity())
    assert f.verdict is Verdict.INCONCLUSIVE, f


# -- what the server served: the k-th 200 answer on a path gets the k-th entry -----------
def test_only_200_answers_take_a_served_entry_and_the_last_repeats():
    obs = [req(T0, 404), req(T0 + 6), req(T0 + 12), req(T0 + 18)]
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK, JUNK, PROFILE))
    # the 404 takes nothing: the answers at 6 and 12 are the junk ones, both retried at 6 s
    assert f.verdict is Verdict.PASS and f.why.startswith("all 2 cases pass"), f
    assert points_at(f, obs[1]) and set(obs[2].evidence.frames) <= set(f.frames), f
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK))  # the last entry repeats
    assert f.verdict is Verdict.PASS and f.why.startswith("all 2 cases pass"), f


def test_an_answer_on_a_path_with_no_served_entry_leaves_the_entries_alone():
    obs = [req(T0, path="/other.cfg"), req(T0 + 10), req(T0 + 16)]
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK))
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f


def test_a_served_fact_that_is_not_a_mapping_is_ignored():
    obs = [req(T0), req(T0 + 86400)]
    f = judge("HTTP-200", obs, facts={"served": [{"body": JUNK}]})
    assert f.verdict is Verdict.PASS, f
    assert judge("HTTP-CORRUPT", obs, facts={"served": [{"body": JUNK}]}).verdict is (
        Verdict.INCONCLUSIVE
    )


# -- firmware images are not profiles ----------------------------------------------------
FW_ANSWER = dict(response_content_kind="xml-profile", profile_valid=False)


@pytest.mark.parametrize(
    ("facts", "params", "corrupt"),
    [
        ({}, {}, True),
        ({"firmware_paths": ["/fw.bin"]}, {}, False),
        ({"firmware_paths": ("/a.bin", "/fw.bin")}, {}, False),
        ({}, {"Upgrade_Rule": f"http://{SERVER[0]}/fw.bin"}, False),
        ({}, {"Upgrade_Rule": "/fw.bin"}, False),
        ({}, {"Upgrade_Rule": f"http://{SERVER[0]}/$PN.bin"}, True),  # not a literal path
        ({"firmware_paths": ["/other.bin"]}, {"Upgrade_Rule": "/fw.bin"}, True),  # fact wins
    ],
)
def test_an_answer_on_a_firmware_path_is_not_judged_as_a_profile(facts, params, corrupt):
    obs = [req(T0, path="/fw.bin", **FW_ANSWER), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=facts, **params)
    assert f.verdict is (Verdict.PASS if corrupt else Verdict.INCONCLUSIVE), f


# -- how an answer was framed --------------------------------------------------------------
def test_the_exchange_s_own_framing_wins_over_its_headers():
    chunked_header = (("Transfer-Encoding", "chunked"),)
    facts = served(PROFILE)
    obs = [req(T0, response_chunked=True), req(T0 + 86400)]
    f = judge("HTTP-VERSIONS", obs, facts=facts)
    assert f.verdict is Verdict.PASS and f.why.startswith("a chunked HTTP/1.1 answer: "), f
    assert f.why.endswith("(not exercised: an HTTP/1.0 answer)"), f
    obs = [req(T0, response_chunked=False, rheaders=chunked_header), req(T0 + 86400)]
    assert judge("HTTP-VERSIONS", obs, facts=facts).verdict is Verdict.INCONCLUSIVE
    obs = [req(T0, rheaders=(("transfer-encoding", "gzip, Chunked"),)), req(T0 + 86400)]
    assert judge("HTTP-VERSIONS", obs, facts=facts).verdict is Verdict.PASS
    # the status line's version from the exchange, over the served fact's
    v10 = {"served": {PATH: [{"body": PROFILE, "version": "HTTP/1.0"}]}}
    obs = [req(T0, response_version="HTTP/1.1"), req(T0 + 86400)]
    assert judge("HTTP-VERSIONS", obs, facts=v10).verdict is Verdict.INCONCLUSIVE
    obs = [req(T0, response_version="HTTP/1.0"), req(T0 + 86400)]
    f = judge("HTTP-VERSIONS", obs, facts=served(PROFILE))
    assert f.verdict is Verdict.PASS and "(not exercised: a chunked HTTP/1.1 answer)" in f.why


def test_http_versions_ignores_answers_that_are_not_profiles():
    obs = [req(T0, path="/fw.bin", response_chunked=True), req(T0 + 6)]
    f = judge("HTTP-VERSIONS", obs, facts={"firmware_paths": ["/fw.bin"]})
    assert f.verdict is Verdict.INCONCLUSIVE, f


# -- what an attempt counts as -----------------------------------------------------------
def test_a_redirect_not_followed_is_a_failure_before_the_next():
    obs = [req(T0, 302, rheaders=MOVED), req(T0 + 200, 404), req(T0 + 260)]
    f = judge("HTTP-404", obs, Resync_Error_Retry_Delay="6,60")
    assert f.verdict is Verdict.PASS and "value 2 of Resync_Error_Retry_Delay=6,60" in f.why, f


@pytest.mark.parametrize(
    ("setting", "klass"), [("No", "A"), ("no", "A"), ("Yes", "B"), ("", "B"), ("maybe", "B")]
)
def test_resync_fails_on_fnf_decides_the_class_of_a_404(setting, klass):
    obs = [req(T0, 404), req(T0 + 6)]
    f = judge("HTTP-404", obs, Resync_Fails_On_FNF=setting)
    assert f"is class {klass}" in f.why, f
    assert f.verdict is (Verdict.PASS if klass == "B" else Verdict.FAIL), f
    assert ("Resync_Fails_On_FNF = No" in f.why) is (klass == "A"), f


def test_resync_fails_on_fnf_leaves_a_corrupt_profile_a_failure():
    obs = [req(T0), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK), Resync_Fails_On_FNF="No")
    assert f.verdict is Verdict.PASS and "is class B" in f.why, f


@pytest.mark.parametrize(
    ("gap", "want"),
    [
        (6 - TOL - EPS, Verdict.FAIL),
        (6 + TOL + 3 - EPS, Verdict.PASS),
        (6 + TOL + 3 + EPS, Verdict.FAIL),
    ],
)
def test_a_refused_connection_may_have_spent_its_syn_retries(gap, want):
    failed = no_request(T0, duration=3.0, note="refused: RST")
    f = judge("HTTP-CONNERR", [failed, req(T0 + 3 + gap)])
    assert f.verdict is want, f
    assert f.why.startswith(f"http connection to {SERVER[0]}:{SERVER[1]} refused: RST is class C")
    if want is Verdict.FAIL and gap > 6:
        assert "+ 3 s the device may have waited for the answer" in f.why, f
    assert points_at(f, failed), f


@pytest.mark.parametrize(
    ("gap", "want"), [(6 + TOL - EPS, Verdict.PASS), (6 + TOL + EPS, Verdict.FAIL)]
)
def test_a_connection_that_timed_out_before_any_request_gets_no_extra_wait(gap, want):
    failed = no_request(T0, outcome="timeout", duration=20.0)
    f = judge("HTTP-TIMEOUT", [failed, req(T0 + 20 + gap)])
    assert f.verdict is want, f
    assert f.why.startswith(f"http connection to {SERVER[0]}:{SERVER[1]} failed is class C"), f
    assert "may have waited" not in f.why, f


def test_a_connection_error_without_a_server_or_a_note():
    f = judge("HTTP-CONNERR", [no_request(T0, server=None), req(T0 + 6)])
    assert f.verdict is Verdict.PASS, f
    assert f.why.startswith("http connection to the server failed is class C"), f


@pytest.mark.parametrize(
    ("outcome", "rid"), [("timeout", "HTTP-TIMEOUT"), ("no-response", "HTTP-CONNERR")]
)
def test_a_request_never_answered(outcome, rid):
    unanswered = req(T0, None, outcome=outcome, duration=2.0)
    f = judge(rid, [unanswered, req(T0 + 2 + 6)])
    assert f.verdict is Verdict.PASS, f
    assert f.why.startswith(f"no answer ({outcome}) to GET {PATH} is class C"), f
    assert points_at(f, unanswered), f


def test_unanswered_facts_name_their_url_and_default_to_a_connection_error():
    facts = {"unanswered": [{"time": T0, "url": RULE}]}
    f = judge("HTTP-CONNERR", [req(T0 + 6)], facts=facts)
    assert f.verdict is Verdict.PASS and f"no answer (connection-error) from {RULE}" in f.why, f
    f = judge("HTTP-CONNERR", [req(T0 + 6)], facts={"unanswered": [{"time": str(T0)}]})
    assert f.verdict is Verdict.PASS and "from the server" in f.why, f


def test_a_tftp_error_is_a_connection_error():
    failed = tftp(T0, outcome="error", error_code=2, duration=1.0)
    f = judge("HTTP-CONNERR", [failed, req(T0 + 1 + 6)])
    assert f.verdict is Verdict.PASS and f.why.startswith("TFTP error for /p.cfg is class C"), f
    assert points_at(f, failed), f
    f = judge("HTTP-CONNERR", [failed, req(T0 + 1 + 3)])
    assert f.verdict is Verdict.FAIL and "3.0 s later" in f.why, f


@pytest.mark.parametrize(
    ("first", "nth"),
    [
        (tftp(T0, outcome="error", error_code=1), "value 2 of"),  # file not found: class B
        (tftp(T0, outcome="timeout"), "value 2 of"),
        (tftp(T0), "value 1 of"),  # complete: a success ends the run of failures
    ],
    ids=["not-found", "timeout", "complete"],
)
def test_a_tftp_outcome_counts_in_the_run_of_failures(first, nth):
    obs = [first, req(T0 + 100, 404), req(T0 + 100 + (60 if nth == "value 2 of" else 6))]
    f = judge("HTTP-404", obs, Resync_Error_Retry_Delay="6,60")
    assert f.verdict is Verdict.PASS and nth in f.why, f


def test_a_tftp_file_not_found_is_no_connection_error():
    obs = [tftp(T0, outcome="error", error_code=1), req(T0 + 7)]
    assert judge("HTTP-CONNERR", obs).verdict is Verdict.INCONCLUSIVE


# -- settings that leave no delay to judge against ----------------------------------------
@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"Resync_At": "0300"}, "Resync_At is set: the next resync follows the daily schedule"),
        ({"Resync_Periodic": "soon"}, "cannot read the periodic settings: "),
        ({"Resync_Random_Delay": "x"}, "cannot read the periodic settings: "),
        ({"Resync_Periodic": "0"}, "Resync_Periodic = 0: no periodic resync is expected"),
        ({"Resync_Periodic": ""}, "Resync_Periodic = 0: no periodic resync is expected"),
    ],
)
def test_a_success_with_no_periodic_delay_is_not_timed(params, text):
    f = judge("HTTP-200", [req(T0), req(T0 + 5)], **params)
    assert (
        f.verdict is Verdict.INCONCLUSIVE and f"HTTP 200 for GET {PATH} is class A; {text}" in f.why
    ), f


def test_a_negative_random_delay_adds_nothing():
    f = judge(
        "HTTP-200",
        [req(T0), req(T0 + 12 + TOL + EPS)],
        Resync_Periodic="12",
        Resync_Random_Delay="-2",
    )
    assert f.verdict is Verdict.FAIL, f
    assert (
        "expected 12 s ± 1.5 s (Resync_Periodic=12 + up to 0 s Resync_Random_Delay=-2 x 20 s"
        in f.why
    )


def test_the_random_delay_is_stated_in_the_family_s_units():
    f = judge("HTTP-200", [req(T0), req(T0 + 30)], Resync_Periodic="12", Resync_Random_Delay="2")
    assert f.verdict is Verdict.PASS, f
    assert (
        "expected 12..52 s ± 1.5 s (Resync_Periodic=12 + up to 40 s Resync_Random_Delay=2 x 20 s"
        in f.why
    )


@pytest.mark.parametrize(
    ("delay", "text"),
    [
        ("abc", "Resync_Error_Retry_Delay = 'abc'"),
        ("", "Resync_Error_Retry_Delay is empty"),
    ],
)
def test_a_failure_with_no_retry_delay_is_not_timed(delay, text):
    f = judge("HTTP-404", [req(T0, 404), req(T0 + 5)], Resync_Error_Retry_Delay=delay)
    assert f.verdict is Verdict.INCONCLUSIVE and f.why.startswith(
        f"HTTP 404 for GET {PATH} is class B; {text}"
    ), f


def test_the_back_off_value_is_named_by_its_place_and_a_single_value_is_not():
    obs = [req(T0, 503), req(T0 + 3, 503), req(T0 + 9, 503), req(T0 + 21, 503), req(T0 + 33)]
    f = judge("HTTP-503", obs, Resync_Error_Retry_Delay="3,6,12")
    assert f.verdict is Verdict.PASS, f
    assert (
        "last: HTTP 503 for GET /p.cfg is class C and the next attempt came 12.0 s later" in f.why
    )
    assert "(retry 4: the last value repeats, value 3 of Resync_Error_Retry_Delay=3,6,12;" in f.why
    f = judge("HTTP-503", obs[3:], Resync_Error_Retry_Delay="12")
    assert f.verdict is Verdict.PASS and "(Resync_Error_Retry_Delay=12;" in f.why, f


# -- judge_next: where the next attempt cannot be timed ------------------------------------
def test_a_resync_that_went_on_to_a_failing_profile_rule_b_is_judged_by_it():
    obs = [req(T0, path="/a.cfg"), req(T0 + 0.5, 404, path="/b.cfg"), req(T0 + 6.5, path="/a.cfg")]
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"http://{SERVER[0]}/b.cfg",
    }
    f = judge("HTTP-200", obs, **rules)
    assert f.verdict is Verdict.INCONCLUSIVE, f
    assert "the resync went on with the next profile rule (HTTP 404 for GET /b.cfg)" in f.why, f
    assert points_at(f, obs[0]), f


def test_a_capture_gap_between_two_attempts_leaves_them_untimed():
    gap = (T0 + 1, T0 + 2, "file 3 of the ring buffer is missing")
    obs = [req(T0, 404), req(T0 + 3)]
    f = judge("HTTP-404", obs, facts={"capture_gaps": [gap]})
    assert f.verdict is Verdict.INCONCLUSIVE and "file 3 of the ring buffer is missing" in f.why, f
    assert "the next attempt cannot be timed" in f.why, f
    assert judge("HTTP-404", obs).verdict is Verdict.FAIL


def test_the_last_attempt_has_nothing_to_time():
    obs = [req(T0, 404)]
    f = judge("HTTP-404", obs)
    assert f.verdict is Verdict.INCONCLUSIVE, f
    assert "the device made no later attempt to time (expected 6 s ± 1.5 s" in f.why, f
    assert points_at(f, obs[0]), f


# -- redirects ------------------------------------------------------------------------------
def test_other_requests_before_a_redirect_do_not_hide_it():
    obs = [
        tftp(T0),
        no_request(T0 + 10),
        req(T0 + 100, 302, rheaders=MOVED),
        req(T0 + 100.2, path="/moved.cfg"),
    ]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.PASS and "the device asked for /moved.cfg 0.2 s later" in f.why, f
    assert points_at(f, obs[2]), f


def test_a_redirect_never_followed_fails_at_the_redirect():
    obs = [req(T0, 302, rheaders=MOVED)]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.FAIL, f
    assert f"the device never requested the Location http://{SERVER[0]}/moved.cfg" in f.why, f
    assert points_at(f, obs[0]), f


@pytest.mark.parametrize(("port", "want"), [(8080, Verdict.PASS), (80, Verdict.FAIL)])
def test_a_redirect_to_another_port_must_go_there(port, want):
    loc = (("Location", f"http://{SERVER[0]}:8080/moved.cfg"),)
    obs = [req(T0, 302, rheaders=loc), req(T0 + 0.2, path="/moved.cfg", server=(SERVER[0], port))]
    f = judge("HTTP-302", obs)
    assert f.verdict is want, f
    if want is Verdict.FAIL:
        assert "the device went to port 80, not 8080" in f.why, f
        assert points_at(f, obs[0]), f


@pytest.mark.parametrize(
    ("asked", "want"),
    [
        ("/moved.cfg?x=1", Verdict.PASS),
        ("/moved.cfg", Verdict.FAIL),
        ("/moved.cfg?x=2", Verdict.FAIL),
    ],
)
def test_a_redirect_with_a_query_must_keep_it(asked, want):
    loc = (("Location", "/moved.cfg?x=1"),)
    f = judge("HTTP-302", [req(T0, 302, rheaders=loc), req(T0 + 0.2, path=asked)])
    assert f.verdict is want, f
    if want is Verdict.PASS:
        assert "asked for /moved.cfg?x=1 0.2 s later" in f.why, f
    else:
        assert f"then asked for {asked}, not the Location /moved.cfg?x=1" in f.why, f


def test_a_redirect_followed_over_tftp_is_not_the_location():
    obs = [req(T0, 302, rheaders=MOVED), tftp(T0 + 0.2, filename="other.cfg")]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.FAIL and "then asked for /other.cfg" in f.why, f


def test_a_late_redirect_follow_up_states_the_gap_and_the_path():
    obs = [req(T0, 302, rheaders=MOVED), req(T0 + 3, path="/moved.cfg")]
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.FAIL, f
    assert "the next request came 3.0 s later (to /moved.cfg)" in f.why, f
    assert f"follow the Location http://{SERVER[0]}/moved.cfg" in f.why, f
    assert points_at(f, obs[0]), f


# -- credentials ----------------------------------------------------------------------------
def test_an_unanswered_connection_before_a_challenge_does_not_hide_it():
    facts = {"unanswered": [{"time": T0, "outcome": "timeout", "url": RULE}]}
    obs = [req(T0 + 6, 401, rheaders=CHALLENGE), req(T0 + 6.1, headers=CREDENTIALS)]
    f = judge("HTTP-401", obs, facts=facts, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.PASS, f
    assert (
        "retried with Authorization (1 retry/retries, 0.1 s after the answer), then HTTP 200"
        in f.why
    )
    assert points_at(f, obs[0]), f


def test_too_many_retries_point_at_the_first_one_too_many():
    obs = [req(T0, 401, rheaders=CHALLENGE)] + [
        req(T0 + 0.1 * k, 401, rheaders=CHALLENGE, headers=CREDENTIALS) for k in (1, 2, 3)
    ]
    f = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.FAIL and "retried 3 times; the spec allows at most 2" in f.why, f
    assert points_at(f, obs[3]), f


def test_a_proxy_challenge_needs_proxy_credentials():
    proxy = (("Proxy-Authenticate", 'Basic realm="x"'),)
    obs = [req(T0, 407, rheaders=proxy), req(T0 + 0.1, headers=CREDENTIALS)]
    f = judge("HTTP-407", obs, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.FAIL and "a retry carried no Proxy-Authorization header" in f.why
    assert points_at(f, obs[1]), f


def test_no_retry_although_the_rule_gives_credentials_points_at_the_challenge():
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 3600)]
    f = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.FAIL and "(up to 2 retries expected)" in f.why, f
    assert points_at(f, obs[0]), f


def test_credentials_refused_to_the_end_are_class_c():
    obs = [req(T0, 401, rheaders=CHALLENGE)] + [
        req(T0 + 0.1 * k, 401, rheaders=CHALLENGE, headers=CREDENTIALS) for k in (1, 2)
    ]
    f = judge("HTTP-401", [*obs, req(T0 + 0.2 + 6)], Profile_Rule=AUTH_RULE)
    assert f.verdict is Verdict.PASS, f
    assert f.why.startswith("retried 2 time(s) with Authorization, still refused; "), f
    assert "is class C (credentials refused after 2 retries)" in f.why, f
    assert points_at(f, obs[0]), f
    # without credentials in the rule the challenge alone is the attempt, class C too
    f = judge("HTTP-401", [obs[0], req(T0 + 6)])
    assert f.verdict is Verdict.PASS and "is class C (credentials refused after 2 retries)" in f.why


# -- profile rules ----------------------------------------------------------------------------
KEY = "k3y"


def test_profile_aes_skips_other_answers_and_judges_the_encrypted_one():
    body = encrypt_profile(PROFILE, KEY, "md5")
    obs = [req(T0, 404), req(T0 + 6), req(T0 + 6 + 86400)]
    f = judge("PROFILE-AES", obs, facts=served(body), Profile_Rule=f"[--key {KEY}]{RULE}")
    assert f.verdict is Verdict.PASS and f.why.startswith("an AES-encrypted profile: "), f
    assert points_at(f, obs[1]), f


def test_profile_aes_with_a_key_it_cannot_know_is_inconclusive():
    body = encrypt_profile(PROFILE, KEY, "md5")
    obs = [req(T0), req(T0 + 86400)]
    f = judge("PROFILE-AES", obs, facts=served(body), Profile_Rule=f"[--key $MA]{RULE}")
    assert f.verdict is Verdict.INCONCLUSIVE and "readability is unknown" in f.why, f
    assert points_at(f, obs[0]), f


def test_an_encrypted_profile_without_a_key_in_the_rule_is_unreadable():
    body = encrypt_profile(PROFILE, KEY, "md5")
    obs = [req(T0), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(body))
    assert f.verdict is Verdict.PASS and "not a valid profile" in f.why, f
    # and a key with a clear file
    f = judge("HTTP-CORRUPT", obs, facts=served(PROFILE), Profile_Rule=f"[--key {KEY}]{RULE}")
    assert f.verdict is Verdict.PASS and "not a valid profile" in f.why, f


def test_http_post_judges_only_the_rule_s_path():
    params = {"Profile_Rule": f"[--post a]{RULE}", "GPP_A": "$PN"}
    obs = [req(T0, path="/other.cfg"), req(T0 + 1, method="POST", request_body=PRODUCT.encode())]
    f = judge("HTTP-POST", obs, **params)
    assert f.verdict is Verdict.PASS and f"POST {PATH} (Profile_Rule asks [--post a])" in f.why, f
    assert points_at(f, obs[1]), f


def test_profile_plain_http_ignores_firmware_and_unreadable_bodies():
    fw = [req(T0, path="/fw.bin")]
    f = judge(
        "PROFILE-PLAIN-HTTP",
        fw,
        facts={**served(PROFILE, path="/fw.bin"), "firmware_paths": ["/fw.bin"]},
    )
    assert f.verdict is Verdict.FAIL  # a served entry makes it a profile, whatever the path
    f = judge(
        "PROFILE-PLAIN-HTTP",
        [req(T0, path="/fw.bin", response_content_kind="xml-profile", profile_valid=True)],
        facts={"firmware_paths": ["/fw.bin"]},
    )
    assert f.verdict is Verdict.INCONCLUSIVE, f
    f = judge("PROFILE-PLAIN-HTTP", [req(T0)], facts=served(JUNK))
    assert f.verdict is Verdict.INCONCLUSIVE, f
    obs = [
        req(T0, path="/fw.bin", response_content_kind="xml-profile", profile_valid=True),
        req(T0 + 1),
    ]
    f = judge("PROFILE-PLAIN-HTTP", obs, facts={**served(PROFILE), "firmware_paths": ["/fw.bin"]})
    assert f.verdict is Verdict.FAIL and points_at(f, obs[1]), f
    assert (
        "the server answered GET /p.cfg over http:// with a profile in clear (xml-profile)" in f.why
    )


def test_the_module_judges_every_http_row_and_its_profile_rules():
    table = {r.requirement for r in (*all_status_rows(), *all_transport_rows())}
    want = {r for r in table if r.startswith("HTTP-")} | {
        "PROFILE-AES",
        "PROFILE-GZIP",
        "PROFILE-PLAIN-HTTP",
        "HTTP-VERSIONS",
        "HTTP-POST",
    }
    got = list(requirements())
    assert set(got) == want and len(got) == len(want)
    assert want <= set(registered_rules())


# -- the profile rule's grammar (spec: "[options] [scheme://][server[:port]]/path") -------
@pytest.mark.parametrize(
    ("text", "options", "path"),
    [
        (RULE, {}, PATH),
        (f"  {RULE}  ", {}, PATH),
        (f"[--key K1 --uid u --pwd p]{RULE}", {"key": "K1", "uid": "u", "pwd": "p"}, PATH),
        (f" [ --post a --alias b ] {RULE}?x=1", {"post": "a", "alias": "b"}, PATH),
        ("/p.cfg", {}, PATH),  # no scheme and no server: TFTP from DHCP option 66
        ("198.51.100.9/p.cfg", {}, PATH),  # no scheme: TFTP
        (f"tftp://{SERVER[0]}:6969/d/p.cfg", {}, "/d/p.cfg"),
        (
            f"[--key A]http://{SERVER[0]}/a.cfg | [--key B]https://{SERVER[0]}/b.cfg",
            {"key": "B"},
            "/b.cfg",
        ),
        (f"http://{SERVER[0]}", {}, None),
    ],
)
def test_rule_targets_read_the_options_and_the_path(text, options, path):
    family = load_family("cisco-8831-3pcc")
    ctx = RuleContext(family, DeviceIdentity(PRODUCT, SERIAL, MAC), {"Profile_Rule": text})
    (target,) = rule_targets(ctx)
    assert (target.options, target.path) == (options, path)


def test_every_profile_rule_parameter_is_a_target_in_order_and_empty_ones_are_not():
    family = load_family("cisco-8831-3pcc")
    params = {
        "Profile_Rule": "/a.cfg",
        "Profile_Rule_B": "",
        "Profile_Rule_C": "/c.cfg",
        "Profile_Rule_D": "/d.cfg",
    }
    got = rule_targets(RuleContext(family, DeviceIdentity(), params))
    assert [(t.parameter, t.path) for t in got] == [
        ("Profile_Rule", "/a.cfg"),
        ("Profile_Rule_C", "/c.cfg"),
        ("Profile_Rule_D", "/d.cfg"),
    ]
