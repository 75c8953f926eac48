"""The rule registry: what `rule` registers and refuses, what `evaluate` runs and what it makes
of a rule that raises, and what `finding` takes from the observations a finding is about
(its time, its frames sorted and without repeats, its evidence sources)."""

from dataclasses import replace

import pytest

from harness.observe import build_timelines
from harness.observe.events import Evidence
from harness.rules import Verdict, evaluate, registry
from harness.rules.finding import Finding
from harness.rules.registry import finding, registered_rules, rule
from tests.rules.timelines import context, http


@pytest.fixture
def rules(monkeypatch):
    """The registry's table, restored after the test."""
    table = dict(registered_rules())
    monkeypatch.setattr(registry, "_RULES", table)
    return table


def _timeline(*obs):
    (tl,) = build_timelines(list(obs))
    return tl


def test_rule_registers_a_judge_under_a_catalog_id(rules):
    def judge(timeline, ctx):
        return [finding("HTTP-GET", Verdict.PASS, "judged", timeline)]

    del rules["HTTP-GET"]
    assert rule("HTTP-GET")(judge) is judge
    assert registered_rules()["HTTP-GET"] is judge
    assert rule("HTTP-GET")(judge) is judge  # the same function again is no conflict


def test_rule_refuses_an_unknown_id_and_a_second_judge(rules):
    with pytest.raises(KeyError, match="NOT-A-REQUIREMENT"):
        rule("NOT-A-REQUIREMENT")
    first = rules["HTTP-GET"]

    def other(timeline, ctx):
        return []

    with pytest.raises(ValueError, match="HTTP-GET registered twice") as err:
        rule("HTTP-GET")(other)
    assert first.__module__ in str(err.value) and __name__ in str(err.value)
    assert registered_rules()["HTTP-GET"] is first


def test_evaluate_runs_every_rule_unless_told_which():
    tl = _timeline(http(1))
    every = evaluate([tl], context())
    assert {f.rule for f in every} == set(registered_rules())
    # an ID with no rule is passed over, and the rules after it still run
    some = evaluate([tl], context(), only=["NO-SUCH-RULE", "HTTP-GET", "UA-FORMAT"])
    assert [f.rule for f in some] == ["HTTP-GET", "UA-FORMAT"]


def test_a_rule_that_raises_becomes_an_inconclusive_finding_of_its_own(rules):
    def broken(timeline, ctx):
        raise ZeroDivisionError("no period")

    rules["HTTP-GET"] = broken
    tl = _timeline(http(1))
    (f,) = evaluate([tl], context(), only=["HTTP-GET"])
    assert (f.rule, f.verdict, f.device) == ("HTTP-GET", Verdict.INCONCLUSIVE, tl.id)
    assert f.why == "rule raised ZeroDivisionError: no period"


def test_finding_about_nothing_has_no_time_and_no_evidence():
    tl = _timeline(http(1))
    f = finding("HTTP-GET", Verdict.INCONCLUSIVE, "nothing", tl)
    assert (f.time, f.frames, f.evidence, f.device) == (None, (), (), tl.id)
    assert f.to_dict()["frames"] == [] and f.to_dict()["evidence"] == []


def test_finding_takes_time_frames_and_source_from_its_observations():
    one = replace(http(5), evidence=Evidence("capture:a.pcap", frames=(9,)))
    many = replace(http(7), evidence=Evidence("capture:a.pcap", frames=(12, 3, 12)))
    other = replace(http(8), evidence=Evidence("endpoint:http", frames=(4, 3)))
    tl = _timeline(one, many, other)
    f = finding("HTTP-GET", Verdict.PASS, "x", tl, one)
    assert (f.time, f.frames, f.evidence) == (5, (9,), ("capture:a.pcap",))
    f = finding("HTTP-GET", Verdict.PASS, "x", tl, many)  # sorted, each frame once
    assert (f.time, f.frames, f.evidence) == (7, (3, 12), ("capture:a.pcap",))
    f = finding("HTTP-GET", Verdict.PASS, "x", tl, other)  # two frames, out of order
    assert f.frames == (3, 4)
    f = finding("HTTP-GET", Verdict.FAIL, "x", tl, many, also=[one, other])
    assert f.time == 7 and f.frames == (3, 4, 9, 12)
    assert f.evidence == ("capture:a.pcap", "endpoint:http")  # each source once, in order
    f = finding("HTTP-GET", Verdict.FAIL, "x", tl, None, also=[other])  # no time of its own
    assert (f.time, f.frames, f.evidence) == (None, (3, 4), ("endpoint:http",))


def test_a_finding_as_the_report_writes_it():
    f = Finding("HTTP-GET", Verdict.FAIL, "sent PUT", "dev-1", 12.5, (3, 4), ("capture:a.pcap",))
    assert f.to_dict() == {
        "rule": "HTTP-GET",
        "verdict": "fail",
        "device": "dev-1",
        "time": 12.5,
        "why": "sent PUT",
        "frames": [3, 4],
        "evidence": ["capture:a.pcap"],
    }
