"""`gap_between`: an interval between two attempts cannot be timed when a capture gap lies
inside it or overlaps it; touching its ends is no overlap."""

from dataclasses import replace

import pytest

from harness.rules.capture_gaps import gap_between
from tests.rules.timelines import context

GAPS = [(100.0, 200.0, "file 3 of 9 is missing"), (500.0, 510.4, "no packet for 10 s")]


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        (0, 100, None),  # ends where the gap starts
        (200, 300, None),  # starts where the gap ends
        (0, 100.5, "the capture set has a gap from 100 to 200 (file 3 of 9 is missing)"),
        (199.5, 300, "the capture set has a gap from 100 to 200 (file 3 of 9 is missing)"),
        (120, 130, "the capture set has a gap from 100 to 200 (file 3 of 9 is missing)"),
        (300, 600, "the capture set has a gap from 500 to 510 (no packet for 10 s)"),
        (0, 1000, "the capture set has a gap from 100 to 200 (file 3 of 9 is missing)"),
    ],
)
def test_an_interval_overlapping_a_gap_cannot_be_timed(start, end, why):
    ctx = replace(context(), facts={"capture_gaps": GAPS})
    assert gap_between(ctx, start, end) == why


def test_no_gaps_known():
    assert gap_between(context(), 0, 1e9) is None
    assert gap_between(replace(context(), facts={"capture_gaps": None}), 0, 1e9) is None
