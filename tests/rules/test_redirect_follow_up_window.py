"""A 301/302 must be followed "at once": within the timing tolerance
(harness/rules/tolerance.py), not within the grouping bound FOLLOW_UP_WINDOW
(harness/rules/attempts.py), which only decides what belongs to one attempt. A case just
inside and one just outside, through `evaluate` as in a live run and the analyzer."""

import pytest

from harness.rules import Verdict
from harness.rules.attempts import FOLLOW_UP_WINDOW
from harness.rules.tolerance import DEFAULT_TIMING_TOLERANCE_S as TOL
from tests.rules.test_status_rules import SERVER, T0, req, verdict


def test_the_grouping_bound_is_wider_than_the_tolerance():
    assert FOLLOW_UP_WINDOW == 5.0 and TOL < FOLLOW_UP_WINDOW


@pytest.mark.parametrize("code", [301, 302])
@pytest.mark.parametrize(
    ("after", "expected"),
    [(TOL, Verdict.PASS), (TOL + 0.01, Verdict.FAIL), (FOLLOW_UP_WINDOW, Verdict.FAIL)],
)
def test_a_redirect_is_followed_at_once(code, after, expected):
    loc = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
    obs = [req(T0, code, rheaders=loc), req(T0 + after, path="/moved.cfg")]
    got, why = verdict(f"HTTP-{code}", obs)
    assert got is expected, why
    if expected is Verdict.FAIL:
        assert f"within {TOL:g} s" in why
