"""FOLLOW_UP_WINDOW (harness/rules/attempts.py): a 301/302 must be followed "at once"; the
harness reads that as within this many seconds. A case just inside and one just outside,
through `evaluate` as in a live run and the analyzer. (The retry-delay tolerance of the
status rules is pinned by tests/rules/test_status_rules*.py.)"""

import pytest

from harness.rules import Verdict
from harness.rules.attempts import FOLLOW_UP_WINDOW
from tests.rules.test_status_rules import SERVER, T0, req, verdict


def test_the_window_is_the_documented_value():
    assert FOLLOW_UP_WINDOW == 5.0


@pytest.mark.parametrize("code", [301, 302])
@pytest.mark.parametrize(
    ("after", "expected"),
    [(FOLLOW_UP_WINDOW, Verdict.PASS), (FOLLOW_UP_WINDOW + 0.5, Verdict.FAIL)],
)
def test_a_redirect_is_followed_within_the_window(code, after, expected):
    loc = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
    obs = [req(T0, code, rheaders=loc), req(T0 + after, path="/moved.cfg")]
    got, why = verdict(f"HTTP-{code}", obs)
    assert got is expected, why
    if expected is Verdict.FAIL:
        assert f"within {FOLLOW_UP_WINDOW:g} s" in why
