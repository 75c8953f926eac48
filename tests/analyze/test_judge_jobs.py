"""`judge(..., jobs=N)`: the devices judged by N processes give the findings, notes and
other clients of one process, in the same order; a judging process that dies is an error
that names it, never a report with its devices missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness.analyze.judge as judge_module
from bench.bench_analyze import generate_ordinary
from harness.analyze.engine import analyze_capture
from harness.analyze.judge import judge
from harness.spec.family import load_family


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory) -> tuple[list, list]:
    cap = Path(tmp_path_factory.mktemp("judge-jobs")) / "ordinary.pcap"
    generate_ordinary(cap, 30_000)
    result = analyze_capture(cap)
    return result.observations, result.profiles


def _judged(analyzed, jobs: int) -> tuple[list, list, dict]:
    observations, profiles = analyzed
    others: dict[str, str] = {}
    _, findings, notes = judge(
        observations,
        load_family("cisco-8831-3pcc"),
        seen_profiles=profiles,
        other_clients=others,
        jobs=jobs,
    )
    return findings, notes, others


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_devices_judged_by_several_processes_give_the_same_findings(
    analyzed, monkeypatch, jobs: int
) -> None:
    one = _judged(analyzed, 1)
    devices = {f.device for f in one[0]}
    assert len(devices) >= 10 and one[0]
    monkeypatch.setattr(judge_module, "MIN_PER_JOB", 1)  # split even a small fleet
    assert _judged(analyzed, jobs) == one


def test_a_judging_process_that_dies_is_an_error_naming_it(analyzed, monkeypatch) -> None:
    parent = os.getpid()
    real = judge_module._judge_one

    def dies_in_a_child(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if os.getpid() != parent:
            os._exit(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(judge_module, "MIN_PER_JOB", 1)
    monkeypatch.setattr(judge_module, "_judge_one", dies_in_a_child)
    with pytest.raises(RuntimeError, match=r"judging process 1 died \(exit code 3\)"):
        _judged(analyzed, 2)
