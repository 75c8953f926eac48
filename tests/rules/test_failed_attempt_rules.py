"""Attempts without an HTTP answer (issue 10, item 4) as the status rules see them.

A connection that failed before any request is an `HttpExchange` with `method` "" and
outcome `connection-error`; a request never answered has outcome `timeout`. Both are
class C: the next attempt must come after Resync_Error_Retry_Delay. A failed
connection followed at once by another server is failover, the same attempt.
"""

from harness.observe import build_timelines
from harness.observe.events import HttpExchange
from harness.rules import Verdict, evaluate
from tests.rules.timelines import DEV, IP, SERVER, context, ev, http

OTHER = ("198.51.100.6", 80)


def refused(t, server=SERVER):
    return HttpExchange(
        time=t, client=(IP, 40001), server=server, device=DEV, evidence=ev(), method="",
        url="", status=None, outcome="connection-error",
        note="refused: the server answered the SYN with a RST (1 SYN)", duration=0.0,
    )  # fmt: skip


def unanswered(t, waited):
    return HttpExchange(
        time=t, client=(IP, 40002), server=SERVER, device=DEV, evidence=ev(), method="GET",
        url="/CP-8831-3PCC.cfg", status=None, outcome="timeout", duration=waited,
    )  # fmt: skip


def judge(rule, observations, **params):
    (tl,) = build_timelines(observations)
    (f,) = evaluate([tl], context(**params), only=[rule])
    return f


def test_refused_then_retry_after_the_delay_passes_and_too_soon_fails():
    obs = [refused(0), refused(30), http(60)]
    f = judge("HTTP-CONNERR", obs, Resync_Error_Retry_Delay="30")
    assert f.verdict is Verdict.PASS and "refused" in f.why
    f = judge("HTTP-CONNERR", obs, Resync_Error_Retry_Delay="300")
    assert f.verdict is Verdict.FAIL and "30.0 s later" in f.why


def test_timeout_is_timed_from_the_give_up():
    obs = [unanswered(0, 20), http(50)]  # gave up at 20 s, came back 30 s later
    assert judge("HTTP-TIMEOUT", obs, Resync_Error_Retry_Delay="30").verdict is Verdict.PASS
    assert judge("HTTP-TIMEOUT", obs, Resync_Error_Retry_Delay="300").verdict is Verdict.FAIL
    assert judge("HTTP-CONNERR", obs, Resync_Error_Retry_Delay="30").verdict is Verdict.INCONCLUSIVE


def test_failover_to_another_server_at_once_is_the_same_attempt():
    f = judge("HTTP-CONNERR", [refused(0), http(0.2, server=OTHER)], Resync_Error_Retry_Delay="30")
    assert f.verdict is Verdict.INCONCLUSIVE  # no failed attempt: the failover answered
    f = judge("HTTP-CONNERR", [refused(0), http(0.2)], Resync_Error_Retry_Delay="30")
    assert f.verdict is Verdict.FAIL  # the same server again at once: a retry too soon


def test_failed_connections_are_not_requests_for_http_get_and_ua_rules():
    obs = [refused(0), http(30)]
    assert judge("HTTP-GET", obs).verdict is Verdict.PASS
    assert judge("UA-FORMAT", obs).verdict is Verdict.PASS
