"""The syslog rules' windows (REQUEST_BEFORE, REQUEST_AFTER, RESULT_AFTER, the next attempt)
and the unexpanded-macro check, each pinned by a case just inside and one just outside.

Through `harness.rules.evaluate` over `build_timelines`, as in a live run and the analyzer.
The windows are harness tolerances named and documented in harness/rules/syslog_rules.py.
"""

import pytest

from harness.rules import Verdict
from harness.rules.syslog_rules import REQUEST_AFTER, REQUEST_BEFORE, RESULT_AFTER
from tests.rules.test_dns_syslog_rules import verdict
from tests.rules.timelines import PRODUCT, failure_msg, http, request_msg, success_msg, syslog

T = 1000.0
JUST = 0.5


def test_the_windows_are_the_documented_values():
    assert (REQUEST_BEFORE, REQUEST_AFTER, RESULT_AFTER) == (5.0, 1.0, 30.0)


def one_attempt(request_at, result_at):
    return [syslog(request_at, request_msg()), http(T), syslog(result_at, success_msg())]


# -- SYSLOG-REQUEST: the request message from REQUEST_BEFORE before to REQUEST_AFTER after --
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T - REQUEST_BEFORE, Verdict.PASS),
        (T - REQUEST_BEFORE - JUST, Verdict.FAIL),
        (T + REQUEST_AFTER, Verdict.PASS),
        (T + REQUEST_AFTER + JUST, Verdict.FAIL),
    ],
)
def test_request_message_window(at, expected):
    f = verdict("SYSLOG-REQUEST", one_attempt(at, T + 1))
    assert f.verdict is expected, f.why
    if expected is Verdict.FAIL:
        assert "no request message in syslog around the http request" in f.why


# -- SYSLOG-RESULT: from REQUEST_AFTER before the last request to RESULT_AFTER after its end -
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T + RESULT_AFTER, Verdict.PASS),
        (T + RESULT_AFTER + JUST, Verdict.FAIL),
        (T - REQUEST_AFTER, Verdict.PASS),
        (T - REQUEST_AFTER - JUST, Verdict.FAIL),
    ],
)
def test_result_message_window(at, expected):
    f = verdict("SYSLOG-RESULT", one_attempt(T - 1, at))
    assert f.verdict is expected, f.why
    if expected is Verdict.FAIL:
        assert "no success/failure message in syslog after the http request" in f.why


def test_result_window_ends_at_the_next_attempt():
    """A result sent after the next request started belongs to that one, not the first."""
    nxt = T + 10
    obs = [
        syslog(T, request_msg()),
        http(T, status=404),
        syslog(nxt, request_msg()),
        http(nxt),
        syslog(nxt + 1, success_msg()),
    ]
    late = [*obs, syslog(nxt + JUST, failure_msg())]
    assert verdict("SYSLOG-RESULT", late).verdict is Verdict.FAIL
    in_time = [*obs, syslog(nxt, failure_msg())]
    assert verdict("SYSLOG-RESULT", in_time).verdict is Verdict.PASS


# -- SYSLOG-MACROS --------------------------------------------------------------------------
def test_a_stray_unexpanded_macro_fails_even_outside_the_templates():
    """A message in no template's shape is still checked for unexpanded macros."""
    obs = [*one_attempt(T - 1, T + 1), syslog(T + 2, f"{PRODUCT} booted firmware $SWVER")]
    f = verdict("SYSLOG-MACROS", obs)
    assert f.verdict is Verdict.FAIL, f.why
    assert "still holds unexpanded macros $SWVER" in f.why
    assert verdict("SYSLOG-MACROS", one_attempt(T - 1, T + 1)).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T - REQUEST_BEFORE, Verdict.FAIL),  # near the attempt: compared, wrong address
        (T - REQUEST_BEFORE - JUST, Verdict.INCONCLUSIVE),  # near none: not compared
    ],
)
def test_macros_compares_messages_from_request_before_the_attempt(at, expected):
    wrong = syslog(at, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [wrong, http(T)])
    assert f.verdict is expected, f.why


@pytest.mark.parametrize(
    ("at", "expected"),
    [(T + RESULT_AFTER, Verdict.FAIL), (T + RESULT_AFTER + JUST, Verdict.INCONCLUSIVE)],
)
def test_macros_compares_messages_until_result_after_the_attempt(at, expected):
    wrong = syslog(at, success_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [http(T), wrong])
    assert f.verdict is expected, f.why
