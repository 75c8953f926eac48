"""RESYNC-IDLE over several calls: a call before any successful resync, calls listed out of
order, a held resync made just before the call ended, and the figures its reasons give.
Through `evaluate`, as in a live run and the analyzer."""

import pytest

from harness.rules import Verdict
from harness.rules.schedule_rules import RELEASE_WINDOW, TIMING_TOLERANCE
from tests.rules.test_schedule_rules import T0, judge
from tests.rules.timelines import context, http

# the periodic resync falls due 3600 s after a success (no random band); during a call it
# waits for the call's end, or Forced_Resync_Delay after it fell due
IDLE = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")


def test_a_call_before_any_successful_resync_is_not_judged():
    f = judge("RESYNC-IDLE", [http(T0 + 100)], IDLE, calls=[(T0 + 10, T0 + 20)])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why


def test_a_call_before_any_success_does_not_stop_the_later_calls_being_judged():
    late = http(T0 + 7200 + RELEASE_WINDOW + 100)
    calls = [(T0 - 50, T0 - 20), (T0 + 10, T0 + 7200)]
    f = judge("RESYNC-IDLE", [http(T0), late], IDLE, calls=calls)
    assert f.verdict is Verdict.FAIL, f.why
    assert f.time == late.time


@pytest.mark.parametrize("order", [1, -1])
def test_calls_are_judged_whatever_order_they_are_listed_in(order):
    """The second call falls due and nothing follows it (a periodic matter); the first held
    its resync too long: a FAIL however the scenario lists the calls."""
    obs = [http(T0), http(T0 + 7200 + RELEASE_WINDOW + 100)]
    calls = [(T0 + 10, T0 + 7200), (T0 + 7400, T0 + 20000)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=calls[::order])
    assert f.verdict is Verdict.FAIL, f.why
    assert "during call" in f.why


def test_a_held_resync_made_within_the_tolerance_before_the_call_ended_counts():
    """Call 3500..3700; the resync due at 3600 is attempted (and fails) at 3695, the call's
    end less TIMING_TOLERANCE, once Forced_Resync_Delay (100 s, less the tolerance) is up:
    that is the release, not the successful retry 100 s after the call."""
    ctx = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="100")
    end = T0 + 3700
    obs = [http(T0), http(end - TIMING_TOLERANCE, status=404), http(end + 100)]
    f = judge("RESYNC-IDLE", obs, ctx, calls=[(T0 + 3500, end)])
    assert f.verdict is Verdict.PASS, f.why
    assert "held, made -5 s after the call ended" in f.why
    obs[1] = http(end - TIMING_TOLERANCE - 1, status=404)
    ctx = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="99")
    f = judge("RESYNC-IDLE", obs, ctx, calls=[(T0 + 3500, end)])
    assert f.verdict is Verdict.FAIL, f.why  # earlier: the release is the one 100 s later
    assert "came 100 s after the call ended" in f.why


def test_held_too_long_reason_gives_when_it_fell_due_and_how_late_it_came():
    obs = [http(T0), http(T0 + 10800)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.FAIL, f.why
    # due 3600 s after the success, + 5 s tolerance, from the call's start at +10 s
    assert "during call 1 (by +3595 s into it)" in f.why
    assert "came 3600 s after the call ended" in f.why


def test_pass_reason_notes_every_call():
    obs = [http(T0), http(T0 + 7210), http(T0 + 7210 + 3600 + 14400)]
    calls = [(T0 + 10, T0 + 7200), (T0 + 7300, T0 + 30000)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=calls)
    assert f.verdict is Verdict.PASS, f.why
    assert f.why.endswith(
        "call 1: held, made 10 s after the call ended; "
        "call 2: forced after 14400 s (Forced_Resync_Delay=14400)"
    )
