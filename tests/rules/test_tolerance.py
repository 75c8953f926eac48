"""The timing tolerance (harness.rules.tolerance): which value is in force, what it admits,
and how a window is stated in a finding's reason (docs/timing.md: "expected 6 s ± 1.5 s
(Resync_Error_Retry_Delay=6; tolerance 1.5 s: ...)"; the numbers are the finding's facts).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from harness.rules.tolerance import (
    ATTEMPT_SETUP_S,
    DEFAULT_TIMING_TOLERANCE_S,
    TIMER_GRANULARITY_S,
    TIMESTAMP_PRECISION_S,
    DelayWindow,
    Tolerance,
    at_once,
    check_tolerance,
    tolerance_of,
)

TOL = Tolerance(1.5, "how")


def test_the_default_is_the_sum_of_its_parts_and_says_so():
    assert pytest.approx(1.5) == DEFAULT_TIMING_TOLERANCE_S
    for ctx in (SimpleNamespace(), SimpleNamespace(timing_tolerance=None)):
        tol = tolerance_of(ctx)
        assert tol.seconds == DEFAULT_TIMING_TOLERANCE_S
        assert tol.note == (
            f"tolerance 1.5 s: timestamps {TIMESTAMP_PRECISION_S:g} s + phone timer tick "
            f"{TIMER_GRANULARITY_S:g} s + attempt set-up {ATTEMPT_SETUP_S:g} s"
        )


@pytest.mark.parametrize("value", [0, 0.0, 2, 0.25])
def test_a_run_s_tolerance_replaces_the_default_even_zero(value):
    tol = tolerance_of(SimpleNamespace(timing_tolerance=value))
    assert tol.seconds == value and isinstance(tol.seconds, float)
    assert tol.note == f"tolerance {value:g} s: set by the run (--timing-tolerance)"


@pytest.mark.parametrize("value", [-0.1, -5, math.nan, math.inf, -math.inf, "1.5", None])
def test_what_is_not_a_tolerance_is_refused_with_its_value_and_where(value):
    with pytest.raises(ValueError) as exc:
        check_tolerance(value, "--timing-tolerance")
    text = str(exc.value)
    assert text.startswith(f"--timing-tolerance {value!r}: expected ")
    negative = isinstance(value, int | float) and math.isfinite(value) and value < 0
    assert ("seconds >= 0" in text) is negative
    with pytest.raises(ValueError, match=r"^timing tolerance "):
        check_tolerance(value)
    if value is not None:
        with pytest.raises(ValueError):
            tolerance_of(SimpleNamespace(timing_tolerance=value))


def test_check_tolerance_takes_zero_and_gives_a_float():
    assert check_tolerance(0) == 0.0 and isinstance(check_tolerance(3), float)


@pytest.mark.parametrize(
    ("gap", "admitted", "early"),
    [
        (6 - 1.5 - 0.01, False, True),
        (6 - 1.5, True, False),
        (7.0, True, False),
        (9 + 1.5, True, False),
        (9 + 1.5 + 0.01, False, False),
    ],
)
def test_a_window_admits_its_span_and_the_tolerance_either_side(gap, admitted, early):
    window = DelayWindow(6.0, 9.0, TOL)
    assert window.admits(gap) is admitted
    assert window.early(gap) is early


@pytest.mark.parametrize(
    ("lo", "hi", "span"),
    [
        (0.0, 0.0, "at once (within 1.5 s)"),
        (6.0, 6.0, "6 s ± 1.5 s"),
        (6.0, 9.0, "6..9 s ± 1.5 s"),
        (0.0, 40.0, "0..40 s ± 1.5 s"),
        (7.5, 7.5, "7.5 s ± 1.5 s"),
        (12.25, 52.0, "12.2..52 s ± 1.5 s"),
    ],
)
def test_the_span_states_the_window(lo, hi, span):
    assert DelayWindow(lo, hi, TOL).span == span


def test_expected_names_the_window_its_source_and_the_tolerance():
    window = DelayWindow(6.0, 6.0, TOL)
    assert window.expected("Resync_Error_Retry_Delay=6") == (
        "expected 6 s ± 1.5 s (Resync_Error_Retry_Delay=6; tolerance 1.5 s: how)"
    )
    assert window.expected("") == "expected 6 s ± 1.5 s (tolerance 1.5 s: how)"


def test_at_once_is_no_delay_within_the_tolerance():
    window = at_once(Tolerance(0.5, "how"))
    assert (window.lo, window.hi) == (0.0, 0.0)
    assert window.admits(0.5) and not window.admits(0.51) and window.admits(0.0)
    assert window.span == "at once (within 0.5 s)"
