"""The mutation smoke for the attempt and timing constants (mutmut does not mutate
module-level constants; docs/mutation.md): each named bound of harness.rules.attempts,
harness.rules.status_rules and harness.rules.tolerance, moved up (x10) and down (x0.5),
must make its boundary test in tests/rules fail.
"""

from __future__ import annotations

import pytest

from harness.rules import Verdict, attempts, status_rules, tolerance
from tests.mutation.test_mutation_smoke import assert_moved_constant_is_caught
from tests.rules import test_attempt_grouping as grouping
from tests.rules import test_status_rules_timing as timing

TOL = tolerance.DEFAULT_TIMING_TOLERANCE_S
WAIT = status_rules.UNANSWERED_WAIT_ALLOWANCE_S
EPS = 0.01

# constant -> (module, the boundary test, its case just inside, its case just outside)
CONSTANTS = {
    "FOLLOW_UP_WINDOW": (
        attempts,
        grouping.test_follow_up_window_edges,
        (attempts.FOLLOW_UP_WINDOW, True),
        (attempts.FOLLOW_UP_WINDOW + EPS, False),
    ),
    "FOLLOW_UP_MATCH_WINDOW": (
        attempts,
        grouping.test_a_late_credentialed_retry_joins_its_attempt_up_to_the_match_window,
        (attempts.FOLLOW_UP_MATCH_WINDOW, True),
        (attempts.FOLLOW_UP_MATCH_WINDOW + EPS, False),
    ),
    "UNANSWERED_WAIT_ALLOWANCE_S": (
        status_rules,
        timing.test_timeout_edges_allow_the_wait_for_the_answer,
        (6 + TOL + WAIT - EPS, Verdict.PASS),
        (6 + TOL + WAIT + EPS, Verdict.FAIL),
    ),
    "DEFAULT_TIMING_TOLERANCE_S": (
        tolerance,
        timing.test_error_retry_delay_edges,
        ("HTTP-404", 404, 6 + TOL - EPS, Verdict.PASS),
        ("HTTP-404", 404, 6 + TOL + EPS, Verdict.FAIL),
    ),
}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
@pytest.mark.parametrize("factor", [10.0, 0.5])
def test_a_timing_bound_moved_is_caught_by_its_boundary_cases(name, factor, monkeypatch):
    assert_moved_constant_is_caught(CONSTANTS, name, factor, monkeypatch)
