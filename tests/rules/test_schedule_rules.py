"""Scheduling, upgrade, preprovisioning, DNS-failover and TFTP rules on hand-made timelines."""

from dataclasses import replace

import pytest

from harness.observe.events import DeviceKey, DhcpExchange, DnsQuery, TftpTransfer
from harness.observe.timeline import build_timelines
from harness.rules import Verdict, evaluate
from tests.rules.timelines import DEV, IP, context, ev, failure_msg, http, syslog

T0 = 1_700_000_000.0
LAB = ("127.0.0.1", 8080)


def judge(req, observations, ctx=None, **facts):
    ctx = ctx or context()
    ctx = replace(ctx, facts={"syslog_server": "udp://127.0.0.1:514", **facts})
    found = evaluate(build_timelines(observations), ctx, only=[req])
    assert len(found) == 1, found
    return found[0]


def tftp(t, name="CP-8831-3PCC.cfg", *, outcome="complete", server=("192.0.2.2", 69)):
    return TftpTransfer(
        time=t, client=(IP, 3000), server=server, device=DEV, evidence=ev(),
        op="RRQ", filename=name, outcome=outcome,
    )  # fmt: skip


def lookup(t, *answers, name="pool.example.test"):
    return DnsQuery(
        time=t, client=(IP, 5353), device=DEV, evidence=ev(), qname=name, qtype="A",
        rcode="NOERROR", answers=answers,
    )  # fmt: skip


# -- RESYNC-POWERUP ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first_after", "verdict"), [(0, Verdict.PASS), (40, Verdict.PASS), (120, Verdict.FAIL)]
)
def test_powerup_within_random_delay(first_after, verdict):
    f = judge("RESYNC-POWERUP", [http(T0 + first_after)], power_up_time=T0)
    assert f.verdict is verdict
    assert f"{first_after} s after power-up" in f.why and "0..40 s" in f.why


def test_powerup_without_any_request_fails_only_when_watched_long_enough():
    assert judge("RESYNC-POWERUP", [syslog(T0, "x")], power_up_time=T0).verdict in (
        Verdict.INCONCLUSIVE,
    )
    f = judge("RESYNC-POWERUP", [syslog(T0, "x")], power_up_time=T0, observed_until=T0 + 600)
    assert f.verdict is Verdict.FAIL


def test_powerup_skipped_when_resync_on_reset_is_off():
    ctx = context(Resync_On_Reset="No")
    assert judge("RESYNC-POWERUP", [http(T0)], ctx, power_up_time=T0).verdict is Verdict.SKIPPED


# -- RESYNC-PERIODIC -----------------------------------------------------------------
def periodic(gaps):
    t, out = T0, [http(T0)]
    for g in gaps:
        t += g
        out.append(http(t))
    return out


@pytest.mark.parametrize(
    ("gaps", "verdict"),
    [
        ([3600, 3620, 3640], Verdict.PASS),
        ([3600, 600], Verdict.FAIL),  # too soon
        ([3600, 7200], Verdict.FAIL),  # a period missed
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_periodic_spacing(gaps, verdict):
    f = judge("RESYNC-PERIODIC", periodic(gaps))
    assert f.verdict is verdict, f.why
    if verdict is not Verdict.INCONCLUSIVE:
        assert "3600..3640 s" in f.why


def test_periodic_uses_the_value_the_served_profile_set():
    f = judge(
        "RESYNC-PERIODIC", periodic([1800, 1800]), profile_parameters={"Resync_Periodic": "1800"}
    )
    assert f.verdict is Verdict.PASS and "Resync_Periodic=1800" in f.why


def test_periodic_missing_after_success_fails_when_watched():
    f = judge("RESYNC-PERIODIC", [http(T0)], observed_until=T0 + 3 * 3600)
    assert f.verdict is Verdict.FAIL and "no resync in the" in f.why


def test_periodic_retries_after_failure_are_not_periodic():
    obs = [http(T0), http(T0 + 3600, status=404), http(T0 + 7200), http(T0 + 10800)]
    assert judge("RESYNC-PERIODIC", obs).verdict is Verdict.PASS


def test_periodic_skipped_when_disabled():
    assert judge("RESYNC-PERIODIC", periodic([3600]), context(Resync_Periodic="0")).verdict is (
        Verdict.SKIPPED
    )


# -- RESYNC-IDLE ---------------------------------------------------------------------
IDLE = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")


def test_idle_held_until_call_ends_and_forced_after_delay():
    calls = [(T0 + 10, T0 + 7200), (T0 + 7300, T0 + 30000)]
    obs = [http(T0), http(T0 + 7200), http(T0 + 7200 + 3600 + 14400)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=calls)
    assert f.verdict is Verdict.PASS, f.why
    assert "forced after 14400 s" in f.why


def test_idle_resync_during_call_fails():
    f = judge("RESYNC-IDLE", [http(T0), http(T0 + 3600)], IDLE, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.FAIL and "Forced_Resync_Delay=14400" in f.why


def test_idle_held_resync_dropped_until_next_period_fails():
    obs = [http(T0), http(T0 + 10800)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.FAIL and "after the call ended" in f.why


def test_idle_without_calls_is_inconclusive():
    assert judge("RESYNC-IDLE", [http(T0)], IDLE).verdict is Verdict.INCONCLUSIVE


# -- UPGRADE-PROTO / UPGRADE-MULTISTAGE ----------------------------------------------
FW = "/fw/CP-8831-3PCC-2.0.0.loads"


def test_upgrade_over_https_fails_where_the_family_forbids_it():
    obs = [http(T0), http(T0 + 1, FW)]
    obs[1] = replace(obs[1], scheme="https")
    f = judge("UPGRADE-PROTO", obs, firmware_paths=[FW])
    assert f.verdict is Verdict.FAIL and "HTTPS" in f.why
    assert judge("UPGRADE-PROTO", obs, context("cisco-mpp"), firmware_paths=[FW]).verdict is (
        Verdict.SKIPPED
    )


def test_upgrade_over_http_passes_and_paths_come_from_the_upgrade_rule():
    ctx = context(Upgrade_Rule=f"http://198.51.100.5{FW}")
    assert judge("UPGRADE-PROTO", [http(T0), http(T0 + 1, FW)], ctx).verdict is Verdict.PASS
    assert judge("UPGRADE-PROTO", [http(T0)], context()).verdict is Verdict.INCONCLUSIVE


STAGES = ["/fw/a-2.0.0.loads", "/fw/a-3.0.0.loads"]


@pytest.mark.parametrize(
    ("fetched", "verdict", "reason"),
    [
        (STAGES, Verdict.PASS, "the 2 stages were fetched one after another"),
        # skipped the intermediate stage
        ([STAGES[1]], Verdict.FAIL, f"stage 2 ({STAGES[1]}) was requested before stage 1"),
        # came back to the final stage after the intermediate one: still out of order
        (
            [STAGES[1], STAGES[0], STAGES[1]],
            Verdict.FAIL,
            f"stage 2 ({STAGES[1]}) was requested before stage 1",
        ),
        ([STAGES[0]], Verdict.FAIL, "the upgrade stopped after 1 of 2 stages"),  # half-way
    ],
)
def test_multistage_order(fetched, verdict, reason):
    obs = [http(T0)] + [http(T0 + 10 * (i + 1), p) for i, p in enumerate(fetched)]
    f = judge("UPGRADE-MULTISTAGE", obs, upgrade_stages=STAGES, firmware_paths=STAGES)
    assert f.verdict is verdict, f.why
    assert reason in f.why


# -- REDIRECT-PREPROV ----------------------------------------------------------------
PRE, REMOTE = "/preprov/x.cfg", "/remote/x.cfg"


def test_preprov_then_remote_from_then_on():
    obs = [tftp(T0, PRE), http(T0 + 3600, REMOTE), http(T0 + 7200, REMOTE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.PASS, f.why


def test_preprov_remote_never_used_fails():
    obs = [tftp(T0, PRE), tftp(T0 + 3600, PRE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.FAIL and REMOTE in f.why


def test_preprov_remote_dropped_later_fails():
    obs = [tftp(T0, PRE), http(T0 + 3600, REMOTE), tftp(T0 + 7200, PRE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.FAIL


# -- DNS-FAILOVER / DNS-ALL-DOWN -----------------------------------------------------
def test_failover_reaches_the_second_record():
    live = ("198.51.100.6", 80)
    obs = [lookup(T0, "198.51.100.5", live[0]), http(T0 + 1, server=live)]
    f = judge("DNS-FAILOVER", obs, dead_servers=["198.51.100.5"])
    assert f.verdict is Verdict.PASS and "198.51.100.6" in f.why


def test_failover_missing_fails_and_needs_the_dead_fact():
    obs = [lookup(T0, "198.51.100.5", "198.51.100.6"), syslog(T0 + 1, failure_msg("refused"))]
    assert judge("DNS-FAILOVER", obs, dead_servers=["198.51.100.5"]).verdict is Verdict.FAIL
    assert judge("DNS-FAILOVER", obs).verdict is Verdict.INCONCLUSIVE


def test_all_down_needs_an_error_in_syslog():
    dead = ["198.51.100.5", "198.51.100.6"]
    ok = [lookup(T0, *dead), syslog(T0 + 2, failure_msg("no server answered"))]
    assert judge("DNS-ALL-DOWN", ok, dead_servers=dead).verdict is Verdict.PASS
    silent = [lookup(T0, *dead)]
    f = judge("DNS-ALL-DOWN", silent, dead_servers=dead)
    assert f.verdict is Verdict.FAIL and "Log_Failure_Msg" in f.why


# -- TFTP ----------------------------------------------------------------------------
def test_dhcp66_from_the_offer():
    offer = DhcpExchange(
        time=T0, device=DeviceKey(ip=IP), evidence=ev(), message_type="OFFER",
        offered_options={66: "192.0.2.2"},
    )  # fmt: skip
    assert judge("TFTP-DHCP66", [offer, tftp(T0 + 5)]).verdict is Verdict.PASS
    elsewhere = tftp(T0 + 5, server=("192.0.2.99", 69))
    assert judge("TFTP-DHCP66", [offer, elsewhere]).verdict is Verdict.FAIL
    ctx = context(Profile_Rule="http://x.example/a.cfg")
    assert judge("TFTP-DHCP66", [offer, tftp(T0 + 5)], ctx).verdict is Verdict.SKIPPED


@pytest.mark.parametrize(
    ("family", "name", "verdict"),
    [
        ("cisco-8831-3pcc", "CP-8831-3PCC.cfg", Verdict.PASS),
        ("cisco-8831-3pcc", "device.cfg", Verdict.FAIL),
        ("cisco-spa", "spa525G.cfg", Verdict.PASS),
        ("cisco-spa", "CP-8831-3PCC.cfg", Verdict.FAIL),
    ],
)
def test_default_rule_per_family(family, name, verdict):
    f = judge("TFTP-DEFAULT-RULE", [tftp(T0, name)], context(family))
    assert f.verdict is verdict, f.why


def test_tftp_resync_and_upgrade():
    ctx = context(Upgrade_Rule=f"tftp://192.0.2.2{FW}")
    both = [tftp(T0), tftp(T0 + 1, FW.lstrip("/"))]
    assert judge("TFTP-RESYNC", both, ctx).verdict is Verdict.PASS
    assert judge("TFTP-RESYNC", both[:1], ctx).verdict is Verdict.FAIL
    broken = [tftp(T0), tftp(T0 + 1, FW.lstrip("/"), outcome="timeout")]
    assert judge("TFTP-RESYNC", broken, ctx).verdict is Verdict.FAIL


def test_tftp_nat_is_an_environment_fact():
    obs = [tftp(T0, outcome="timeout"), http(T0 + 1)]
    assert judge("TFTP-NAT", obs).verdict is Verdict.SKIPPED
    f = judge("TFTP-NAT", obs, nat={"kind": "symmetric", "tftp_helper": False})
    assert f.verdict is Verdict.PASS and "symmetric" in f.why
    done = [tftp(T0), http(T0 + 1)]
    assert judge("TFTP-NAT", done, nat={"kind": "symmetric"}).verdict is Verdict.FAIL
    helped = {"kind": "symmetric", "tftp_helper": True}
    assert judge("TFTP-NAT", done, nat=helped).verdict is Verdict.PASS
