"""Which observation each scheduling, upgrade, preprovisioning, DNS and TFTP finding points
at. The report promises capture evidence for every verdict: a finding's `time` and `frames`
must be those of the packet that shows it (the late request, the lookup nobody followed,
the transfer that broke), plus the other packets it names. Through `evaluate`, as in a live
run and the analyzer."""

from dataclasses import replace

import pytest

from harness.rules import Verdict
from tests.rules.test_schedule_rules import T0, judge, lookup, tftp
from tests.rules.timelines import context, failure_msg, http, syslog


def frames_of(*obs):
    return tuple(sorted({f for o in obs for f in o.evidence.frames}))


def assert_points_at(f, about, *also):
    """`f` is about the observation `about` (its time, its frames) and also names `also`."""
    assert f.time == about.time, (f.time, about.time, f.why)
    assert f.frames == frames_of(about, *also), f.why


# -- RESYNC-POWERUP -------------------------------------------------------------------------
def test_powerup_late_first_request_is_the_evidence():
    first = http(T0 + 120)
    f = judge("RESYNC-POWERUP", [first, http(T0 + 121)], power_up_time=T0)
    assert f.verdict is Verdict.FAIL
    assert_points_at(f, first)


# -- RESYNC-PERIODIC ------------------------------------------------------------------------
def test_periodic_pass_points_at_the_first_periodic_resync():
    obs = [http(T0), http(T0 + 3600), http(T0 + 7200)]
    f = judge("RESYNC-PERIODIC", obs)
    assert f.verdict is Verdict.PASS, f.why
    assert_points_at(f, obs[1])


def test_periodic_fail_points_at_the_mistimed_resync():
    obs = [http(T0), http(T0 + 3600), http(T0 + 4200), http(T0 + 4201, "/b.cfg")]
    f = judge("RESYNC-PERIODIC", obs)
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, obs[2])


def test_periodic_silence_points_at_the_last_success():
    obs = [http(T0), http(T0 + 1, "/b.cfg")]
    f = judge("RESYNC-PERIODIC", obs, observed_until=T0 + 3 * 3600)
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, obs[1])  # the last request of the last resync


# -- RESYNC-IDLE ----------------------------------------------------------------------------
IDLE = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")


def test_idle_resync_during_a_call_is_the_evidence():
    during = http(T0 + 3600)
    f = judge("RESYNC-IDLE", [http(T0), during], IDLE, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, during)


def test_idle_late_held_resync_is_the_evidence():
    late = http(T0 + 10800)
    f = judge("RESYNC-IDLE", [http(T0), late], IDLE, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, late)


# -- UPGRADE-PROTO ----------------------------------------------------------------------------
FW = "/fw/CP-8831-3PCC-2.0.0.loads"


def test_upgrade_pass_points_at_the_first_firmware_request():
    fw = http(T0 + 1, FW)
    f = judge("UPGRADE-PROTO", [http(T0), fw, http(T0 + 2, FW)], firmware_paths=[FW])
    assert f.verdict is Verdict.PASS, f.why
    assert_points_at(f, fw)


# -- REDIRECT-PREPROV -------------------------------------------------------------------------
PRE, REMOTE = "/preprov/x.cfg", "/remote/x.cfg"


def test_preprov_with_nothing_later_points_at_the_preprovisioning_fetch():
    pre = tftp(T0, PRE)
    f = judge("REDIRECT-PREPROV", [pre], preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    assert_points_at(f, pre)


def test_preprov_remote_fetched_once_points_at_that_fetch():
    remote = http(T0 + 3600, REMOTE)
    obs = [tftp(T0, PRE), remote]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    assert_points_at(f, remote)


# -- DNS-ALL-DOWN -----------------------------------------------------------------------------
DEAD, DEAD2 = "198.51.100.5", "198.51.100.7"


def test_all_down_pass_points_at_the_lookup():
    q = lookup(T0, DEAD)
    f = judge("DNS-ALL-DOWN", [q, syslog(T0 + 1, failure_msg("x"))], dead_servers=[DEAD])
    assert f.verdict is Verdict.PASS, f.why
    assert_points_at(f, q)


def test_all_down_fail_points_at_the_lookup_and_the_messages_that_were_not_the_error():
    q = lookup(T0, DEAD, DEAD2)
    other = syslog(T0 + 1, "something else")
    f = judge("DNS-ALL-DOWN", [q, other], dead_servers=[DEAD, DEAD2])
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, q, other)
    assert f"resolved to {DEAD}, {DEAD2}, none of which answered" in f.why


# -- TFTP-DHCP66 ------------------------------------------------------------------------------
def test_dhcp66_pass_points_at_the_read_from_the_option_66_server():
    read = tftp(T0)
    f = judge("TFTP-DHCP66", [read], dhcp_option_66="192.0.2.2")
    assert f.verdict is Verdict.PASS, f.why
    assert_points_at(f, read)


def test_dhcp66_fail_points_at_the_request_to_another_server():
    wrong = http(T0)
    f = judge("TFTP-DHCP66", [wrong], dhcp_option_66="192.0.2.2")
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, wrong)


# -- TFTP-DEFAULT-RULE ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "verdict"), [("CP-8831-3PCC.cfg", Verdict.PASS), ("x.cfg", Verdict.FAIL)]
)
def test_default_rule_points_at_the_first_request(name, verdict):
    first = tftp(T0, name)
    f = judge("TFTP-DEFAULT-RULE", [first, tftp(T0 + 1, "CP-8831-3PCC.cfg")])
    assert f.verdict is verdict, f.why
    assert_points_at(f, first)


# -- TFTP-NAT ---------------------------------------------------------------------------------
def _nat(kind, helper=False, *, tftp_outcome="complete", status=200):
    t = tftp(T0, outcome=tftp_outcome)
    h = http(T0 + 1, status=status)
    f = judge("TFTP-NAT", [t, h], nat={"kind": kind, "tftp_helper": helper})
    return f, t, h


@pytest.mark.parametrize(
    ("kind", "helper", "outcome", "verdict"),
    [
        ("symmetric", False, "complete", Verdict.FAIL),  # TFTP should have failed
        ("symmetric", False, "timeout", Verdict.PASS),  # reproduced
        ("full-cone", False, "timeout", Verdict.FAIL),  # TFTP should have worked
        ("full-cone", False, "complete", Verdict.PASS),
        ("symmetric", True, "complete", Verdict.PASS),  # the helper rewrites the port
    ],
)
def test_tftp_nat_points_at_the_tftp_read_and_names_the_http_request(
    kind, helper, outcome, verdict
):
    f, t, h = _nat(kind, helper, tftp_outcome=outcome)
    assert f.verdict is verdict, f.why
    assert_points_at(f, t, h)


def test_tftp_nat_broken_http_points_at_the_http_request():
    f, t, h = _nat("symmetric", tftp_outcome="timeout", status=503)
    assert f.verdict is Verdict.FAIL, f.why
    assert_points_at(f, h, t)


def test_tftp_nat_helper_changes_the_verdict():
    """Without the TFTP helper a port-restricted NAT breaks TFTP; with it, TFTP works."""
    f, _, _ = _nat("port-restricted", False, tftp_outcome="timeout")
    assert f.verdict is Verdict.PASS and "(no TFTP helper)" in f.why
    f, _, _ = _nat("port-restricted", True, tftp_outcome="timeout")
    assert f.verdict is Verdict.FAIL and "with the TFTP helper" in f.why


def test_https_request_counts_as_the_http_side_of_tftp_nat():
    t = tftp(T0, outcome="timeout")
    h = replace(http(T0 + 1), scheme="https")
    f = judge("TFTP-NAT", [t, h], nat={"kind": "symmetric"})
    assert f.verdict is Verdict.PASS, f.why
    assert_points_at(f, t, h)
