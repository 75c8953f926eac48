"""RESYNC-PERIODIC beyond the timing window: the parameters it cannot read, Resync_At taking
over, firmware fetches and calls between resyncs, capture gaps, the run's tolerance, and the
figures its reasons give. Through `evaluate`, as in a live run and the analyzer."""

from dataclasses import replace

import pytest

from harness.rules import Verdict
from harness.rules.tolerance import DEFAULT_TIMING_TOLERANCE_S
from tests.rules.test_schedule_rules import T0, judge
from tests.rules.timelines import context, http

# Family cisco-8831-3pcc defaults: Resync_Periodic 3600, Resync_Random_Delay 2 x 20 s,
# so the next resync is due 3600..3640 s after a success, within the tolerance.
HI = 3640 + DEFAULT_TIMING_TOLERANCE_S
FW = "/fw/CP-8831-3PCC-2.0.0.loads"


def resyncs(*at):
    return [http(T0 + t) for t in at]


@pytest.mark.parametrize("param", ["Resync_Periodic", "Resync_Random_Delay"])
def test_a_parameter_that_is_not_a_number_leaves_it_inconclusive(param):
    f = judge("RESYNC-PERIODIC", resyncs(0, 3600, 7200), context(**{param: "hourly"}))
    assert f.verdict is Verdict.INCONCLUSIVE
    assert "not a number" in f.why


@pytest.mark.parametrize("how", ["configured", "served"])
def test_resync_at_overrides_the_period(how):
    wrong = resyncs(0, 600)  # far too soon for the period: judged if Resync_At were ignored
    if how == "configured":
        f = judge("RESYNC-PERIODIC", wrong, context(Resync_At="0300"))
    else:
        f = judge("RESYNC-PERIODIC", wrong, profile_parameters={"Resync_At": "0300"})
    assert f.verdict is Verdict.SKIPPED
    assert "Resync_At" in f.why
    assert judge("RESYNC-PERIODIC", wrong, context(Resync_At="  ")).verdict is Verdict.FAIL


def test_a_firmware_fetch_between_resyncs_is_not_a_resync():
    obs = [http(T0), http(T0 + 100, FW), http(T0 + 3700, FW), http(T0 + 3600)]
    obs.sort(key=lambda o: o.time)
    f = judge("RESYNC-PERIODIC", obs, firmware_paths=[FW])
    assert f.verdict is Verdict.PASS, f.why
    assert f.time == T0 + 3600


@pytest.mark.parametrize(
    ("call", "verdict"),
    [
        ((T0 + 100, T0 + 200), Verdict.INCONCLUSIVE),  # inside the interval: it moved it
        ((T0 - 1000, T0 - 900), Verdict.FAIL),  # long before: it moved nothing
        ((T0 + 5000, T0 + 5100), Verdict.FAIL),  # long after
        ((T0 + 600, T0 + 700), Verdict.FAIL),  # starts as the next resync starts
        ((T0 - 100, T0), Verdict.FAIL),  # ends as the previous resync ends
        ((T0 + 599, T0 + 700), Verdict.INCONCLUSIVE),
        ((T0 - 100, T0 + 1), Verdict.INCONCLUSIVE),
    ],
)
def test_only_a_call_inside_the_interval_excuses_it(call, verdict):
    f = judge("RESYNC-PERIODIC", resyncs(0, 600), calls=[call])
    assert f.verdict is verdict, f.why


def test_a_capture_gap_excuses_only_the_interval_it_falls_in():
    obs = resyncs(0, 600, 4200, 4800)  # 600 s (gap inside), 3600 s, then 600 s again
    gaps = [(T0 + 100, T0 + 200, "a ring-buffer file is missing")]
    f = judge("RESYNC-PERIODIC", obs, capture_gaps=gaps)
    assert f.verdict is Verdict.FAIL, f.why
    assert f.time == T0 + 4800
    f = judge("RESYNC-PERIODIC", resyncs(0, 600), capture_gaps=gaps)
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    # a gap outside the interval excuses nothing, before it or after it
    for outside in [(T0 - 200, T0 - 100, "x"), (T0 + 700, T0 + 800, "x")]:
        f = judge("RESYNC-PERIODIC", resyncs(0, 600), capture_gaps=[outside])
        assert f.verdict is Verdict.FAIL, (outside, f.why)


def test_the_runs_tolerance_widens_the_window():
    obs = resyncs(0, 3660)  # 20 s after the band's end
    assert judge("RESYNC-PERIODIC", obs).verdict is Verdict.FAIL
    f = judge("RESYNC-PERIODIC", obs, replace(context(), timing_tolerance=25.0))
    assert f.verdict is Verdict.PASS, f.why
    assert "tolerance 25 s" in f.why


@pytest.mark.parametrize(
    ("watched", "verdict"), [(HI, Verdict.INCONCLUSIVE), (HI + 1, Verdict.FAIL)]
)
def test_silence_after_a_success_fails_only_once_watched_past_the_window(watched, verdict):
    f = judge("RESYNC-PERIODIC", resyncs(0), observed_until=T0 + watched)
    assert f.verdict is verdict, f.why


def test_reasons_give_the_measured_gaps():
    f = judge("RESYNC-PERIODIC", resyncs(0, 3600, 7210))
    assert f.verdict is Verdict.PASS, f.why
    assert f.why.startswith("2 periodic resyncs, 3600.0, 3610.0 s after the previous success")
    f = judge("RESYNC-PERIODIC", resyncs(0), observed_until=T0 + 7300)
    assert f.verdict is Verdict.FAIL
    assert f.why.startswith(f"no resync in the 7300 s after the success at {T0:.0f};")
    f = judge("RESYNC-PERIODIC", resyncs(0, 600))
    assert f.why.startswith(f"after the successful resync ending at {T0:.0f} the next came 600.0 s")
