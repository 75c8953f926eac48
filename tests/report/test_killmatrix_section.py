"""The kill-matrix section of report.html and the `kill_matrix` field of report.json:
derived from a run's quirky simulated phones, given by a kill-matrix build, absent otherwise."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema

from harness.cli import main
from harness.conformance.killmatrix import KillMatrix, QuirkRow, table_from_devices
from harness.report.model import DeviceRun, RunReport
from harness.report.write import write_reports
from harness.rules.finding import Verdict
from harness.spec.catalog import catalog

from .runs import finding

SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())


def quirky(quirks, *findings, family="cisco-8831-3pcc"):
    return DeviceRun(
        id="sim-" + "+".join(quirks), family=family, quirks=list(quirks), findings=list(findings)
    )


class KillCells(HTMLParser):
    """(quirk, requirement) -> cell text of the page's kill-matrix table."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.quirk = None
        self.req = None
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "kill-matrix-table":
            self.in_table = True
        if self.in_table and tag == "tr" and "data-quirk" in a:
            self.quirk = a["data-quirk"]
        if self.in_table and tag == "td" and "data-cell" in a:
            self.cells[(self.quirk, a["data-requirement"])] = a["data-cell"]

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False


def page_cells(html: str) -> dict[tuple[str, str], str]:
    p = KillCells()
    p.feed(html)
    return p.cells


def test_quirky_devices_give_kill_survives_not_run_and_extra_fail(tmp_path):
    devices = [
        DeviceRun(id="clean", findings=[finding("HTTP-404", "pass", "ok")]),
        quirky(("retry-404-too-soon",), finding("HTTP-404", "fail", "10 s later")),
        quirky(("ua-missing-serial",), finding("UA-FORMAT", "pass", "fine")),
        quirky(("ignore-gzip",)),  # nothing judged: not run
        quirky(("srv-lookup",), finding("DNS-A-ONLY", "fail", "SRV"), finding("UA-FORMAT", "fail", "x")),
    ]  # fmt: skip
    run = RunReport(meta={"title": "t"}, devices=devices, kill_matrix=table_from_devices(devices))
    paths = write_reports(run, tmp_path)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    km = report["kill_matrix"]
    rows = {r["quirk"]: r for r in km["quirks"]}
    assert set(rows) == {"retry-404-too-soon", "ua-missing-serial", "ignore-gzip", "srv-lookup"}
    assert rows["retry-404-too-soon"]["cells"] == {"HTTP-404": "KILL"}
    assert rows["retry-404-too-soon"]["status"] == "killed"
    assert rows["ua-missing-serial"]["cells"] == {
        "UA-FORMAT": "SURVIVES",
        "TLS-GENERIC-CERT": "not run",  # declared too (quirks.py); this run did not judge it
    }
    assert rows["ua-missing-serial"]["status"] == "survives UA-FORMAT"
    assert rows["ignore-gzip"]["cells"] == {"PROFILE-GZIP": "not run"}
    assert rows["srv-lookup"]["cells"] == {"DNS-A-ONLY": "KILL", "UA-FORMAT": "EXTRA FAIL"}
    assert rows["srv-lookup"]["status"].startswith("over-kills UA-FORMAT")
    assert km["requirements"] == [r for r in catalog() if r in set(km["requirements"])]
    html = paths["html"].read_text()
    assert '<h2 id="kill-matrix">Kill matrix</h2>' in html
    cells = page_cells(html)
    assert cells[("retry-404-too-soon", "HTTP-404")] == "KILL"
    assert cells[("ua-missing-serial", "UA-FORMAT")] == "SURVIVES"
    assert cells[("ignore-gzip", "PROFILE-GZIP")] == "not run"
    assert cells[("srv-lookup", "UA-FORMAT")] == "EXTRA FAIL"
    assert cells[("retry-404-too-soon", "UA-FORMAT")] == ""


def test_a_run_without_quirks_has_no_kill_matrix(tmp_path):
    run = RunReport(devices=[DeviceRun(id="clean", findings=[finding("HTTP-404", "pass", "ok")])])
    assert table_from_devices(run.devices) is None
    paths = write_reports(run, tmp_path)
    assert "kill_matrix" not in json.loads(paths["json"].read_text())
    assert 'id="kill-matrix"' not in paths["html"].read_text()


def test_a_kill_matrix_build_renders_its_table(tmp_path):
    rows = [
        QuirkRow("retry-404-too-soon", ("HTTP-404",), ["http-404"], [], {"HTTP-404": ["cisco-spa"]}),
        QuirkRow("ua-wrong-product", ("UA-FORMAT",), ["power-up"], []),
        QuirkRow("later-quirk", ("NEW-REQ",), [], ["NEW-REQ"]),
    ]  # fmt: skip
    matrix = KillMatrix({"cisco-spa": {"HTTP-404": (Verdict.PASS, "")}}, rows)
    table = matrix.table()
    assert [r.status for r in table.rows] == [
        "killed",
        "survives UA-FORMAT",
        "not yet provable (no scenario for NEW-REQ)",
    ]
    paths = write_reports(RunReport(meta={"title": "km"}, kill_matrix=table), tmp_path)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["kill_matrix"]["quirks"][0]["cells"] == {"HTTP-404": "KILL"}
    cells = page_cells(paths["html"].read_text())
    assert cells[("retry-404-too-soon", "HTTP-404")] == "KILL"
    assert cells[("ua-wrong-product", "UA-FORMAT")] == "SURVIVES"


def test_harness_conform_with_a_quirk_writes_the_section(tmp_path, capfd):
    code = main(
        ["conform", "--quirk", "retry-404-too-soon", "--only", "HTTP-404", "--out", str(tmp_path)]
    )
    capfd.readouterr()
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    (row,) = report["kill_matrix"]["quirks"]
    assert row["quirk"] == "retry-404-too-soon" and row["cells"] == {"HTTP-404": "KILL"}
    cells = page_cells((tmp_path / "report.html").read_text())
    assert cells[("retry-404-too-soon", "HTTP-404")] == "KILL"
