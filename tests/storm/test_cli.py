"""`harness storm`: help, bad arguments, a run against nginx with its exit code and files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.cli import main
from harness.storm.crowd import Storm, StormConfig
from harness.storm.output import write_outputs
from harness.storm.summary import summarize
from tests.storm.conftest import write_profiles

QUICK = ["--set", "Resync_Random_Delay=0", "--set", "Resync_Error_Retry_Delay=3600"]


def test_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["storm", "--help"])
    out = capsys.readouterr().out
    for text in ("exit codes", "--power-up-spread", "--profile-rule", "locust -f"):
        assert text in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--phones", "0"], "--phones must be at least 1"),
        (["--quirk", "no-such-quirk"], "no-such-quirk"),
        (["--quirk", "retry-5xx-immediately:many"], "COUNT must be a whole number"),
        (["--quirk", "retry-5xx-immediately:20", "--phones", "5"], "only 5 in the crowd"),
        (["--set", "Resync_Periodic"], "expected NAME=VALUE"),
        (["--set", "No_Such_Parameter=1"], "No_Such_Parameter"),
        (["--family", "no-such-family"], "no-such-family"),
        (["--ca", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    assert main(["storm", "--server", "http://127.0.0.1:9/", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_storm_against_nginx(tmp_path, capsys, nginx_factory):
    nginx = nginx_factory(write_profiles(tmp_path / "www", range(30)))
    url = f"http://127.0.0.1:{nginx.port}/$MA.cfg"
    out = tmp_path / "report"
    argv = ["storm", "--server", url, "--phones", "30", "--power-up-spread", "0.5", *QUICK]
    assert main([*argv, "--out", str(out), "--duration", "60"]) == 0
    printed = capsys.readouterr().out
    assert "provisioned: 30/30" in printed and "server: held" in printed
    summary = json.loads((out / "storm.json").read_text())
    assert summary["provisioned"]["provisioned"] == 30
    html = (out / "storm.html").read_text()
    assert html.count("<svg") >= 3 and "Did the server hold?" in html
    # phones 30..34 have no profile: not every phone provisioned -> exit 3 (a server finding)
    argv[argv.index("30")] = "35"
    assert main([*argv, "--duration", "2", "--quiet"]) == 3
    assert "5 of 35 phones never got their profile" in capsys.readouterr().out


def test_harness_never_imports_locust_or_gevent():
    """gevent's monkey-patching stays inside Locust processes: `harness storm` and the rest of
    harness import neither."""
    code = (
        "import sys, harness.cli, harness.storm.cli, harness.storm.crowd, harness.storm.output\n"
        "harness.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_live_page_reloads_and_says_the_check_comes_later(tmp_path):
    config = StormConfig(server="http://192.0.2.1/$MA.cfg", phones=3)
    storm = Storm(config, config.build_phones(), started=1_800_000_000.0)
    summary = summarize(storm, check=False)
    assert "not judged" in summary["verdict"]["phones"]
    write_outputs(summary, storm.phones, tmp_path, live=True)
    live = (tmp_path / "storm.html").read_text()
    assert "http-equiv='refresh'" in live and "running" in live
    write_outputs(summarize(storm), storm.phones, tmp_path)
    assert "refresh" not in (tmp_path / "storm.html").read_text()
