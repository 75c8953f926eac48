"""Holes in what a capture saw: the `capture_gaps` fact and the question timing rules ask of it.

`harness analyze` over a set of files puts `capture_gaps` in the rule context
facts: (start, end, why) for every stretch the capture set did not see (a
missing ring-buffer file, a long silence between files). An interval between
two attempts that overlaps such a stretch cannot be judged: an attempt may have
been made inside it. No rule logic here, only the question.
"""

from __future__ import annotations

from harness.rules.registry import RuleContext


def gap_between(ctx: RuleContext, start: float, end: float) -> str | None:
    """Why the interval [start, end] cannot be timed (a capture gap inside it), else None."""
    for g_start, g_end, why in ctx.facts.get("capture_gaps") or ():
        if g_start < end and g_end > start:
            return f"the capture set has a gap from {g_start:.0f} to {g_end:.0f} ({why})"
    return None
