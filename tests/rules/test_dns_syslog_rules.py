"""DNS-A-ONLY and the syslog rules on hand-made timelines that pass and fail."""

from harness.observe import build_timelines
from harness.rules import Verdict, evaluate
from tests.rules.timelines import (
    context,
    dns,
    failure_msg,
    http,
    request_msg,
    success_msg,
    syslog,
)


def verdict(rule, observations, ctx=None):
    (tl,) = build_timelines(observations)
    (f,) = evaluate([tl], ctx or context(), only=[rule])
    return f


def test_dns_a_only():
    assert verdict("DNS-A-ONLY", [dns(1), dns(2)]).verdict is Verdict.PASS
    f = verdict("DNS-A-ONLY", [dns(1, "_http._tcp.prov.example.test", "SRV"), dns(2)])
    assert f.verdict is Verdict.FAIL and "SRV" in f.why
    assert verdict("DNS-A-ONLY", [dns(1, qtype="AAAA")]).verdict is Verdict.FAIL
    assert verdict("DNS-A-ONLY", [http(1)]).verdict is Verdict.INCONCLUSIVE


def clean_run():
    """Power-up resync gets 404, retry an hour later gets 200, each with syslog."""
    return [
        syslog(9.9, request_msg()),
        http(10.0, status=404),
        syslog(10.1, failure_msg()),
        syslog(3609.9, request_msg()),
        http(3610.0),
        syslog(3610.1, success_msg()),
    ]


def test_syslog_rules_pass_on_a_clean_run():
    for rule in ("SYSLOG-REQUEST", "SYSLOG-RESULT", "SYSLOG-MACROS"):
        f = verdict(rule, clean_run())
        assert f.verdict is Verdict.PASS, (rule, f.why)


def test_syslog_request_missing():
    obs = [o for o in clean_run() if "Requesting" not in getattr(o, "message", "")]
    obs.append(syslog(9.9, request_msg()))
    f = verdict("SYSLOG-REQUEST", obs)
    assert f.verdict is Verdict.FAIL and "request" in f.why


def test_syslog_result_missing():
    obs = [o for o in clean_run() if "Successful" not in getattr(o, "message", "")]
    f = verdict("SYSLOG-RESULT", obs)
    assert f.verdict is Verdict.FAIL and "after the http request" in f.why


def test_syslog_macros_unexpanded():
    obs = clean_run()
    obs[2] = syslog(10.1, "$PN $MAC -- Resync failed: $ERR")
    f = verdict("SYSLOG-MACROS", obs)
    # the unexpanded-macro check, not the (also failing) comparison with the device's values
    assert f.verdict is Verdict.FAIL
    assert "still holds unexpanded macros $PN, $MAC, $ERR" in f.why


def test_syslog_macros_wrong_values():
    obs = clean_run()
    obs[0] = syslog(9.9, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", obs)
    assert f.verdict is Verdict.FAIL and "198.51.100.99" in f.why


def test_syslog_skipped_when_not_configured():
    f = verdict("SYSLOG-REQUEST", [http(1)])
    assert f.verdict is Verdict.SKIPPED and "no syslog server" in f.why


def test_suppressed_templates_are_skipped():
    ctx = context(Log_Request_Msg="", Log_Upgrade_Request_Msg="")
    assert verdict("SYSLOG-REQUEST", clean_run(), ctx).verdict is Verdict.SKIPPED


def test_redirect_follow_up_is_one_attempt():
    obs = [
        syslog(0.9, request_msg()),
        http(1.0, status=302),
        http(1.1, url="/new.cfg"),
        syslog(1.2, success_msg(url="/new.cfg")),
    ]
    for rule in ("SYSLOG-REQUEST", "SYSLOG-RESULT", "SYSLOG-MACROS"):
        assert verdict(rule, obs).verdict is Verdict.PASS, rule
