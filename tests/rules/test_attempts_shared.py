"""The shared attempts of one evaluation (`attempts.shared_attempts`): computed once for the
timeline being judged, and never handed to another timeline or a changed one.

`registry.evaluate` opens the block around a timeline's rules; a rule that asks about
another timeline inside it, or a timeline whose observations grew or were replaced, must
get that timeline's own requests and attempts (else another device's requests would be
judged). Outside the block every call computes.
"""

from __future__ import annotations

from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.rules.attempts import (
    group_attempts,
    provisioning_requests,
    shared_attempts,
    shared_value,
)
from tests.rules.timelines import DEV, http

T0 = 1_700_000_000.0


def timeline(*times, status=200):
    (tl,) = build_timelines([http(T0 + t, status=status) for t in times])
    return tl


def starts(attempts):
    return [round(a.start - T0, 3) for a in attempts]


def test_outside_the_block_every_call_computes():
    tl = timeline(0, 10)
    assert starts(group_attempts(tl)) == [0, 10]
    assert [r.time - T0 for r in provisioning_requests(tl)] == [0, 10]
    calls = []
    assert shared_value(tl, "k", lambda: calls.append(1) or len(calls)) == 1
    assert shared_value(tl, "k", lambda: calls.append(1) or len(calls)) == 2
    tl.observations.append(http(T0 + 20))
    assert starts(group_attempts(tl)) == [0, 10, 20]


def test_inside_the_block_the_same_attempts_are_handed_out_once_computed():
    tl = timeline(0, 10)
    with shared_attempts(tl):
        first, second = group_attempts(tl), group_attempts(tl)
        assert first == second and first is not second  # a fresh list each time...
        assert all(a is b for a, b in zip(first, second, strict=True))  # ...same attempts
        calls = []
        for _ in range(3):
            assert shared_value(tl, "k", lambda: calls.append(1) or "v") == "v"
        assert len(calls) == 1
        assert shared_value(tl, "other key", lambda: "w") == "w"
        requests = provisioning_requests(tl)
        requests.clear()  # the caller's list: the shared one is untouched
        assert len(provisioning_requests(tl)) == 2


def test_another_timeline_inside_the_block_gets_its_own():
    judged, other = timeline(0, 10), timeline(100, 200, 300)
    with shared_attempts(judged):
        assert starts(group_attempts(judged)) == [0, 10]
        assert len(provisioning_requests(judged)) == 2
        assert shared_value(judged, "k", lambda: "judged") == "judged"
        assert starts(group_attempts(other)) == [100, 200, 300]
        assert [r.time - T0 for r in provisioning_requests(other)] == [100, 200, 300]
        assert shared_value(other, "k", lambda: "other") == "other"
        assert starts(group_attempts(judged)) == [0, 10]
        assert len(provisioning_requests(judged)) == 2
        third = timeline(1000)
        assert starts(group_attempts(third)) == [1000]
        assert [r.time - T0 for r in provisioning_requests(third)] == [1000]
        assert shared_value(third, "k", lambda: "third") == "third"


def test_a_timeline_sharing_the_list_but_not_the_device_gets_its_own_values():
    judged = timeline(0, 10)
    twin = DeviceTimeline(DEV, judged.observations)
    with shared_attempts(judged):
        assert shared_value(judged, "k", lambda: "judged") == "judged"
        assert shared_value(twin, "k", lambda: "twin") == "twin"


def test_a_timeline_that_changed_inside_the_block_is_computed_again():
    tl = timeline(0, 10)
    with shared_attempts(tl):
        assert starts(group_attempts(tl)) == [0, 10]
        assert len(provisioning_requests(tl)) == 2
        assert shared_value(tl, "k", lambda: 2) == 2
        tl.observations.append(http(T0 + 20))  # grown in place
        assert starts(group_attempts(tl)) == [0, 10, 20]
        assert len(provisioning_requests(tl)) == 3
        assert shared_value(tl, "k", lambda: 3) == 3
        tl.observations = [http(T0 + 50)]  # replaced by a list of another length...
        assert starts(group_attempts(tl)) == [50]
        assert len(provisioning_requests(tl)) == 1
        tl.observations = [http(T0 + 60)]  # ...and by one of the same length
        assert starts(group_attempts(tl)) == [60]
        assert [r.time - T0 for r in provisioning_requests(tl)] == [60]
        assert shared_value(tl, "k", lambda: 60) == 60


def test_the_block_restores_the_one_around_it():
    outer, inner = timeline(0), timeline(5, 6)
    with shared_attempts(outer):
        assert shared_value(outer, "k", lambda: "outer") == "outer"
        with shared_attempts(inner):
            assert starts(group_attempts(inner)) == [5, 6]
        assert shared_value(outer, "k", lambda: "recomputed") == "outer"
    assert shared_value(outer, "k", lambda: "outside") == "outside"
