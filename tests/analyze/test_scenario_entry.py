"""`--scenario REPORT.json#NAME[@DEVICE]`: finding the entry, and precise errors for bad ones."""

import json

import pytest

from harness.analyze.scenario import ScenarioRefError, load_entry


def entry(name, device, **extra):
    return {"name": name, "device": device, "requirements": ["HTTP-404"],
            "capture": f"captures/{device}--{name}.pcapng", "family": "cisco-8831-3pcc",
            "params": {"Resync_Periodic": "60"}, "verdicts": {"HTTP-404": "pass"}, **extra}  # fmt: skip


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report.json"
    scenarios = [
        entry("http-404", "a"),
        entry("http-404", "b"),
        entry("only-a", "a", ports={"dns": 5353}),
    ]
    path.write_text(json.dumps({"scenarios": scenarios}))
    return path


def test_entry_by_name_and_device_with_paths_relative_to_the_report(report):
    e = load_entry(f"{report}#only-a")
    assert e.device == "a" and e.capture == report.parent / "captures/a--only-a.pcapng"
    assert e.ports == {"dns": 5353} and e.params == {"Resync_Periodic": "60"}
    assert load_entry(f"{report}#http-404@b").device == "b"


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("{r}", "expected REPORT.json#NAME"),
        ("{r}#", "expected REPORT.json#NAME"),
        ("{r}#nope", "no scenario 'nope'"),
        ("{r}#http-404", "ran on several devices (a, b): say http-404@DEVICE"),
        ("{r}#http-404@c", "no scenario 'http-404@c'"),
        ("{d}/missing.json#x", "cannot read"),
    ],
)
def test_bad_references_say_what_is_wrong(report, ref, says):
    with pytest.raises(ScenarioRefError, match=says.replace("(", r"\(").replace(")", r"\)")):
        load_entry(ref.format(r=report, d=report.parent))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "is not JSON"),
        ("[]", "has no `scenarios`"),
        (json.dumps({"scenarios": [{"name": "x", "device": "a"}]}), "entry 'x' .* is malformed"),
        (json.dumps({"scenarios": [{**entry("x", "a"), "ports": {"dns": "many"}}]}), "malformed"),
    ],
)
def test_bad_reports_say_what_is_wrong(tmp_path, content, says):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ScenarioRefError, match=says):
        load_entry(f"{path}#x")
