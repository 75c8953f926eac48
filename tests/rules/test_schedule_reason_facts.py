"""The facts the scheduling, upgrade, preprovisioning and DNS reasons give (every address,
path, scheme and duration they name), and the inputs that reach their rarer branches: a
family without a failure template, a request whose server is unknown. Through `evaluate`,
as in a live run and the analyzer."""

from dataclasses import replace

from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext
from harness.spec import load_family
from tests.rules.test_schedule_rules import T0, judge, lookup, tftp
from tests.rules.timelines import failure_msg, http, syslog

DEAD, DEAD2 = "198.51.100.5", "198.51.100.7"
LIVE, LIVE2 = "198.51.100.6", "198.51.100.8"
FW = "/fw/CP-8831-3PCC-2.0.0.loads"
PRE, REMOTE = "/preprov/x.cfg", "/remote/x.cfg"


def test_powerup_silence_reason_gives_how_long_it_was_watched():
    f = judge("RESYNC-POWERUP", [syslog(T0, "x")], power_up_time=T0, observed_until=T0 + 600)
    assert f.verdict is Verdict.FAIL
    assert "no provisioning request in the 600 s after power-up" in f.why


def test_upgrade_over_https_names_the_firmware_path():
    fw = replace(http(T0 + 1, FW), scheme="https")
    f = judge("UPGRADE-PROTO", [http(T0), fw], firmware_paths=[FW])
    assert f.verdict is Verdict.FAIL, f.why
    assert f"firmware {FW} was requested over HTTPS" in f.why


def test_upgrade_pass_names_every_scheme_used():
    obs = [http(T0), http(T0 + 1, FW), tftp(T0 + 2, FW)]
    f = judge("UPGRADE-PROTO", obs, firmware_paths=[FW])
    assert f.verdict is Verdict.PASS, f.why
    assert f.why == "2 firmware requests, over http, tftp only"


def test_preprov_pass_names_the_scheme_of_the_first_remote_fetch():
    obs = [tftp(T0, PRE), http(T0 + 3600, REMOTE), replace(http(T0 + 7200, REMOTE), scheme="https")]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.PASS, f.why
    assert f"fetched the remote profile http {REMOTE} on each of its 2 later resyncs" in f.why


def test_preprov_dropped_remote_names_every_file_of_that_resync():
    obs = [
        tftp(T0, PRE),
        http(T0 + 3600, REMOTE),
        http(T0 + 7200, "/a.cfg"),
        http(T0 + 7201, "/b.cfg"),
    ]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.FAIL, f.why
    assert f"fetched /a.cfg, /b.cfg but not the remote profile {REMOTE}" in f.why


def test_failover_fail_names_every_live_record():
    q = lookup(T0, DEAD, LIVE, LIVE2)
    f = judge("DNS-FAILOVER", [q], dead_servers=[DEAD])
    assert f.verdict is Verdict.FAIL, f.why
    assert f"resolved to {DEAD}, {LIVE}, {LIVE2}; {DEAD} was down" in f.why
    assert f"did not go on to {LIVE}, {LIVE2} (within 120 s)" in f.why


def test_failover_a_request_to_an_unknown_server_reaches_no_record():
    q = lookup(T0, DEAD, LIVE)
    unknown = replace(http(T0 + 2), server=None)
    f = judge("DNS-FAILOVER", [q, unknown], dead_servers=[DEAD])
    assert f.verdict is Verdict.FAIL, f.why


def test_all_down_pass_names_every_record():
    q = lookup(T0, DEAD, DEAD2)
    f = judge("DNS-ALL-DOWN", [q, syslog(T0 + 1, failure_msg("x"))], dead_servers=[DEAD, DEAD2])
    assert f.verdict is Verdict.PASS, f.why
    assert f.why.startswith(f"pool.example.test resolved to {DEAD}, {DEAD2}, all down")


def test_all_down_skipped_for_a_family_that_names_no_failure_template():
    fam = load_family("cisco-8831-3pcc")
    fam = replace(fam, syslog_params={k: v for k, v in fam.syslog_params.items() if k != "failure"})
    ctx = RuleContext(fam, DeviceIdentity())
    f = judge("DNS-ALL-DOWN", [lookup(T0, DEAD), syslog(T0 + 1, "x")], ctx, dead_servers=[DEAD])
    assert f.verdict is Verdict.SKIPPED, f.why
