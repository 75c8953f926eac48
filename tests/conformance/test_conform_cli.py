"""`harness conform` end to end: the suite as a pytest subprocess, reports, exit codes,
several devices (xdist, one worker per device), the live view, and the remote path against
`harness sim` running in another process."""

import json
import xml.etree.ElementTree as ET

import pytest

from harness.cli import main
from harness.fixtures.device import free_port
from tests.conformance.test_remote import IDENT, lab_ports, start_sim

BASICS = "UA-FORMAT,DNS-A-ONLY,SYSLOG-MACROS"


def conform(*args):
    return main(["conform", *args])


def test_clean_sim_passes_and_writes_reports(tmp_path, capfd):
    assert conform("--only", BASICS, "--only", "HTTP-404", "--out", str(tmp_path)) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = {(f["rule"], f["verdict"]) for f in report["findings"]}
    assert ("DNS-A-ONLY", "pass") in verdicts and ("UA-FORMAT", "pass") in verdicts
    junit = ET.parse(tmp_path / "work" / "pytest-junit.xml").getroot()
    props = {p.get("value") for p in junit.iter("property") if p.get("name") == "requirement"}
    assert {"UA-FORMAT", "DNS-A-ONLY"} <= props
    out = capfd.readouterr().out
    assert "DNS-A-ONLY" in out and "PASS" in out  # the live view's lines (not a terminal)


def test_quirky_sim_fails_with_exit_code_1_and_says_why(tmp_path, capfd):
    assert conform("--quirk", "srv-lookup", "--only", BASICS, "--out", str(tmp_path)) == 1
    out = capfd.readouterr().out
    assert "DNS-A-ONLY" in out and "SRV" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert {f["rule"] for f in report["findings"] if f["verdict"] == "fail"} == {"DNS-A-ONLY"}
    # the conformance run derives the kill matrix; the report only renders it
    assert [q["quirk"] for q in report["kill_matrix"]["quirks"]] == ["srv-lookup"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quirk", "no-such-quirk"], "unknown quirk"),
        (["--only", "NOPE-1"], "unknown requirement"),
        (["--device", "remote", "--address", "192.0.2.10"], "--mac"),
        (["--family", "nokia"], "nokia"),
        (
            [
                "--device",
                "remote",
                "--address",
                "a",
                "--mac",
                "m",
                "--serial",
                "s",
                "--product",
                "p",
                "--lab-port",
                "web=80",
            ],
            "--lab-port",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_reason(args, message, capsys, tmp_path):
    assert conform(*args, "--out", str(tmp_path)) == 2
    assert message in capsys.readouterr().err


def test_bad_devices_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "lab.toml"
    bad.write_text('[desk]\nkind = "remote"\naddress = "192.0.2.10"\n')
    assert conform("--devices", str(bad), "--out", str(tmp_path / "r")) == 2
    assert "[desk]" in capsys.readouterr().err


def test_devices_file_runs_one_worker_per_device(tmp_path, capsys):
    lab = tmp_path / "lab.toml"
    lab.write_text('[clean]\nkind = "sim"\n\n[quirky]\nkind = "sim"\nquirks = ["srv-lookup"]\n')
    assert conform("--devices", str(lab), "--only", BASICS, "--out", str(tmp_path / "r")) == 1
    results = json.loads((tmp_path / "r" / "work" / "results.json").read_text())
    failed = {(r["device"], r["requirement"]) for r in results if r["verdict"] == "fail"}
    assert failed == {("quirky", "DNS-A-ONLY")}
    assert {r["device"] for r in results} == {"clean", "quirky"}


def test_remote_device_through_the_cli(tmp_path, capsys):
    ports = lab_ports()
    proc, address = start_sim(tmp_path, ports, b"", "srv-lookup")
    try:
        args = [
            "--device",
            "remote",
            "--address",
            address,
            "--time-scale",
            "0.0003",
            "--min-wait",
            "2",
            "--boot-time",
            "1",
            "--only",
            "DNS-A-ONLY,UA-FORMAT",
            "--out",
            str(tmp_path / "r"),
        ]
        for k, v in IDENT.items():
            args += [f"--{k}", v]
        for name, port in ports.items():
            args += ["--lab-port", f"{name}={port}"]
        assert conform(*args) == 1
    finally:
        proc.kill()
        proc.wait(timeout=5)
    results = json.loads((tmp_path / "r" / "work" / "results.json").read_text())
    got = {r["requirement"]: r["verdict"] for r in results}
    assert got == {"DNS-A-ONLY": "fail", "UA-FORMAT": "pass"}, results


def test_remote_device_that_is_unreachable_fails_with_a_reason(tmp_path, capfd):
    args = [
        "--device",
        "remote",
        "--address",
        f"127.0.0.1:{free_port()}",
        "--only",
        "UA-FORMAT",
        "--out",
        str(tmp_path),
    ]
    for k, v in IDENT.items():
        args += [f"--{k}", v]
    assert conform(*args) == 1
    assert "cannot reach the admin web interface" in capfd.readouterr().out
