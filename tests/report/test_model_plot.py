"""The run model's verdict folding and the timeline lanes: classes, delays, expected bands."""

import xml.etree.ElementTree as ET

import pytest

from harness.report.model import RunReport, requirement_verdict
from harness.report.plot import attempt_outcome, build_lane, format_duration, lane_svg
from harness.rules.finding import Verdict
from harness.spec import catalog, load_family
from harness.spec.status_table import all_status_rows

from .runs import device_run, finding, http, tftp, tls

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("verdicts", "folded"),
    [
        (["pass", "fail", "pass"], Verdict.FAIL),
        (["pass", "inconclusive"], Verdict.INCONCLUSIVE),
        (["skipped", "pass"], Verdict.PASS),
        (["skipped"], Verdict.SKIPPED),
        ([], None),
    ],
)
def test_findings_on_one_requirement_fold_into_one_verdict(verdicts, folded):
    assert requirement_verdict(finding("HTTP-404", v, "x") for v in verdicts) is folded


def test_matrix_rows_follow_the_catalog_and_keep_unknown_ids_last():
    d = device_run(extra_findings=[finding("VENDOR-X", "fail", "not a catalog ID")])
    ids = RunReport(devices=[d]).requirement_ids()
    assert ids[: len(catalog())] == list(catalog())
    assert ids[-1] == "VENDOR-X"
    judged = RunReport(devices=[d]).requirement_ids(all_catalog=False)
    assert judged == [r for r in catalog() if r in {f.rule for f in d.findings}] + ["VENDOR-X"]


@pytest.mark.parametrize("row", all_status_rows(), ids=lambda r: r.key)
def test_outcome_class_of_every_status_follows_table_3_1(row):
    status = int(row.key.replace("xx", "99")) if "xx" in row.key else int(row.key)
    expected = row.action if row.action.is_outcome_class else (row.then or "C")
    assert attempt_outcome(http(0, status=status)) == expected


@pytest.mark.parametrize(
    ("obs", "cls"),
    [
        (tftp(0), "A"),
        (tftp(0, outcome="error", error_code=1), "B"),
        (tftp(0, outcome="error", error_code=2), "C"),
        (tftp(0, outcome="timeout"), "C"),
        (http(0, status=None, outcome="no-response"), "C"),
    ],
)
def test_outcome_class_without_a_status(obs, cls):
    assert attempt_outcome(obs) == cls


def test_lane_draws_the_delay_after_a_404_against_resync_error_retry_delay():
    fam = load_family("cisco-8831-3pcc")
    on_time = build_lane("x", [http(0, status=404), http(3600)], {}, fam)
    (gap,) = on_time.gaps
    assert (gap.after, gap.band, gap.within) == ("B", (3600.0, 3600.0), True)
    assert "Resync_Error_Retry_Delay=3600" in gap.source
    too_soon = build_lane("x", [http(0, status=404), http(60)], {}, fam)
    assert too_soon.gaps[0].within is False


def test_back_off_schedule_grows_with_each_failure_in_a_row():
    fam = load_family("cisco-mpp")
    obs = [http(0, status=500), http(60, status=500), http(180, status=500), http(420)]
    lane = build_lane("mpp", obs, {}, fam)
    assert [g.band for g in lane.gaps] == [(60, 60), (120, 120), (240, 240)]
    assert all(g.within for g in lane.gaps)


def test_success_band_adds_the_random_delay_in_family_units_and_resync_at_removes_it():
    fam = load_family("cisco-spa")  # random delay unit: 20 s
    lane = build_lane("a", [http(0), http(3630)], {"Resync_Random_Delay": "2"}, fam)
    assert lane.gaps[0].band == (3600, 3640) and lane.gaps[0].within
    daily = build_lane("a", [http(0), http(3630)], {"Resync_At": "0300"}, fam)
    assert daily.gaps[0].band is None and "Resync_At" in daily.gaps[0].source


def test_follow_ups_and_quick_profile_sequences_are_not_delays():
    obs = [http(0, status=302), http(0.1), http(1, url="/b.cfg"), http(3601)]
    lane = build_lane("seq", obs, {}, load_family("cisco-8831-3pcc"))
    assert [m.requests for m in lane.marks] == [2, 1, 1]
    assert len(lane.gaps) == 1


def test_refused_tls_handshake_is_an_attempt_of_class_c():
    lane = build_lane("tls", [tls(0, accepted=False), tls(10), http(10.1, scheme="https")])
    assert [(m.protocol, m.outcome) for m in lane.marks] == [("tls", "C"), ("https", "A")]


def test_svg_is_well_formed_with_one_group_per_attempt_and_escapes_text():
    obs = [http(0, status=404, url="/<script>.cfg"), http(3600), tftp(7200)]
    svg = lane_svg(build_lane("x", obs, {}, load_family("cisco-8831-3pcc")), title="a<b")
    root = ET.fromstring(svg)
    attempts = [g for g in root.iter(f"{SVG}g") if g.get("class") == "attempt"]
    assert [g.get("data-outcome") for g in attempts] == ["B", "A", "A"]
    assert [g.get("data-protocol") for g in attempts] == ["http", "http", "tftp"]
    assert root.find(f"{SVG}title").text.startswith("a<b")
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "band"]) == 2


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "0.5s"), (45, "45s"), (150, "2m30s"), (3600, "1h"), (3900, "1h05m"),
     (93600, "1d2h")],
)  # fmt: skip
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert format_duration(seconds) == text
