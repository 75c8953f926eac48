"""Timing windows of Table 3-1 and RESYNC-PERIODIC, pinned at the tolerance's edges.

Every window a status rule or RESYNC-PERIODIC judges is tried just inside and just
outside `expected ± tolerance`, through `harness.rules.registry.evaluate` (what the
live run and `harness analyze` call). The issue's five loose cases fail and their
correct twins pass; a property test moves every gap of a compliant timeline by less
than the tolerance (verdict kept) and one gap by more (verdict flips).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.observe.events import HttpExchange
from harness.observe.timeline import build_timelines
from harness.rules import Verdict
from harness.rules.registry import RuleContext, evaluate
from harness.rules.status_rules import UNANSWERED_WAIT_ALLOWANCE_S
from harness.rules.tolerance import DEFAULT_TIMING_TOLERANCE_S
from tests.rules.timelines import DEV, IP, SERVER, UA, context, ev

TOL = DEFAULT_TIMING_TOLERANCE_S
EPS = 0.01  # how far past an edge "just inside" / "just outside" is
T0 = 1_700_000_000.0
PATH = "/p.cfg"
RULE = f"http://{SERVER[0]}{PATH}"
AUTH_RULE = f"[--uid u --pwd p]{RULE}"
CHALLENGE = (("WWW-Authenticate", 'Basic realm="x"'),)
CREDENTIALS = (("Authorization", "Basic dTpw"),)


def req(t, status=200, *, path=PATH, rheaders=(), headers=()):
    return HttpExchange(
        time=t, client=(IP, 40000), server=SERVER, device=DEV, evidence=ev(), method="GET",
        url=path, user_agent=UA, status=status, response_headers=tuple(rheaders),
        headers=tuple(headers),
    )  # fmt: skip


def judge(req_id, observations, *, tolerance=None, facts=None, **params):
    base = {"Profile_Rule": RULE, "Resync_Periodic": "86400", "Resync_Random_Delay": "0"}
    ctx = context(**{**base, **params})
    ctx = RuleContext(ctx.family, ctx.identity, ctx.parameters, dict(facts or {}), tolerance)
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f.verdict, f.why


def gaps_timeline(statuses, gaps):
    """Requests with these statuses, each `gaps[i]` seconds after the one before."""
    t, out = T0, [req(T0, statuses[0])]
    for status, gap in zip(statuses[1:], gaps, strict=True):
        t += gap
        out.append(req(t, status))
    return out


# -- the five loose cases, and their correct twins ------------------------------
def test_404_retried_after_2s_fails_when_6_is_asked_and_6s_passes():
    bad = judge("HTTP-404", [req(T0, 404), req(T0 + 2)], Resync_Error_Retry_Delay="6")
    assert bad[0] is Verdict.FAIL, bad
    for part in ("2.0 s later", "expected 6 s ± 1.5 s", "Resync_Error_Retry_Delay=6", "tolerance"):
        assert part in bad[1], bad
    ok = judge("HTTP-404", [req(T0, 404), req(T0 + 6)], Resync_Error_Retry_Delay="6")
    assert ok[0] is Verdict.PASS and "expected 6 s ± 1.5 s" in ok[1], ok


def test_403_retried_after_2s_fails_and_6s_passes():
    bad = judge("HTTP-403", [req(T0, 403), req(T0 + 2)], Resync_Error_Retry_Delay="6")
    assert bad[0] is Verdict.FAIL and "class C" in bad[1], bad
    ok = judge("HTTP-403", [req(T0, 403), req(T0 + 6)], Resync_Error_Retry_Delay="6")
    assert ok[0] is Verdict.PASS, ok


def test_third_503_of_a_back_off_list_waits_the_third_value():
    bad = judge(
        "HTTP-503", gaps_timeline([503] * 3 + [200], [3, 6, 6]), Resync_Error_Retry_Delay="3,6,12"
    )
    assert bad[0] is Verdict.FAIL and "value 3 of" in bad[1] and "expected 12 s" in bad[1], bad
    ok = judge(
        "HTTP-503", gaps_timeline([503] * 3 + [200], [3, 6, 12]), Resync_Error_Retry_Delay="3,6,12"
    )
    assert ok[0] is Verdict.PASS, ok


def test_back_off_list_last_value_repeats():
    statuses = [503] * 5 + [200]
    ok = judge(
        "HTTP-503", gaps_timeline(statuses, [3, 6, 12, 12, 12]), Resync_Error_Retry_Delay="3,6,12"
    )
    assert ok[0] is Verdict.PASS, ok
    bad = judge(
        "HTTP-503", gaps_timeline(statuses, [3, 6, 12, 6, 12]), Resync_Error_Retry_Delay="3,6,12"
    )
    assert bad[0] is Verdict.FAIL and "last value repeats" in bad[1], bad


@pytest.mark.parametrize("req_id", ["HTTP-200", "RESYNC-PERIODIC"])
def test_200_then_next_resync_after_5s_fails_when_periodic_is_12(req_id):
    bad = judge(req_id, [req(T0), req(T0 + 5)], Resync_Periodic="12")
    assert bad[0] is Verdict.FAIL and "expected 12 s ± 1.5 s" in bad[1], bad
    ok = judge(req_id, [req(T0), req(T0 + 12)], Resync_Periodic="12")
    assert ok[0] is Verdict.PASS, ok


@pytest.mark.parametrize("rule_text", [AUTH_RULE, RULE], ids=["uid-in-rule", "rule-unknown"])
def test_401_credentialed_retry_6s_later_is_not_at_once(rule_text):
    late = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 6, 200, headers=CREDENTIALS)]
    bad = judge("HTTP-401", late, Profile_Rule=rule_text, Resync_Error_Retry_Delay="6")
    assert bad[0] is Verdict.FAIL and "6.0 s after the 401" in bad[1] and "at once" in bad[1], bad
    soon = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 0.2, 200, headers=CREDENTIALS)]
    ok = judge("HTTP-401", soon, Profile_Rule=rule_text)
    assert ok[0] is Verdict.PASS and "within 1.5 s" in ok[1], ok


# -- every window, just inside and just outside ----------------------------------------
def _edge(lo, hi, tol=TOL):
    """(gap, verdict) pairs around `lo..hi ± tol`."""
    return [
        (lo - tol - EPS, Verdict.FAIL),
        (lo - tol + EPS, Verdict.PASS),
        (hi + tol - EPS, Verdict.PASS),
        (hi + tol + EPS, Verdict.FAIL),
    ]


@pytest.mark.parametrize(("gap", "want"), _edge(6, 6))
@pytest.mark.parametrize(
    ("req_id", "status"), [("HTTP-404", 404), ("HTTP-500", 500), ("HTTP-3XX", 399)]
)
def test_error_retry_delay_edges(req_id, status, gap, want):
    got = judge(req_id, [req(T0, status), req(T0 + gap)], Resync_Error_Retry_Delay="6")
    assert got[0] is want, got


@pytest.mark.parametrize(("gap", "want"), _edge(6, 9))
def test_n_plus_r_retry_delay_edges(gap, want):
    got = judge("HTTP-404", [req(T0, 404), req(T0 + gap)], Resync_Error_Retry_Delay="6+3")
    assert got[0] is want, got
    assert "6..9 s ± 1.5 s" in got[1], got


@pytest.mark.parametrize(("gap", "want"), _edge(12, 12))
def test_back_off_nth_value_edges(gap, want):
    obs = [req(T0, 503), req(T0 + 3, 503), req(T0 + 9, 503), req(T0 + 9 + gap)]
    got = judge("HTTP-503", obs, Resync_Error_Retry_Delay="3,6,12")
    assert got[0] is want, got


@pytest.mark.parametrize(("gap", "want"), _edge(12, 12 + 2 * 20))
@pytest.mark.parametrize("req_id", ["HTTP-200", "RESYNC-PERIODIC"])
def test_periodic_with_random_delay_edges(req_id, gap, want):
    # 8831: Resync_Random_Delay counts 20 s units; 2 units widen the window to 12..52 s
    got = judge(req_id, [req(T0), req(T0 + gap)], Resync_Periodic="12", Resync_Random_Delay="2")
    assert got[0] is want, got


@pytest.mark.parametrize(("gap", "want"), [(TOL - EPS, Verdict.PASS), (TOL + EPS, Verdict.FAIL)])
@pytest.mark.parametrize("code", [301, 302])
def test_redirect_at_once_edges(code, gap, want):
    loc = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
    got = judge(f"HTTP-{code}", [req(T0, code, rheaders=loc), req(T0 + gap, path="/moved.cfg")])
    assert got[0] is want, got
    assert "at once (within 1.5 s" in got[1], got


@pytest.mark.parametrize(("gap", "want"), [(TOL - EPS, Verdict.PASS), (TOL + EPS, Verdict.FAIL)])
@pytest.mark.parametrize(
    ("code", "challenge", "answer"),
    [
        (401, "WWW-Authenticate", "Authorization"),
        (407, "Proxy-Authenticate", "Proxy-Authorization"),
    ],
)
def test_credentialed_retry_at_once_edges(code, challenge, answer, gap, want):
    ch = ((challenge, 'Basic realm="x"'),)
    cred = ((answer, "Basic dTpw"),)
    obs = [req(T0, code, rheaders=ch), req(T0 + gap, 200, headers=cred)]
    got = judge(f"HTTP-{code}", obs, Profile_Rule=AUTH_RULE)
    assert got[0] is want, got


def test_second_credentialed_retry_is_timed_from_the_first():
    obs = [
        req(T0, 401, rheaders=CHALLENGE),
        req(T0 + 0.1, 401, rheaders=CHALLENGE, headers=CREDENTIALS),
        req(T0 + 0.1 + TOL + EPS, 200, headers=CREDENTIALS),
    ]
    got = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE)
    assert got[0] is Verdict.FAIL and "retry 2" in got[1], got


@pytest.mark.parametrize(
    ("gap", "want"),
    [
        (6 - TOL - EPS, Verdict.FAIL),
        (6 - TOL + EPS, Verdict.PASS),
        (6 + TOL + UNANSWERED_WAIT_ALLOWANCE_S - EPS, Verdict.PASS),
        (6 + TOL + UNANSWERED_WAIT_ALLOWANCE_S + EPS, Verdict.FAIL),
    ],
)
def test_timeout_edges_allow_the_wait_for_the_answer(gap, want):
    facts = {"unanswered": [{"time": T0, "outcome": "timeout", "url": RULE}]}
    got = judge("HTTP-TIMEOUT", [req(T0 + gap)], facts=facts, Resync_Error_Retry_Delay="6")
    assert got[0] is want, got


@pytest.mark.parametrize(("gap", "want"), _edge(6, 6))
def test_connection_error_edges(gap, want):
    facts = {"unanswered": [{"time": T0, "outcome": "connection-error", "url": RULE}]}
    got = judge("HTTP-CONNERR", [req(T0 + gap)], facts=facts, Resync_Error_Retry_Delay="6")
    assert got[0] is want, got


def test_periodic_overdue_edge_uses_the_tolerance():
    facts = {"observed_until": T0 + 12 + 12 + TOL + EPS}
    got = judge("RESYNC-PERIODIC", [req(T0), req(T0 + 12)], facts=facts, Resync_Periodic="12")
    assert got[0] is Verdict.FAIL and "no resync in the" in got[1], got
    facts = {"observed_until": T0 + 12 + 12 + TOL - EPS}
    got = judge("RESYNC-PERIODIC", [req(T0), req(T0 + 12)], facts=facts, Resync_Periodic="12")
    assert got[0] is Verdict.PASS, got


def test_profile_rule_b_in_the_same_resync_is_not_a_new_period():
    obs = [
        req(T0),
        req(T0 + 0.5, path="/b.cfg"),
        req(T0 + 0.5 + 12),
        req(T0 + 13 + 0.5, path="/b.cfg"),
    ]
    got = judge(
        "RESYNC-PERIODIC", obs, Resync_Periodic="12", Profile_Rule_B=f"http://{SERVER[0]}/b.cfg"
    )
    assert got[0] is Verdict.PASS and "1 periodic resyncs" in got[1], got


# -- the tolerance is settable and stated ----------------------------------------------
@pytest.mark.parametrize(
    ("tolerance", "want"), [(0.5, Verdict.FAIL), (1.5, Verdict.PASS), (5.0, Verdict.PASS)]
)
def test_tolerance_from_the_context(tolerance, want):
    got = judge(
        "HTTP-404", [req(T0, 404), req(T0 + 5)], tolerance=tolerance, Resync_Error_Retry_Delay="6"
    )
    assert got[0] is want, got
    assert f"± {tolerance:g} s" in got[1] and "--timing-tolerance" in got[1], got


def test_default_tolerance_says_what_it_is_made_of():
    got = judge("HTTP-404", [req(T0, 404), req(T0 + 6)], Resync_Error_Retry_Delay="6")
    assert "timestamps" in got[1] and "timer tick" in got[1] and "set-up" in got[1], got


# -- property: shifts within the tolerance keep the verdict, beyond it flip it ------------
BACK_OFF = "3,6,12"
STATUSES = [503, 503, 503, 503, 200, 200]
EXPECTED = [3, 6, 12, 12, 30]  # the 4th failure repeats the last value; then Resync_Periodic


def _periodic_judge(observations, rid):
    return judge(rid, observations, Resync_Error_Retry_Delay=BACK_OFF, Resync_Periodic="30")[0]


inside = st.floats(min_value=-(TOL - EPS), max_value=TOL - EPS, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(offsets=st.lists(inside, min_size=5, max_size=5), origin=st.floats(-1e6, 1e6))
def test_shifts_within_the_tolerance_keep_the_verdict(offsets, origin):
    obs = gaps_timeline(STATUSES, [e + d for e, d in zip(EXPECTED, offsets, strict=True)])
    obs = [req(o.time + origin, o.status) for o in obs]
    assert _periodic_judge(obs, "HTTP-503") is Verdict.PASS
    assert _periodic_judge(obs, "HTTP-200") is Verdict.PASS


@settings(max_examples=60, deadline=None)
@given(
    which=st.integers(0, 4),
    excess=st.floats(min_value=EPS, max_value=1.4),
    sign=st.sampled_from([-1, 1]),
    offsets=st.lists(inside, min_size=5, max_size=5),
)
def test_a_shift_beyond_the_tolerance_flips_the_verdict(which, excess, sign, offsets):
    gaps = [e + d for e, d in zip(EXPECTED, offsets, strict=True)]
    gaps[which] = EXPECTED[which] + sign * (TOL + excess)
    obs = gaps_timeline(STATUSES, gaps)
    rid = "HTTP-200" if which == 4 else "HTTP-503"
    assert _periodic_judge(obs, rid) is Verdict.FAIL


half = st.floats(min_value=-(TOL / 2 - EPS), max_value=TOL / 2 - EPS, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(jitter=st.lists(half, min_size=6, max_size=6))
def test_every_timestamp_moved_by_less_than_half_the_tolerance_keeps_the_verdict(jitter):
    # each gap then moves by less than the tolerance: every window still admits it
    exact = gaps_timeline(STATUSES, EXPECTED)
    obs = [req(o.time + j, o.status) for o, j in zip(exact, jitter, strict=True)]
    for rid in ("HTTP-503", "HTTP-200", "RESYNC-PERIODIC"):
        assert _periodic_judge(obs, rid) is Verdict.PASS, rid


@settings(max_examples=40, deadline=None)
@given(excess=st.floats(min_value=EPS, max_value=10), sign=st.sampled_from([-1, 1]))
def test_the_periodic_resync_moved_past_the_tolerance_fails_both_rules(excess, sign):
    gaps = list(EXPECTED)
    gaps[4] = EXPECTED[4] + sign * (TOL + excess)
    obs = gaps_timeline(STATUSES, gaps)
    for rid in ("HTTP-200", "RESYNC-PERIODIC"):
        assert _periodic_judge(obs, rid) is Verdict.FAIL, rid


def tftp_timeout(t, duration):
    from harness.observe.events import TftpTransfer

    return TftpTransfer(
        time=t, client=(IP, 40001), server=(SERVER[0], 69), device=DEV, evidence=ev(),
        op="RRQ", filename="p.cfg", outcome="timeout", duration=duration,
    )  # fmt: skip


@pytest.mark.parametrize(("gap", "want"), _edge(6, 6))
def test_gap_runs_from_the_end_of_the_previous_attempt(gap, want):
    # a TFTP transfer that gave up after 4 s: the retry delay counts from then
    obs = [tftp_timeout(T0, 4.0), req(T0 + 4.0 + gap)]
    got = judge("HTTP-TIMEOUT", obs, Resync_Error_Retry_Delay="6")
    assert got[0] is want, got


def test_credentials_sent_unasked_on_the_next_attempt_start_a_new_attempt():
    refused = [
        req(T0, 401, rheaders=CHALLENGE),
        req(T0 + 0.1, 401, rheaders=CHALLENGE, headers=CREDENTIALS),
        req(T0 + 0.2, 401, rheaders=CHALLENGE, headers=CREDENTIALS),
    ]
    obs = [*refused, req(T0 + 0.2 + 6, 200, headers=CREDENTIALS)]
    got = judge("HTTP-401", obs, Profile_Rule=AUTH_RULE, Resync_Error_Retry_Delay="6")
    assert got[0] is Verdict.PASS and "class C" in got[1], got
    early = [*refused, req(T0 + 0.2 + 4.4, 200, headers=CREDENTIALS)]  # a third retry, or early
    got = judge("HTTP-401", early, Profile_Rule=AUTH_RULE, Resync_Error_Retry_Delay="6")
    assert got[0] is Verdict.FAIL, got


# -- Profile_Rule_B..D: one resync fetches each rule in turn -----------------------------
@pytest.mark.parametrize(
    ("next_resync", "verdict"),
    [(3600.0, Verdict.PASS), (3600.0 - TOL - EPS, Verdict.FAIL), (10.0, Verdict.FAIL)],
)
def test_profile_rule_b_fetched_after_a_is_the_same_resync(next_resync, verdict):
    """/a.cfg 200 then /b.cfg 200 at once is one resync; the next comes Resync_Periodic
    after the end of the second fetch, not 0.5 s after the first."""
    obs = [
        req(T0, 200, path="/a.cfg"),
        req(T0 + 0.5, 200, path="/b.cfg"),
        req(T0 + 0.5 + next_resync, 200, path="/a.cfg"),
    ]
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"http://{SERVER[0]}/b.cfg",
    }
    v, why = judge("HTTP-200", obs, Resync_Periodic="3600", **rules)
    assert v is verdict, why
    if verdict is Verdict.PASS:
        assert "went on to HTTP 200" in why


def test_a_failing_profile_rule_b_is_judged_by_its_own_class():
    """/a.cfg 200, /b.cfg 404: the 404 (class B) sets the next attempt, not the 200."""
    obs = [
        req(T0, 200, path="/a.cfg"),
        req(T0 + 0.5, 404, path="/b.cfg"),
        req(T0 + 0.5 + 6, 200, path="/a.cfg"),
    ]
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"http://{SERVER[0]}/b.cfg",
    }
    assert judge("HTTP-404", obs, Resync_Error_Retry_Delay="6", **rules)[0] is Verdict.PASS
    assert judge("HTTP-404", obs, Resync_Error_Retry_Delay="60", **rules)[0] is Verdict.FAIL
