"""Checks every rule test gets for free: what a rule returns is a well-formed finding of the
requirement it was asked about, and a rule never raises.

`registry.evaluate` turns a rule that raises into an inconclusive finding (one bad rule must
not stop a run); in a rule test that would let a crashing rule pass every test expecting
"inconclusive". A finding filed under another requirement, or with no reason, would leave
the asked requirement unjudged in a report. So, for the duration of each test here, every
registered rule is wrapped: its findings must carry its own requirement ID, a verdict and a
non-empty reason, and an exception fails the test.
"""

from __future__ import annotations

import pytest

from harness.rules import registry
from harness.rules.finding import Verdict


@pytest.fixture(autouse=True)
def rules_return_well_formed_findings(monkeypatch):
    problems: list[str] = []
    for req_id, fn in registry.registered_rules().items():
        monkeypatch.setitem(registry._RULES, req_id, _checked(req_id, fn, problems))
    yield
    assert not problems, f"rules misbehaved (evaluate hid it): {problems}"


def _checked(req_id, fn, problems):
    """`fn`, noting what is wrong with it in `problems` (an assertion here would be caught
    by evaluate like any other exception, so the fixture's teardown reports them)."""

    def checked(timeline, ctx):
        try:
            found = list(fn(timeline, ctx))
        except Exception as exc:
            problems.append(f"{req_id} raised {type(exc).__name__}: {exc}")
            raise
        for f in found:
            if f.rule != req_id:
                problems.append(f"{req_id} returned a finding of {f.rule!r}")
            if not isinstance(f.verdict, Verdict):
                problems.append(f"{req_id}: verdict {f.verdict!r}")
            if not (isinstance(f.why, str) and f.why.strip()):
                problems.append(f"{req_id}: no reason ({f.why!r})")
            if f.device != timeline.id:
                problems.append(f"{req_id}: finding on device {f.device!r}")
        return found

    return checked
