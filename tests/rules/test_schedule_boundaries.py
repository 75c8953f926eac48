"""Every window and threshold of the scheduling, upgrade, preprovisioning, DNS and TFTP rules,
pinned by a case just inside and one just outside it.

The rules run through `harness.rules.evaluate` over `build_timelines`, as in a live run and
in the analyzer. The harness tolerances are named constants of harness/rules/schedule_rules.py
(documented there); the spec's delays come from the family file (cisco-8831-3pcc:
Resync_Random_Delay = 2 units of 20 s). RESYNC-PERIODIC's timing tolerance is not pinned
here: tests/rules/test_status_rules*.py owns it.
"""

from dataclasses import replace

import pytest

from harness.rules import Verdict
from harness.rules.schedule_rules import (
    ALL_DOWN_SYSLOG_WINDOW,
    CYCLE_GAP,
    FAILOVER_WINDOW,
    NAT_BREAKS_TFTP,
    RELEASE_WINDOW,
    TFTP_FILE_NOT_FOUND,
    TIMING_TOLERANCE,
)
from tests.rules.test_schedule_rules import T0, judge, lookup, tftp
from tests.rules.timelines import context, failure_msg, http, syslog

RANDOM_BAND = 2 * 20.0  # cisco-8831-3pcc: Resync_Random_Delay=2 x 20 s
JUST = 0.5  # how far outside a window the "just outside" case lies


def test_the_tolerances_are_the_documented_values():
    """The boundary cases below are written against these values; change both together."""
    assert (TIMING_TOLERANCE, CYCLE_GAP, RELEASE_WINDOW) == (5.0, 30.0, 60.0)
    assert (FAILOVER_WINDOW, ALL_DOWN_SYSLOG_WINDOW) == (120.0, 120.0)
    assert set(NAT_BREAKS_TFTP) == {"port-restricted", "symmetric"}


# -- RESYNC-POWERUP: first request within Resync_Random_Delay + TIMING_TOLERANCE -----------
LIMIT = RANDOM_BAND + TIMING_TOLERANCE


@pytest.mark.parametrize(
    ("after", "verdict"), [(LIMIT, Verdict.PASS), (LIMIT + JUST, Verdict.FAIL)]
)
def test_powerup_limit_is_the_random_band_plus_the_tolerance(after, verdict):
    f = judge("RESYNC-POWERUP", [http(T0 + after)], power_up_time=T0)
    assert f.verdict is verdict, f.why


@pytest.mark.parametrize(
    ("early", "verdict"),
    [
        (TIMING_TOLERANCE, Verdict.PASS),  # counts as the power-up request
        (TIMING_TOLERANCE + JUST, Verdict.FAIL),  # before power-up: the later one is judged
    ],
)
def test_powerup_request_may_precede_the_recorded_power_up_by_the_tolerance(early, verdict):
    f = judge("RESYNC-POWERUP", [http(T0 - early), http(T0 + 100)], power_up_time=T0)
    assert f.verdict is verdict, f.why


@pytest.mark.parametrize(
    ("watched", "verdict"), [(LIMIT, Verdict.INCONCLUSIVE), (LIMIT + JUST, Verdict.FAIL)]
)
def test_powerup_without_request_fails_only_once_watched_past_the_limit(watched, verdict):
    f = judge("RESYNC-POWERUP", [syslog(T0, "x")], power_up_time=T0, observed_until=T0 + watched)
    assert f.verdict is verdict, f.why


# -- RESYNC-IDLE: Forced_Resync_Delay (less the tolerance) and RELEASE_WINDOW -------------
IDLE = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")


@pytest.mark.parametrize(
    ("after_end", "verdict"),
    [(RELEASE_WINDOW, Verdict.PASS), (RELEASE_WINDOW + 1, Verdict.FAIL)],
)
def test_idle_held_resync_must_come_within_the_release_window(after_end, verdict):
    end = T0 + 7200
    obs = [http(T0), http(end + after_end)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=[(T0 + 10, end)])
    assert f.verdict is verdict, f.why
    if verdict is Verdict.FAIL:
        assert "after the call ended" in f.why and f"within {RELEASE_WINDOW:.0f} s" in f.why


@pytest.mark.parametrize(
    ("early", "verdict"),
    [(TIMING_TOLERANCE, Verdict.PASS), (TIMING_TOLERANCE + 1, Verdict.FAIL)],
)
def test_idle_forced_resync_not_before_forced_resync_delay(early, verdict):
    due = T0 + 3600  # the periodic resync falls due during the call
    obs = [http(T0), http(due + 14400 - early)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=[(T0 + 10, T0 + 30000)])
    assert f.verdict is verdict, f.why
    if verdict is Verdict.FAIL:
        assert "Forced_Resync_Delay=14400" in f.why


def test_idle_resync_not_due_before_the_call_ended_is_not_judged():
    """Due only after the call (plus the random band and tolerance): nothing to hold."""
    end = T0 + 3600 + TIMING_TOLERANCE  # due_by == end: not due during the call
    f = judge("RESYNC-IDLE", [http(T0), http(end + 600)], IDLE, calls=[(T0 + 10, end)])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    f = judge("RESYNC-IDLE", [http(T0), http(end + 600)], IDLE, calls=[(T0 + 10, end + 1)])
    assert f.verdict is Verdict.FAIL, f.why


# -- CYCLE_GAP: requests this close to the previous one belong to one resync -------------
PRE, REMOTE = "/preprov/x.cfg", "/remote/x.cfg"


@pytest.mark.parametrize(
    ("gap", "verdict"), [(CYCLE_GAP, Verdict.PASS), (CYCLE_GAP + JUST, Verdict.FAIL)]
)
def test_a_request_within_the_cycle_gap_is_part_of_the_same_resync(gap, verdict):
    """A second file fetched right after the remote profile is the same resync; later, it
    is a resync that skipped the remote profile."""
    obs = [
        tftp(T0, PRE),
        http(T0 + 3600, REMOTE),
        http(T0 + 3600 + gap, "/extra.cfg"),
        http(T0 + 7200, REMOTE),
    ]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is verdict, f.why


def test_preprov_without_any_later_request_is_not_judged():
    """No resync after the preprovisioning profile: no rule was used, right or wrong."""
    f = judge("REDIRECT-PREPROV", [tftp(T0, PRE)], preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.INCONCLUSIVE and "no further request" in f.why
    later = [tftp(T0, PRE), tftp(T0 + 3600, PRE)]
    f = judge("REDIRECT-PREPROV", later, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.FAIL and f"never asked for {REMOTE}" in f.why


def test_preprov_remote_fetched_once_is_not_yet_proof():
    obs = [tftp(T0, PRE), http(T0 + 3600, REMOTE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.INCONCLUSIVE and "fetched once" in f.why
    obs.append(http(T0 + 7200, REMOTE))
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.PASS and "each of its 2 later resyncs" in f.why


# -- UPGRADE-MULTISTAGE: order of the stages ----------------------------------------------
STAGES = ["/fw/a-2.0.0.loads", "/fw/a-3.0.0.loads", "/fw/a-4.0.0.loads"]


def multistage(fetched):
    obs = [http(T0)] + [http(T0 + 10 * (i + 1), p) for i, p in enumerate(fetched)]
    return judge("UPGRADE-MULTISTAGE", obs, upgrade_stages=STAGES, firmware_paths=STAGES)


def test_multistage_next_stage_only_after_the_previous_one():
    assert multistage(STAGES).verdict is Verdict.PASS
    f = multistage([STAGES[1], STAGES[0], STAGES[1], STAGES[2]])
    assert f.verdict is Verdict.FAIL
    assert f"stage 2 ({STAGES[1]}) was requested before stage 1 ({STAGES[0]})" in f.why


def test_multistage_skipping_a_stage_names_it():
    f = multistage([STAGES[0], STAGES[2]])
    assert f.verdict is Verdict.FAIL
    assert f"stage 3 ({STAGES[2]}) was requested before stage 2 ({STAGES[1]})" in f.why


def test_multistage_stopping_half_way_names_how_far_it_got():
    f = multistage(STAGES[:2])
    assert f.verdict is Verdict.FAIL and "stopped after 2 of 3 stages" in f.why


def test_multistage_a_failed_stage_is_not_installed():
    obs = [http(T0), http(T0 + 10, STAGES[0], status=404), http(T0 + 20, STAGES[1])]
    f = judge("UPGRADE-MULTISTAGE", obs, upgrade_stages=STAGES, firmware_paths=STAGES)
    assert f.verdict is Verdict.FAIL and "stage 2" in f.why


# -- DNS-FAILOVER: the next A record within FAILOVER_WINDOW ------------------------------
DEAD, LIVE = "198.51.100.5", "198.51.100.6"


@pytest.mark.parametrize(
    ("after", "verdict"), [(FAILOVER_WINDOW, Verdict.PASS), (FAILOVER_WINDOW + 1, Verdict.FAIL)]
)
def test_failover_must_reach_a_live_record_within_the_window(after, verdict):
    obs = [lookup(T0, DEAD, LIVE), http(T0 + after, server=(LIVE, 80))]
    f = judge("DNS-FAILOVER", obs, dead_servers=[DEAD])
    assert f.verdict is verdict, f.why


def test_failover_window_ends_at_the_next_lookup_of_the_name():
    obs = [lookup(T0, DEAD, LIVE), lookup(T0 + 10, DEAD, LIVE), http(T0 + 11, server=(LIVE, 80))]
    f = judge("DNS-FAILOVER", obs, dead_servers=[DEAD])
    assert f.verdict is Verdict.FAIL and "within 10 s" in f.why


def test_failover_not_needed_when_the_first_record_answers():
    obs = [lookup(T0, LIVE, DEAD), http(T0 + 1, server=(LIVE, 80))]
    assert judge("DNS-FAILOVER", obs, dead_servers=[DEAD]).verdict is Verdict.INCONCLUSIVE


# -- DNS-ALL-DOWN: every record dead; the error in syslog within the window ---------------
@pytest.mark.parametrize(
    ("after", "verdict"),
    [(ALL_DOWN_SYSLOG_WINDOW, Verdict.PASS), (ALL_DOWN_SYSLOG_WINDOW + 1, Verdict.FAIL)],
)
def test_all_down_error_must_reach_syslog_within_the_window(after, verdict):
    obs = [lookup(T0, DEAD, LIVE), syslog(T0 + after, failure_msg("no server answered"))]
    f = judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD, LIVE])
    assert f.verdict is verdict, f.why


def test_all_down_needs_every_record_dead_not_one():
    obs = [lookup(T0, DEAD, LIVE)]  # no syslog error: a fail if it were all down
    f = judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    assert judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD, LIVE]).verdict is Verdict.FAIL


def test_all_down_without_the_dead_fact_reads_unanswered_servers():
    quiet = [lookup(T0, DEAD, LIVE)]
    assert judge("DNS-ALL-DOWN", quiet).verdict is Verdict.FAIL
    answered = [lookup(T0, DEAD, LIVE), http(T0 + 1, server=(LIVE, 80))]
    assert judge("DNS-ALL-DOWN", answered).verdict is Verdict.INCONCLUSIVE


# -- TFTP-DEFAULT-RULE: the factory rule is a TFTP read of the product's file -------------
def test_default_rule_over_http_fails_even_with_the_right_path():
    f = judge("TFTP-DEFAULT-RULE", [http(T0, "/CP-8831-3PCC.cfg")])
    assert f.verdict is Verdict.FAIL and "expected TFTP /CP-8831-3PCC.cfg" in f.why
    assert judge("TFTP-DEFAULT-RULE", [tftp(T0, "CP-8831-3PCC.cfg")]).verdict is Verdict.PASS


# -- TFTP-DHCP66: no request at all fails once watched past the random band + tolerance ---
@pytest.mark.parametrize(
    ("watched", "verdict"), [(LIMIT, Verdict.INCONCLUSIVE), (LIMIT + JUST, Verdict.FAIL)]
)
def test_dhcp66_silence_fails_only_once_watched_past_the_limit(watched, verdict):
    f = judge(
        "TFTP-DHCP66",
        [syslog(T0, "x")],
        dhcp_option_66="192.0.2.2",
        power_up_time=T0,
        observed_until=T0 + watched,
    )
    assert f.verdict is verdict, f.why


def test_dhcp66_port_from_the_fact_must_match():
    ok = judge("TFTP-DHCP66", [tftp(T0)], dhcp_option_66="192.0.2.2:69")
    assert ok.verdict is Verdict.PASS, ok.why
    other = judge("TFTP-DHCP66", [tftp(T0)], dhcp_option_66="192.0.2.2:6969")
    assert other.verdict is Verdict.FAIL, other.why


# -- TFTP-RESYNC: "File not found" is an answer (the status rules judge it), not a broken read
def test_tftp_resync_file_not_found_is_not_a_broken_transfer():
    assert TFTP_FILE_NOT_FOUND == 1  # RFC 1350
    missing = replace(tftp(T0, outcome="error"), error_code=TFTP_FILE_NOT_FOUND)
    f = judge("TFTP-RESYNC", [missing])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    broken = replace(tftp(T0, outcome="error"), error_code=2)
    f = judge("TFTP-RESYNC", [broken])
    assert f.verdict is Verdict.FAIL and "did not complete" in f.why


# -- TFTP-NAT: which NAT kinds drop TFTP ----------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "breaks"),
    [("port-restricted", True), ("symmetric", True), ("full-cone", False), ("none", False)],
)
def test_tftp_nat_kinds(kind, breaks):
    failed = [tftp(T0, outcome="timeout"), http(T0 + 1)]
    worked = [tftp(T0), http(T0 + 1)]
    nat = {"kind": kind, "tftp_helper": False}
    assert judge("TFTP-NAT", failed, nat=nat).verdict is (Verdict.PASS if breaks else Verdict.FAIL)
    assert judge("TFTP-NAT", worked, nat=nat).verdict is (Verdict.FAIL if breaks else Verdict.PASS)
    helped = {"kind": kind, "tftp_helper": True}
    assert judge("TFTP-NAT", worked, nat=helped).verdict is Verdict.PASS
