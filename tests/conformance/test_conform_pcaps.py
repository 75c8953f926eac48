"""`harness conform` leaves one pcap per scenario and device, and report.json says how to
re-judge each (issue 11): the pcap holds that scenario only, in the phone clock's time, with
the TLS key log inside (tshark decrypts it); `harness analyze --scenario` gives the live
verdicts from it; report.json validates against the shared schema; report.html links
failures to their pcap; `--baseline` prints and records the diff. Needs a capture tool
(root on lo)."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main
from harness.device.sim.adapters.source import is_phone_address
from tests.tshark_oracle import tshark_fields

SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())
ONLY = "HTTP-404,TLS-CLIENT-CERT,UA-FORMAT"
QUIRK = "retry-404-too-soon"

pytestmark = pytest.mark.skipif(
    shutil.which("dumpcap") is None and shutil.which("tcpdump") is None,
    reason="no capture tool",
)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("conform-clean")
    assert main(["conform", "--only", ONLY, "--out", str(out), "--no-live"]) == 0
    return out, json.loads((out / "report.json").read_text())


def _entry(report, name):
    return next(e for e in report["scenarios"] if e["name"] == name)


def test_report_lists_every_scenario_with_its_pcap_and_validates(clean_run):
    out, report = clean_run
    if any("no capture" in n for n in report["meta"].get("notes", [])):
        pytest.skip(f"no capture: {report['meta']['notes']}")
    jsonschema.validate(report, SCHEMA)
    names = {e["name"] for e in report["scenarios"]}
    assert {"http-404", "tls-client-certificate"} <= names
    for e in report["scenarios"]:
        assert (out / e["capture"]).is_file() and e["frames"] > 0, e
        assert e["capture"] == f"captures/sim--{e['name']}.pcapng"
        assert e["verdicts"] and e["pcap_verdicts"] == e["verdicts"], e["name"]
        assert e["identity"]["serial"] and e["family"] == "cisco-8831-3pcc"


def test_pcap_holds_one_phone_in_virtual_time(clean_run):
    out, report = clean_run
    pcap = out / _entry(report, "http-404")["capture"]
    got = tshark_fields(pcap, "http.request", ["frame.time_epoch", "ip.src"])
    assert len(got) >= 2
    assert len({ip for _, ip in got}) == 1 and is_phone_address(got[0][1])
    # Resync_Error_Retry_Delay (3600 s) apart in the file, though the run took a second
    assert float(got[1][0]) - float(got[0][0]) == pytest.approx(3600, abs=60)
    info = subprocess.run(["capinfos", str(pcap)], capture_output=True, text=True).stdout
    assert "virtual clock" in info


def test_tshark_decrypts_the_https_with_the_embedded_key_log(clean_run):
    out, report = clean_run
    e = _entry(report, "tls-client-certificate")
    assert e["keylog"] and (out / e["keylog"]).read_text().strip()
    uris = tshark_fields(out / e["capture"], "http.request", ["http.request.uri"])
    assert any(".cfg" in uri for (uri,) in uris)


def test_analyze_scenario_rejudges_from_the_pcap(clean_run, capsys):
    out, report = clean_run
    for e in report["scenarios"]:
        capsys.readouterr()
        code = main(["analyze", str(out / e["capture"]), "--scenario",
                     f"{out / 'report.json'}#{e['name']}"])  # fmt: skip
        text = capsys.readouterr().out
        assert code == 0, text
        assert "live and pcap verdicts agree" in text


def test_analyze_scenario_says_what_is_wrong_with_the_reference(clean_run, capsys, tmp_path):
    out, report = clean_run
    pcap = str(out / report["scenarios"][0]["capture"])
    assert main(["analyze", pcap, "--scenario", f"{out / 'report.json'}#no-such"]) == 2
    assert "no scenario 'no-such'" in capsys.readouterr().err
    assert main(["analyze", pcap, "--scenario", str(out / "report.json")]) == 2
    assert "REPORT.json#NAME" in capsys.readouterr().err
    other = tmp_path / "x.json"
    other.write_text("{}")
    assert main(["analyze", pcap, "--scenario", f"{other}#http-404"]) == 2
    assert "no `scenarios`" in capsys.readouterr().err


def test_a_wrong_pcap_makes_the_twin_check_differ(clean_run, capsys):
    out, report = clean_run
    # the TLS scenario's pcap judged as http-404: no 404 in it, the verdicts cannot agree
    other = out / _entry(report, "tls-client-certificate")["capture"]
    code = main(["analyze", str(other), "--scenario", f"{out / 'report.json'}#http-404"])
    assert code == 1
    assert "DIFFER" in capsys.readouterr().out


def test_quirky_run_links_its_failure_to_the_pcap_and_diffs_the_baseline(
    clean_run, tmp_path, capfd
):
    base, _ = clean_run
    code = main(["conform", "--only", "HTTP-404", "--quirk", QUIRK, "--out", str(tmp_path),
                 "--baseline", str(base / "report.json"), "--no-live"])  # fmt: skip
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    e = _entry(report, "http-404")
    assert e["verdicts"]["HTTP-404"] == "fail" == e["pcap_verdicts"]["HTTP-404"]
    assert e["pcap_frames"]["HTTP-404"]
    failing = [f for f in report["findings"] if f["verdict"] == "fail"]
    assert failing and all("capture:" in " ".join(f["evidence"]) for f in failing)
    assert all(f["frames"] for f in failing)
    html = (tmp_path / "report.html").read_text()
    assert f'href="{e["capture"]}"' in html
    diff = report["baseline_diff"]
    assert {"device": "sim", "kind": "verdict", "requirement": "HTTP-404", "old": "pass",
            "new": "fail"}.items() <= diff["changes"][0].items()  # fmt: skip
    assert "HTTP-404: pass -> fail" in capfd.readouterr().out
