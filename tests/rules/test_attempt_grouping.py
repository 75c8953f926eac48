"""How requests are grouped into attempts (harness.rules.attempts), at every bound.

An attempt is a request plus what Table 3-1 asks for next: the Location of a 301/302, the
same path with credentials after a 401/407 (at most `max_retries` of them), and the next
server tried at once after a connection that failed before any request (DNS-FAILOVER).
Each bound is tried just inside and just outside, on `group_attempts` (outside the
evaluation block, as any caller may) and, where the grouping changes a verdict, through
`evaluate` over `build_timelines` (what the live run and the analyzer call).
"""

from __future__ import annotations

import pytest

from harness.observe.events import HttpExchange, TftpTransfer
from harness.observe.timeline import build_timelines
from harness.rules import Verdict
from harness.rules.attempts import (
    FOLLOW_UP_MATCH_WINDOW,
    FOLLOW_UP_WINDOW,
    group_attempts,
    is_follow_up,
    request_path,
)
from harness.rules.registry import evaluate
from harness.spec.status_table import status_row
from tests.rules.timelines import DEV, IP, SERVER, UA, context, ev

T0 = 1_700_000_000.0  # a capture's epoch times: a gap is a difference, never a sum
EPS = 0.01
OTHER = ("198.51.100.6", 80)
PATH = "/p.cfg"
RULE = f"http://{SERVER[0]}{PATH}"
CHALLENGE = (("WWW-Authenticate", 'Basic realm="x"'),)
CREDENTIALS = (("Authorization", "Basic dTpw"),)
# another header first: the Location is looked up by name, not taken as the first header
MOVED = (("Content-Length", "0"), ("Location", f"http://{SERVER[0]}/moved.cfg"))


def req(t, status=200, *, path=PATH, rheaders=(), headers=(), server=SERVER):
    return HttpExchange(
        time=t, client=(IP, 40000), server=server, device=DEV, evidence=ev(), method="GET",
        url=path, user_agent=UA, status=status, response_headers=tuple(rheaders),
        headers=tuple(headers),
    )  # fmt: skip


def refused(t, duration=0.0, server=SERVER):
    """A connection that failed before any request (its SYNs spanned `duration` s)."""
    return HttpExchange(
        time=t, client=(IP, 40001), server=server, device=DEV, evidence=ev(), method="",
        url="", status=None, outcome="connection-error", note="refused", duration=duration,
    )  # fmt: skip


def tftp(t, filename="moved.cfg"):
    return TftpTransfer(
        time=t, client=(IP, 40002), server=(SERVER[0], 69), device=DEV, evidence=ev(),
        op="RRQ", filename=filename,
    )  # fmt: skip


def groups(observations):
    """Each attempt as the offsets (s after T0) of its requests."""
    (tl,) = build_timelines(observations)
    return [tuple(round(r.time - T0, 3) for r in a.requests) for a in group_attempts(tl)]


def judge(req_id, observations, **params):
    ctx = context(**{"Profile_Rule": RULE, "Resync_Periodic": "86400", **params})
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f


# -- failover: a failed connection, then at once another server ------------------------
@pytest.mark.parametrize("syns", [0.0, None, 3.0])
@pytest.mark.parametrize(
    ("after_end", "together"),
    [(FOLLOW_UP_WINDOW, True), (FOLLOW_UP_WINDOW + EPS, False), (FOLLOW_UP_WINDOW + 0.5, False)],
)
def test_failover_is_timed_from_the_end_of_the_failed_connection(syns, after_end, together):
    t = T0 + (syns or 0.0) + after_end
    got = groups([refused(T0, syns), req(t, server=OTHER)])
    assert (len(got) == 1) is together, got


def test_failover_needs_another_server_and_a_connection_that_sent_nothing():
    assert len(groups([refused(T0), req(T0 + 0.2)])) == 2  # the same server: a retry
    answered = req(T0, 503)
    assert len(groups([answered, req(T0 + 0.2, server=OTHER)])) == 2  # it had an answer


def test_failover_decides_whether_a_connection_error_was_an_attempt():
    # together: the attempt ended with the other server's 200, no connection error to judge
    f = judge(
        "HTTP-CONNERR",
        [refused(T0, 3.0), req(T0 + 3 + FOLLOW_UP_WINDOW, server=OTHER)],
        Resync_Error_Retry_Delay="30",
    )
    assert f.verdict is Verdict.INCONCLUSIVE, f
    # apart: a connection error retried 5.01 s after its end instead of 30 s
    failed = refused(T0, 3.0)
    late = [failed, req(T0 + 3 + FOLLOW_UP_WINDOW + EPS, server=OTHER)]
    f = judge("HTTP-CONNERR", late, Resync_Error_Retry_Delay="30")
    assert f.verdict is Verdict.FAIL and "5.0 s later" in f.why, f
    assert f.time == failed.time and f.frames == failed.evidence.frames, f


# -- follow-ups: any request within FOLLOW_UP_WINDOW of an answer asking for one --------
@pytest.mark.parametrize(
    ("gap", "together"), [(FOLLOW_UP_WINDOW, True), (FOLLOW_UP_WINDOW + EPS, False)]
)
def test_follow_up_window_edges(gap, together):
    # a request without credentials is not the follow-up a 401 asked for: only the
    # window can join it to the challenge's attempt
    got = groups([req(T0, 401, rheaders=CHALLENGE), req(T0 + gap, 200)])
    assert (len(got) == 1) is together, got


def test_the_follow_up_window_decides_the_401_verdict():
    # inside the window: a retry 5 s after the challenge, not "at once"
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + FOLLOW_UP_WINDOW, 200)]
    f = judge("HTTP-401", obs, Resync_Error_Retry_Delay="5")
    assert f.verdict is Verdict.FAIL, f
    # outside it: the 401 attempt ended (class C) and the next came Resync_Error_Retry_Delay
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + FOLLOW_UP_WINDOW + EPS, 200)]
    f = judge("HTTP-401", obs, Resync_Error_Retry_Delay="5")
    assert f.verdict is Verdict.PASS and "class C" in f.why, f


# -- a later request that plainly is the follow-up, up to FOLLOW_UP_MATCH_WINDOW --------
@pytest.mark.parametrize(
    ("gap", "together"),
    [(7.0, True), (FOLLOW_UP_MATCH_WINDOW, True), (FOLLOW_UP_MATCH_WINDOW + EPS, False)],
)
def test_a_late_redirect_follow_up_joins_its_attempt_up_to_the_match_window(gap, together):
    got = groups([req(T0, 302, rheaders=MOVED), req(T0 + gap, path="/moved.cfg")])
    assert (len(got) == 1) is together, got


@pytest.mark.parametrize(
    ("gap", "together"), [(FOLLOW_UP_MATCH_WINDOW, True), (FOLLOW_UP_MATCH_WINDOW + EPS, False)]
)
def test_a_late_credentialed_retry_joins_its_attempt_up_to_the_match_window(gap, together):
    got = groups([req(T0, 401, rheaders=CHALLENGE), req(T0 + gap, 200, headers=CREDENTIALS)])
    assert (len(got) == 1) is together, got


def test_a_late_request_elsewhere_is_a_new_attempt():
    assert len(groups([req(T0, 302, rheaders=MOVED), req(T0 + 7, path=PATH)])) == 2
    assert len(groups([req(T0, 302, rheaders=MOVED), tftp(T0 + 7)])) == 2  # not over HTTP
    no_location = (("Content-Length", "0"),)
    assert len(groups([req(T0, 302, rheaders=no_location), req(T0 + 7, path="/moved.cfg")])) == 2
    # a 401 answered later without credentials, or with them for another path
    assert len(groups([req(T0, 401, rheaders=CHALLENGE), req(T0 + 10)])) == 2
    other = req(T0 + 10, path="/q.cfg", headers=CREDENTIALS)
    assert len(groups([req(T0, 401, rheaders=CHALLENGE), other])) == 2


def test_a_late_redirect_follow_up_is_judged_in_its_attempt():
    """302 -> Location 7 s later (404), retried after the first back-off value: the 404 is
    the attempt's outcome and the first failure, so 6 s is right (with the 302 counted as
    a failed attempt of its own it would be the second, 60 s)."""
    obs = [
        req(T0, 302, rheaders=MOVED),
        req(T0 + 7, 404, path="/moved.cfg"),
        req(T0 + 13),
    ]
    f = judge("HTTP-404", obs, Resync_Error_Retry_Delay="6,60")
    assert f.verdict is Verdict.PASS and "value 1 of" in f.why, f
    f = judge("HTTP-302", obs)
    assert f.verdict is Verdict.FAIL and "7.0 s later" in f.why, f


@pytest.mark.parametrize(
    ("prev_url", "location", "path"),
    [
        ("/dir/p.cfg", "moved.cfg", "/dir/moved.cfg"),  # relative to the request's path
        ("/dir/p.cfg", "../up.cfg", "/up.cfg"),
        (PATH, f"http://{SERVER[0]}", "/"),  # no path: the root
        (PATH, "/q.cfg?x=1", "/q.cfg"),
    ],
)
def test_the_location_is_resolved_against_the_request(prev_url, location, path):
    prev = req(T0, 302, path=prev_url, rheaders=(("Location", location),))
    assert is_follow_up(prev, req(T0 + 7, path=path))
    assert not is_follow_up(prev, req(T0 + 7, path=prev_url))
    assert len(groups([prev, req(T0 + 7, path=path)])) == 1


def test_only_an_answer_asking_for_a_follow_up_has_one():
    ok_with_location = req(T0, 200, rheaders=MOVED)
    assert not is_follow_up(ok_with_location, req(T0 + 0.1, path="/moved.cfg"))
    assert not is_follow_up(req(T0, 404), req(T0 + 0.1))
    assert not is_follow_up(req(T0, 302, rheaders=MOVED), tftp(T0 + 0.1))
    assert not is_follow_up(req(T0, 302, rheaders=MOVED[:1]), req(T0 + 0.1, path="/moved.cfg"))
    challenge = req(T0, 401, rheaders=CHALLENGE)
    assert is_follow_up(challenge, req(T0 + 0.1, headers=CREDENTIALS))
    assert is_follow_up(challenge, req(T0 + 0.1, headers=(("authorization", "Basic dTpw"),)))
    assert not is_follow_up(challenge, req(T0 + 0.1))
    assert not is_follow_up(challenge, req(T0 + 0.1, path="/q.cfg", headers=CREDENTIALS))
    proxy = req(T0, 407, rheaders=(("Proxy-Authenticate", 'Basic realm="x"'),))
    assert is_follow_up(proxy, req(T0 + 0.1, headers=(("Proxy-Authorization", "Basic x"),)))


# -- auth: at most max_retries credentialed retries belong to the attempt ---------------
def test_a_late_second_credentialed_retry_is_still_a_retry():
    assert status_row(401).max_retries == 2
    obs = [
        req(T0, 401, rheaders=CHALLENGE),
        req(T0 + 0.1, 401, rheaders=CHALLENGE, headers=CREDENTIALS),
        req(T0 + 10, 200, headers=CREDENTIALS),
    ]
    assert groups(obs) == [(0.0, 0.1, 10.0)]
    f = judge("HTTP-401", obs, Profile_Rule=f"[--uid u --pwd p]{RULE}")
    assert f.verdict is Verdict.FAIL and "retry 2" in f.why and "9.9 s after" in f.why, f
    assert f.time == obs[2].time and f.frames == obs[2].evidence.frames, f


def test_only_credentialed_requests_use_up_the_retries():
    bare = [req(T0 + 0.1 * k, 401, rheaders=CHALLENGE) for k in (1, 2)]
    late = req(T0 + 10, 200, headers=CREDENTIALS)
    obs = [req(T0, 401, rheaders=CHALLENGE), *bare, late]
    assert groups(obs) == [(0.0, 0.1, 0.2, 10.0)]
    # three retries in one attempt: the one past the two allowed is the evidence
    f = judge("HTTP-401", obs, Profile_Rule=f"[--uid u --pwd p]{RULE}")
    assert f.verdict is Verdict.FAIL and "retried 3 times" in f.why, f
    assert f.time == late.time and f.frames == late.evidence.frames, f


def test_a_bare_retry_is_the_evidence_when_it_carries_no_credentials():
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 0.1, 401, rheaders=CHALLENGE)]
    f = judge("HTTP-401", obs, Profile_Rule=f"[--uid u --pwd p]{RULE}")
    assert f.verdict is Verdict.FAIL and "no Authorization header" in f.why, f
    assert f.frames == obs[1].evidence.frames, f


# -- request_path ------------------------------------------------------------------------
def test_request_path_drops_the_query_and_roots_tftp_names():
    assert request_path(req(T0, path="/p.cfg?mac=000e08abcdef")) == "/p.cfg"
    assert request_path(req(T0, path="/p.cfg")) == "/p.cfg"
    assert request_path(tftp(T0, "p.cfg")) == "/p.cfg"
    assert request_path(tftp(T0, "/d/p.cfg")) == "/d/p.cfg"


def test_a_query_does_not_hide_a_credentialed_retry():
    obs = [req(T0, 401, rheaders=CHALLENGE), req(T0 + 10, path=f"{PATH}?a=1", headers=CREDENTIALS)]
    assert len(groups(obs)) == 1


def test_a_tftp_fetch_is_no_follow_up_of_a_credentials_challenge():
    # credentials are sent over HTTP: a TFTP fetch right after a 401 is the next attempt
    assert groups([req(T0, 401, rheaders=CHALLENGE), tftp(T0 + 0.2)]) == [(0.0,), (0.2,)]
    # any request right after a redirect stays in its attempt (the redirect rule judges it)
    assert groups([req(T0, 302, rheaders=MOVED), tftp(T0 + 0.2)]) == [(0.0, 0.2)]
