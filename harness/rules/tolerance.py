"""The harness's timing tolerance: how far an observed delay may stray from the spec's.

Not a spec fact (the spec gives delays, never a slack), so it lives here, named and
documented (docs/timing.md). It is made only of what can honestly vary between the
spec's delay and the gap seen on the wire or in the lab's records:

- `TIMESTAMP_PRECISION_S`: the two timestamps a gap is made of (a capture's, or the
  lab's clock read when a request is parsed) each sit a little after the event;
- `TIMER_GRANULARITY_S`: a phone's resync timer counts whole seconds, so it may fire
  up to one tick early or late;
- `ATTEMPT_SETUP_S`: the work between the timer firing and the request on the wire
  (DNS lookup, TCP connect, TLS handshake) and between the answer and the moment the
  phone knows the outcome; an attempt's timestamp is its request's, so this is
  the part of the attempt's own duration that is not measured.

Random extra delays the spec adds (`Resync_Random_Delay` after a success and at
power-up, the `R` of an `N+R` retry delay, `Resync_At_Random_Delay`) are not part of
the tolerance: they widen the expected window itself ("6..46 s ± 1.5 s").
Gaps are measured from the end of the previous attempt where its end is known (a
TFTP transfer's duration), else from its request: the spec's timer runs from the
outcome, which a phone knows when the answer arrives.

`--timing-tolerance SECONDS` (harness analyze) and `RuleContext.timing_tolerance`
(live runs) replace the default. "At once" (Table 3-1 redirects and credentialed
retries) means within the tolerance. No I/O and no spec data here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

TIMESTAMP_PRECISION_S = 0.1
TIMER_GRANULARITY_S = 1.0
ATTEMPT_SETUP_S = 0.4
DEFAULT_TIMING_TOLERANCE_S = TIMESTAMP_PRECISION_S + TIMER_GRANULARITY_S + ATTEMPT_SETUP_S

_DEFAULT_HOW = (
    f"timestamps {TIMESTAMP_PRECISION_S:g} s + phone timer tick {TIMER_GRANULARITY_S:g} s "
    f"+ attempt set-up {ATTEMPT_SETUP_S:g} s"
)


class _HasTolerance(Protocol):
    timing_tolerance: float | None


def check_tolerance(value: float, where: str = "timing tolerance") -> float:
    """`value` as a tolerance in seconds; ValueError naming `where` when it is not one."""
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise ValueError(f"{where} {value!r}: expected a number of seconds")
    if value < 0:
        raise ValueError(f"{where} {value!r}: expected seconds >= 0")
    return float(value)


@dataclass(frozen=True)
class Tolerance:
    """The tolerance in force: seconds, and a note saying where they come from."""

    seconds: float
    how: str

    @property
    def note(self) -> str:
        return f"tolerance {self.seconds:g} s: {self.how}"


def tolerance_of(ctx: _HasTolerance) -> Tolerance:
    """The context's tolerance (`RuleContext.timing_tolerance`), else the default."""
    value = getattr(ctx, "timing_tolerance", None)
    if value is None:
        return Tolerance(DEFAULT_TIMING_TOLERANCE_S, _DEFAULT_HOW)
    return Tolerance(check_tolerance(value), "set by the run (--timing-tolerance)")


def _fmt(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class DelayWindow:
    """When the next thing is due: `lo..hi` seconds (hi > lo where the spec adds a random
    part) after the reference point, ± the tolerance."""

    lo: float
    hi: float
    tolerance: Tolerance

    def admits(self, gap: float) -> bool:
        tol = self.tolerance.seconds
        return self.lo - tol <= gap <= self.hi + tol

    def early(self, gap: float) -> bool:
        return gap < self.lo - self.tolerance.seconds

    @property
    def span(self) -> str:
        """`6 s ± 1.5 s`, `12..52 s ± 1.5 s`, `at once (within 1.5 s)`."""
        tol = self.tolerance.seconds
        if self.lo == self.hi == 0:
            return f"at once (within {tol:g} s)"
        core = _fmt(self.lo) if self.lo == self.hi else f"{_fmt(self.lo)}..{_fmt(self.hi)}"
        return f"{core} s ± {tol:g} s"

    def expected(self, what: str) -> str:
        """`expected 6 s ± 1.5 s (what; tolerance 1.5 s: ...)`."""
        inner = f"{what}; {self.tolerance.note}" if what else self.tolerance.note
        return f"expected {self.span} ({inner})"


def at_once(tolerance: Tolerance) -> DelayWindow:
    """Table 3-1's "at once": no delay, within the tolerance."""
    return DelayWindow(0.0, 0.0, tolerance)
