"""The storm's plots (`harness.report.plot.series_svg`) and answer colours."""

from __future__ import annotations

from harness.report.plot import CLASS_COLOUR, series_svg
from harness.storm.output import _answer_colours


def test_a_bin_without_data_breaks_the_line():
    svg = series_svg({"p50": [(0.5, 3.0), (1.5, None), (2.5, 4.0), (3.5, 5.0)]}, title="latency")
    assert svg.count("<polyline") == 2
    assert "(max 5 )" in svg


def test_the_provisioned_curve_is_drawn_in_steps():
    svg = series_svg({"provisioned": [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]}, title="c", steps=True)
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 5  # each rise drawn flat first, then up


def test_answers_take_the_colour_of_their_table_3_1_class():
    colours = _answer_colours({"200": [], "404": [], "503": [], "500": [], "timeout": []})
    assert colours["200"] == CLASS_COLOUR["A"] and colours["404"] == CLASS_COLOUR["B"]
    assert colours["503"].startswith(CLASS_COLOUR["C"]) and colours["500"] != colours["503"]
    assert colours["timeout"].startswith(CLASS_COLOUR["C"])
