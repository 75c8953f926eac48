"""Reports of a real scenario run against the simulated phone, and the diff of two firmwares."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from harness.conformance.scenario import run_scenario, scenarios
from harness.device.sim_device import SimDevice
from harness.report.model import DeviceRun, RunReport
from harness.report.write import write_reports

SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())
SCENARIO = "power-up-resync-over-http"


async def conform(out: Path, *quirks: str, baseline: Path | None = None) -> dict[str, Path]:
    device = SimDevice(quirks=quirks)
    outcome = await run_scenario(scenarios()[SCENARIO], device)
    run = DeviceRun.from_outcomes(
        [outcome],
        id=device.identity.serial,
        description=device.description,
        family=device.family.name,
        identity=device.identity,
        quirks=device.quirks,
    )
    report = RunReport(meta={"title": "conform sim", "command": "harness conform"}, devices=[run])
    return write_reports(report, out, baseline=baseline)


async def test_clean_phone_run_reports_every_basic_requirement_as_passed(tmp_path):
    paths = await conform(tmp_path)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    verdicts = report["device_runs"][0]["requirements"]
    assert set(verdicts) == set(scenarios()[SCENARIO].requirements)
    assert {v["verdict"] for v in verdicts.values()} == {"pass"}
    html = paths["html"].read_text()
    assert 'class="timeline"' in html and 'data-attempts="2"' in html
    # the resync an hour after the first success, against Resync_Periodic
    assert "Resync_Periodic=3600" in html and "OUTSIDE" not in html
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite.get("tests") == str(len(verdicts)) and suite.get("failures") == "0"


async def test_a_firmware_that_names_the_wrong_product_shows_in_the_diff(tmp_path):
    before = await conform(tmp_path / "before")
    after = await conform(tmp_path / "after", "ua-wrong-product", baseline=before["json"])
    html = after["html"].read_text()
    diff = html[html.index('id="diff"') :]
    row = diff[diff.index("<td>UA-IDENTITY</td>") :].split("</tr>")[0]
    assert "v-pass" in row and "v-fail" in row
    assert 'class="ua-changes"' in diff
    old_ua = json.loads(before["json"].read_text())["device_runs"][0]["user_agents"]
    assert old_ua and f'<li class="removed"><code>{old_ua[0]}</code></li>' in diff
    junit = ET.parse(after["junit"]).getroot()
    failed = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failed == ["UA-IDENTITY"]
