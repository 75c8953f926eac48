"""Every branch of the scheduling, upgrade, DNS and TFTP rules that decides a verdict: what
they skip, what leaves them inconclusive, and where their inputs come from (served profile,
family defaults, facts, DHCP). Through `evaluate`, as in a live run and the analyzer."""

from dataclasses import replace

import pytest

from harness.observe.events import DeviceKey, DhcpExchange
from harness.rules import Verdict
from tests.rules.test_schedule_rules import T0, judge, lookup, tftp
from tests.rules.timelines import IP, context, ev, failure_msg, http, syslog


# -- RESYNC-POWERUP -------------------------------------------------------------------------
@pytest.mark.parametrize("off", ["No", "no", "0", "false", "disable"])
def test_powerup_skipped_for_each_way_of_saying_no(off):
    f = judge("RESYNC-POWERUP", [http(T0)], context(Resync_On_Reset=off), power_up_time=T0)
    assert f.verdict is Verdict.SKIPPED and "Resync_On_Reset = No" in f.why


def test_powerup_uses_the_served_value_and_says_why_it_cannot_judge():
    f = judge(
        "RESYNC-POWERUP", [http(T0)], power_up_time=T0, profile_parameters={"Resync_On_Reset": "No"}
    )
    assert f.verdict is Verdict.SKIPPED
    f = judge("RESYNC-POWERUP", [http(T0)])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "the scenario did not record the power-up time"
    f = judge("RESYNC-POWERUP", [http(T0)], context(Resync_Random_Delay="x"), power_up_time=T0)
    assert f.verdict is Verdict.INCONCLUSIVE and "'x' is not a number" in f.why
    f = judge("RESYNC-POWERUP", [syslog(T0, "x")], power_up_time=T0)
    assert f.why == "no request after power-up seen"


def test_powerup_band_is_the_served_random_delay_in_family_units():
    served = {"Resync_Random_Delay": "1"}  # 1 x 20 s
    f = judge("RESYNC-POWERUP", [http(T0 + 30)], power_up_time=T0, profile_parameters=served)
    assert f.verdict is Verdict.FAIL and "0..20 s" in f.why
    assert "Resync_Random_Delay=1 x 20 s" in f.why
    f = judge("RESYNC-POWERUP", [http(T0 + 30)], context(Resync_Random_Delay=""), power_up_time=T0)
    assert f.verdict is Verdict.FAIL and "0..0 s" in f.why  # empty: no random delay


def test_powerup_reasons_and_evidence():
    first = http(T0 + 3)
    f = judge("RESYNC-POWERUP", [first, http(T0 + 4)], power_up_time=T0)
    assert f.why == (
        "the first request (http /CP-8831-3PCC.cfg) came 3 s after power-up; expected within "
        "0..40 s (Resync_Random_Delay=2 x 20 s, +5 s tolerance)"
    )
    assert f.frames == first.evidence.frames
    f = judge("RESYNC-POWERUP", [http(T0 - 2)], power_up_time=T0)
    assert f.verdict is Verdict.PASS and "came 0 s after power-up" in f.why


# -- RESYNC-IDLE ------------------------------------------------------------------------------
def test_idle_needs_numbers():
    ctx = context(Forced_Resync_Delay="soon")
    f = judge("RESYNC-IDLE", [http(T0)], ctx, calls=[(T0 + 10, T0 + 20)])
    assert f.verdict is Verdict.INCONCLUSIVE and "is not a number" in f.why
    f = judge("RESYNC-IDLE", [http(T0)], calls=[(T0 + 10, T0 + 20)])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "no resync fell due during the calls, so the idle rule was not exercised"


def test_idle_pass_notes_each_call():
    idle = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")
    obs = [http(T0), http(T0 + 7200 + 10)]
    f = judge("RESYNC-IDLE", obs, idle, calls=[(T0 + 10, T0 + 7200)])
    assert f.verdict is Verdict.PASS
    assert f.why == (
        "no resync during a call before Forced_Resync_Delay; "
        "call 1: held, made 10 s after the call ended"
    )


# -- UPGRADE-PROTO ------------------------------------------------------------------------------
FW = "/fw/CP-8831-3PCC-2.0.0.loads"


@pytest.mark.parametrize(
    "rule",
    [
        f"http://198.51.100.5{FW}",
        f"tftp://198.51.100.5:69{FW}",
        f"($SWVER lt 2.0.0)? http://198.51.100.5{FW} | http://198.51.100.5/fw/other.loads",
        f"{FW}",
    ],
)
def test_firmware_paths_come_from_the_upgrade_rule(rule):
    f = judge("UPGRADE-PROTO", [http(T0), http(T0 + 1, FW)], context(Upgrade_Rule=rule))
    assert f.verdict is Verdict.PASS and f.why == "1 firmware requests, over http only"


def test_a_templated_firmware_path_is_not_a_literal_one():
    ctx = context(Upgrade_Rule="http://198.51.100.5/fw/$PN-2.0.0.loads")
    f = judge("UPGRADE-PROTO", [http(T0), http(T0 + 1, "/fw/$PN-2.0.0.loads")], ctx)
    assert f.verdict is Verdict.INCONCLUSIVE


def test_upgrade_https_rule_not_followed_over_https_passes():
    ctx = context(Upgrade_Rule=f"https://198.51.100.5{FW}")
    f = judge("UPGRADE-PROTO", [http(T0)], ctx)
    assert f.verdict is Verdict.PASS and "no firmware over HTTPS" in f.why
    f = judge("UPGRADE-PROTO", [http(T0, status=404)], ctx)
    assert f.verdict is Verdict.INCONCLUSIVE  # no successful resync: nothing shows it


def test_upgrade_https_names_every_https_request():
    a = replace(http(T0 + 1, FW), scheme="https")
    b = replace(http(T0 + 2, FW), scheme="https")
    f = judge("UPGRADE-PROTO", [http(T0), a, b], firmware_paths=[FW])
    assert f.frames == tuple(sorted(a.evidence.frames + b.evidence.frames))


def test_multistage_needs_the_stages_fact():
    f = judge("UPGRADE-MULTISTAGE", [http(T0)])
    assert f.verdict is Verdict.INCONCLUSIVE
    f = judge("UPGRADE-MULTISTAGE", [http(T0, status=404)], upgrade_stages=["/a"])
    assert f.verdict is Verdict.INCONCLUSIVE and "no successful resync" in f.why
    f = judge("UPGRADE-MULTISTAGE", [http(T0)], upgrade_stages=["/a"])
    assert f.verdict is Verdict.FAIL and "stopped after 0 of 1" in f.why


# -- REDIRECT-PREPROV -----------------------------------------------------------------------
PRE, REMOTE = "/preprov/x.cfg", "/remote/x.cfg"


def test_preprov_needs_its_facts_and_the_profile():
    assert judge("REDIRECT-PREPROV", [tftp(T0, PRE)]).verdict is Verdict.INCONCLUSIVE
    f = judge(
        "REDIRECT-PREPROV",
        [tftp(T0, PRE, outcome="timeout"), http(T0 + 3600, REMOTE)],
        preprovision_path=PRE,
        remote_path=REMOTE,
    )
    assert f.verdict is Verdict.INCONCLUSIVE and "never fetched" in f.why


def test_preprov_a_failed_resync_without_the_remote_is_not_a_fail():
    obs = [
        tftp(T0, PRE),
        http(T0 + 3600, REMOTE),
        http(T0 + 7200, "/other.cfg", status=404),
        http(T0 + 10800, REMOTE),
    ]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.PASS, f.why


# -- DNS-FAILOVER / DNS-ALL-DOWN --------------------------------------------------------------
DEAD, LIVE = "198.51.100.5", "198.51.100.6"


def test_failover_inconclusive_cases():
    f = judge("DNS-FAILOVER", [lookup(T0, DEAD)], dead_servers=[DEAD])
    assert f.why == "no provisioning name resolved to several A records"
    f = judge("DNS-FAILOVER", [lookup(T0, DEAD, LIVE)], dead_servers=[DEAD, LIVE])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "no lookup whose first A record was down and another up"


def test_failover_reasons_and_evidence():
    q, r = lookup(T0, DEAD, LIVE), http(T0 + 2, server=(LIVE, 80))
    f = judge("DNS-FAILOVER", [q, r], dead_servers=[DEAD])
    assert f.why == (
        f"pool.example.test resolved to {DEAD}, {LIVE}; with {DEAD} down the device reached "
        f"{LIVE} 2.0 s after the lookup"
    )
    assert f.frames == tuple(sorted(q.evidence.frames + r.evidence.frames))


def test_all_down_skipped_without_syslog_or_template():
    obs = [lookup(T0, DEAD)]
    ctx = context()
    f = judge("DNS-ALL-DOWN", obs, ctx, dead_servers=[DEAD], syslog_server="")
    assert f.verdict is Verdict.SKIPPED and f.why == "no syslog server is configured"
    ctx = context(Syslog_Server="192.0.2.9")
    f = judge("DNS-ALL-DOWN", obs, ctx, dead_servers=[DEAD], syslog_server="")
    assert f.verdict is Verdict.FAIL
    f = judge("DNS-ALL-DOWN", obs, context(Log_Failure_Msg=""), dead_servers=[DEAD])
    assert f.verdict is Verdict.SKIPPED and "Log_Failure_Msg is empty" in f.why


def test_all_down_every_lookup_needs_its_error():
    first, second = lookup(T0, DEAD), lookup(T0 + 1000, DEAD)
    obs = [first, syslog(T0 + 1, failure_msg("x")), second]
    f = judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD])
    assert f.verdict is Verdict.FAIL and f.frames[0] in second.evidence.frames
    obs.append(syslog(T0 + 1001, failure_msg("x")))
    f = judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD])
    assert f.verdict is Verdict.PASS
    assert (
        f.why
        == f"pool.example.test resolved to {DEAD}, all down; each time an error went to syslog"
    )


# -- TFTP-DHCP66 -------------------------------------------------------------------------------
def offer(value):
    return DhcpExchange(
        time=T0, device=DeviceKey(ip=IP), evidence=ev(), message_type="OFFER",
        offered_options={66: value},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "skipped"),
    [
        ("/CP-8831-3PCC.cfg", False),
        ("[--key abc] /CP-8831-3PCC.cfg", False),
        ("tftp://192.0.2.2/CP-8831-3PCC.cfg", True),
        ("[--key abc] tftp://192.0.2.2/CP-8831-3PCC.cfg", True),
    ],
)
def test_dhcp66_only_for_a_rule_without_a_server(rule, skipped):
    f = judge("TFTP-DHCP66", [offer("192.0.2.2"), tftp(T0 + 5)], context(Profile_Rule=rule))
    assert f.verdict is (Verdict.SKIPPED if skipped else Verdict.PASS), f.why


def test_dhcp66_server_from_the_offer_or_the_fact():
    assert judge("TFTP-DHCP66", [offer(" 192.0.2.2 "), tftp(T0)]).verdict is Verdict.PASS
    assert judge("TFTP-DHCP66", [tftp(T0)]).verdict is Verdict.INCONCLUSIVE
    f = judge("TFTP-DHCP66", [tftp(T0)], dhcp_option_66=("192.0.2.2", 69))
    assert f.verdict is Verdict.PASS
    f = judge("TFTP-DHCP66", [tftp(T0)], dhcp_option_66=("192.0.2.2", 70))
    assert f.verdict is Verdict.FAIL
    f = judge("TFTP-DHCP66", [tftp(T0)], dhcp_option_66="192.0.2.2")
    assert f.why == (
        "with no server in Profile_Rule '/$PN.cfg' the device asked the option 66 server "
        "192.0.2.2 for CP-8831-3PCC.cfg"
    )
    f = judge("TFTP-DHCP66", [http(T0)], dhcp_option_66="192.0.2.2:69")
    assert f.why == (
        "the device asked 198.51.100.5 for /CP-8831-3PCC.cfg, not the DHCP option 66 server "
        "192.0.2.2:69"
    )


# -- TFTP-DEFAULT-RULE ---------------------------------------------------------------------
def test_default_rule_skipped_or_inconclusive():
    f = judge("TFTP-DEFAULT-RULE", [tftp(T0)], context(Profile_Rule="/x.cfg"))
    assert f.verdict is Verdict.SKIPPED and "'/$PN.cfg'" in f.why
    f = judge("TFTP-DEFAULT-RULE", [syslog(T0, "x")])
    assert f.verdict is Verdict.INCONCLUSIVE


def test_default_rule_reasons():
    f = judge("TFTP-DEFAULT-RULE", [tftp(T0, "device.cfg")])
    assert f.why == (
        "with the factory rule '/$PN.cfg' the first request was tftp /device.cfg; expected "
        "TFTP /CP-8831-3PCC.cfg (relative to the TFTP root)"
    )
    f = judge("TFTP-DEFAULT-RULE", [tftp(T0)])
    assert f.why == "with the factory rule '/$PN.cfg' the device asked for TFTP /CP-8831-3PCC.cfg"


# -- TFTP-RESYNC ------------------------------------------------------------------------------
def test_tftp_resync_branches():
    assert judge("TFTP-RESYNC", [http(T0)]).verdict is Verdict.INCONCLUSIVE
    f = judge("TFTP-RESYNC", [tftp(T0)])
    assert f.verdict is Verdict.INCONCLUSIVE and "no Upgrade_Rule naming a TFTP server" in f.why
    http_upgrade = context(Upgrade_Rule=f"http://198.51.100.5{FW}")
    assert judge("TFTP-RESYNC", [tftp(T0)], http_upgrade).verdict is Verdict.INCONCLUSIVE
    retried = [tftp(T0, outcome="timeout"), tftp(T0 + 30)]
    ctx = context(Upgrade_Rule=f"tftp://192.0.2.2{FW}")
    f = judge("TFTP-RESYNC", retried + [tftp(T0 + 31, FW.lstrip("/"))], ctx)
    assert f.verdict is Verdict.PASS, f.why  # a profile read that timed out, then completed
    assert f.why == (
        "resync (CP-8831-3PCC.cfg) and upgrade (fw/CP-8831-3PCC-2.0.0.loads) both completed over TFTP"
    )
    assert judge("TFTP-RESYNC", [tftp(T0, FW.lstrip("/"))], ctx).verdict is Verdict.INCONCLUSIVE


# -- TFTP-NAT ---------------------------------------------------------------------------------
def test_tftp_nat_needs_both_and_http_must_work():
    nat = {"kind": "symmetric"}
    f = judge("TFTP-NAT", [tftp(T0)], nat=nat)
    assert f.verdict is Verdict.INCONCLUSIVE and "saw 1 and 0" in f.why
    f = judge("TFTP-NAT", [tftp(T0, outcome="timeout"), http(T0 + 1, status=503)], nat=nat)
    assert f.verdict is Verdict.FAIL and "HTTP did not work" in f.why
    f = judge("TFTP-NAT", [tftp(T0, outcome="timeout"), http(T0 + 1)], nat={"kind": "none"})
    assert f.verdict is Verdict.FAIL and "should work but did not" in f.why


# -- a factory rule with identity macros (a family file's; the shipped ones use $PN/$PSN) -----
def _family_with_factory_rule(tmp_path, rule):
    from pathlib import Path

    from harness.spec.family import load_family, load_family_file

    src = Path(load_family("cisco-8831-3pcc").path).read_text().splitlines()
    lines = [f'Profile_Rule = "{rule}"' if ln.startswith("Profile_Rule = ") else ln for ln in src]
    path = tmp_path / "family.toml"
    path.write_text("\n".join(lines) + "\n")
    return load_family_file(path)


FACTORY = "/$MA-$MAU-$MAC-$SN.cfg"
RIGHT = "000e08abcdef-000E08ABCDEF-00:0e:08:ab:cd:ef-88012BA01234.cfg"


@pytest.mark.parametrize("from_traffic", [False, True])
def test_default_rule_expands_the_identity_macros(tmp_path, from_traffic):
    from harness.rules.registry import DeviceIdentity, RuleContext
    from tests.rules.timelines import MAC, PRODUCT, SERIAL

    fam = _family_with_factory_rule(tmp_path, FACTORY)
    if from_traffic:
        ctx = RuleContext(fam, DeviceIdentity())
        key = DeviceKey(ip=IP, mac=MAC, serial=SERIAL, product=PRODUCT)
        read = lambda name: replace(tftp(T0, name), device=key)  # noqa: E731
    else:
        ctx = RuleContext(fam, DeviceIdentity(PRODUCT, SERIAL, "00:0E:08:AB:CD:EF"))
        read = lambda name: tftp(T0, name)  # noqa: E731
    f = judge("TFTP-DEFAULT-RULE", [read(RIGHT)], ctx)
    assert f.verdict is Verdict.PASS, f.why
    for wrong in (
        RIGHT.replace("000e08abcdef-", "000E08ABCDEF-", 1),
        RIGHT.replace("-000E08ABCDEF-", "-000e08abcdef-"),
        RIGHT.replace("00:0e:08:ab:cd:ef", "000e08abcdef"),
        RIGHT.replace("88012BA01234", "X"),
    ):
        f = judge("TFTP-DEFAULT-RULE", [read(wrong)], ctx)
        assert f.verdict is Verdict.FAIL, wrong
    assert f"expected TFTP /{RIGHT} (relative" in f.why  # $MAU, $MAC not read as $MA+U/C


# -- DNS-FAILOVER: every lookup is judged, whatever came before -----------------------------
def test_failover_judges_a_later_lookup_after_one_that_needed_none():
    answered = lookup(T0, LIVE, DEAD)
    all_down = lookup(T0 + 10, DEAD, "198.51.100.7")
    failed = lookup(T0 + 20, DEAD, LIVE, name="other.example.test")
    obs = [answered, http(T0 + 1, server=(LIVE, 80)), all_down, failed]
    f = judge("DNS-FAILOVER", obs, dead_servers=[DEAD, "198.51.100.7"])
    assert f.verdict is Verdict.FAIL
    assert f.why == (
        f"other.example.test resolved to {DEAD}, {LIVE}; {DEAD} was down and the device did "
        f"not go on to {LIVE} (within 120 s)"
    )
    assert f.frames == failed.evidence.frames
    f = judge("DNS-FAILOVER", [lookup(T0, DEAD, LIVE)])
    assert f.why == "the harness does not know which servers were down (no dead_servers fact)"


# -- TFTP-RESYNC: reasons and evidence ----------------------------------------------------
def test_tftp_resync_reasons_and_evidence():
    broken = tftp(T0, outcome="timeout")
    f = judge("TFTP-RESYNC", [broken])
    assert f.why == "the TFTP resync of CP-8831-3PCC.cfg did not complete (timeout: no detail)"
    assert f.frames == broken.evidence.frames
    good = tftp(T0)
    f = judge("TFTP-RESYNC", [good])
    assert f.why == "no Upgrade_Rule naming a TFTP server: upgrade over TFTP was not exercised"
    assert f.frames == good.evidence.frames
    assert judge("TFTP-RESYNC", [http(T0)]).why == "the device made no TFTP resync"
    ctx = context(Upgrade_Rule=f"tftp://192.0.2.2{FW}")
    f = judge("TFTP-RESYNC", [good], ctx)
    assert f.verdict is Verdict.FAIL and f.frames == good.evidence.frames
    image = tftp(T0 + 1, FW.lstrip("/"), outcome="timeout")
    f = judge("TFTP-RESYNC", [good, image], ctx)
    assert f.why == f"the TFTP firmware transfer of {FW.lstrip('/')} did not complete (timeout)"
    assert f.frames == image.evidence.frames
    done = tftp(T0 + 1, FW.lstrip("/"))
    f = judge("TFTP-RESYNC", [good, done], ctx)
    assert f.frames == tuple(sorted(good.evidence.frames + done.evidence.frames))
    assert f.time == good.time


def test_facts_of_the_wrong_shape_or_half_given_are_not_used():
    f = judge("UPGRADE-MULTISTAGE", [http(T0), http(T0 + 1, "/a")], upgrade_stages="/a")
    assert f.verdict is Verdict.INCONCLUSIVE
    f = judge("REDIRECT-PREPROV", [tftp(T0, PRE), http(T0 + 1, REMOTE)], preprovision_path=PRE)
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "the scenario did not name the preprovisioning and remote profiles"


def test_failover_a_request_at_the_lookup_instant_counts():
    obs = [lookup(T0, DEAD, LIVE), http(T0, server=(LIVE, 80))]
    assert judge("DNS-FAILOVER", obs, dead_servers=[DEAD]).verdict is Verdict.PASS


def test_preprov_evidence():
    first = tftp(T0, PRE)
    obs = [first, tftp(T0 + 3600, PRE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.FAIL and f.frames == first.evidence.frames
    r1, r2 = http(T0 + 3600, REMOTE), http(T0 + 7200, REMOTE)
    f = judge("REDIRECT-PREPROV", [first, r1, r2], preprovision_path=PRE, remote_path=REMOTE)
    assert f.frames == tuple(
        sorted(first.evidence.frames + r1.evidence.frames + r2.evidence.frames)
    )
    assert f.time == first.time
    assert f.why == (
        f"after {PRE} the device fetched the remote profile http {REMOTE} on each of its 2 later "
        "resyncs"
    )
    dropped = http(T0 + 7200, "/other.cfg")
    f = judge("REDIRECT-PREPROV", [first, r1, dropped], preprovision_path=PRE, remote_path=REMOTE)
    assert (
        f.why
        == f"a resync at {T0 + 7200:.0f} fetched /other.cfg but not the remote profile {REMOTE}"
    )
    assert f.frames == dropped.evidence.frames


def test_multistage_reasons_and_evidence():
    stages = ["/fw/a.loads", "/fw/b.loads"]
    a, b = http(T0 + 10, stages[0]), http(T0 + 20, stages[1])
    f = judge("UPGRADE-MULTISTAGE", [http(T0), a, b], upgrade_stages=stages, firmware_paths=stages)
    assert f.why == "the 2 stages were fetched one after another: /fw/a.loads -> /fw/b.loads"
    assert f.frames == tuple(sorted(a.evidence.frames + b.evidence.frames)) and f.time == a.time
    f = judge("UPGRADE-MULTISTAGE", [http(T0), b], upgrade_stages=stages, firmware_paths=stages)
    assert f.frames == b.evidence.frames
    assert f.why.endswith("lead through /fw/a.loads -> /fw/b.loads")
    f = judge("UPGRADE-MULTISTAGE", [http(T0), a], upgrade_stages=stages, firmware_paths=stages)
    assert f.why == "the upgrade stopped after 1 of 2 stages (/fw/a.loads -> /fw/b.loads)"
    assert f.frames == a.evidence.frames


def test_tftp_nat_judges_http_by_a_request_that_worked():
    obs = [tftp(T0, outcome="timeout"), http(T0 + 1, status=503), http(T0 + 2)]
    f = judge("TFTP-NAT", obs, nat={"kind": "symmetric", "tftp_helper": False})
    assert f.verdict is Verdict.PASS, f.why
    assert "HTTP GET /CP-8831-3PCC.cfg: 200" in f.why and "symmetric NAT (no TFTP helper)" in f.why
    f = judge("TFTP-NAT", [tftp(T0), http(T0 + 1)], nat={"kind": "symmetric", "tftp_helper": True})
    assert "symmetric NAT with the TFTP helper" in f.why


def test_dhcp66_silence_without_a_power_up_time_is_not_judged():
    f = judge("TFTP-DHCP66", [syslog(T0, "x")], dhcp_option_66="192.0.2.2", observed_until=T0)
    assert f.verdict is Verdict.INCONCLUSIVE and f.why == "the device made no request"


def test_idle_too_early_reason():
    idle = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")
    f = judge("RESYNC-IDLE", [http(T0), http(T0 + 3600)], idle, calls=[(T0 + 10, T0 + 7200)])
    assert f.why == (
        "a resync started 3590 s into call 1 (7190 s long); a due resync must wait until the "
        "phone is idle or Forced_Resync_Delay=14400 s has passed (not before +17990 s into the call)"
    )


# -- RESYNC-IDLE over several calls and at the edges of a call ------------------------------
IDLE = context(Resync_Periodic="3600", Resync_Random_Delay="0", Forced_Resync_Delay="14400")


def test_idle_a_later_call_is_judged_after_one_with_nothing_due():
    calls = [(T0 + 10, T0 + 20), (T0 + 3000, T0 + 9000)]
    f = judge("RESYNC-IDLE", [http(T0), http(T0 + 3600)], IDLE, calls=calls)
    assert f.verdict is Verdict.FAIL and "call 2" in f.why


def test_idle_a_held_resync_of_a_later_call_is_judged():
    calls = [(T0 + 10, T0 + 20), (T0 + 3000, T0 + 9000)]
    f = judge("RESYNC-IDLE", [http(T0), http(T0 + 9000 + 300)], IDLE, calls=calls)
    assert f.verdict is Verdict.FAIL and "after the call ended" in f.why


@pytest.mark.parametrize(("into", "verdict"), [(0, Verdict.INCONCLUSIVE), (1, Verdict.FAIL)])
def test_idle_a_resync_at_the_call_start_instant_is_not_during_it(into, verdict):
    start = T0 + 3599
    obs = [http(T0), http(start + into)]
    f = judge("RESYNC-IDLE", obs, IDLE, calls=[(start, start + 5000)])
    assert f.verdict is verdict, f.why


def test_idle_a_resync_in_a_call_with_no_success_before():
    f = judge("RESYNC-IDLE", [http(T0 + 100)], IDLE, calls=[(T0, T0 + 20000)])
    assert f.verdict is Verdict.FAIL and "100 s into call 1" in f.why


def test_idle_held_resync_just_before_the_call_end_counts_as_after():
    end = T0 + 7200
    f = judge("RESYNC-IDLE", [http(T0), http(end - 5)], IDLE, calls=[(T0 + 10, end)])
    assert f.verdict is Verdict.FAIL  # 5 s before the end: inside the call, too early
    f = judge("RESYNC-IDLE", [http(T0), http(end - 4)], IDLE, calls=[(T0 + 10, end)])
    assert f.verdict is Verdict.FAIL  # still inside the call (forced delay not passed)


def test_idle_due_exactly_at_the_call_start_is_held():
    start = T0 + 3600
    f = judge(
        "RESYNC-IDLE", [http(T0), http(start + 5000 + 10)], IDLE, calls=[(start, start + 5000)]
    )
    assert f.verdict is Verdict.PASS, f.why


def test_idle_random_band_extends_the_due_time():
    ctx = context(Resync_Periodic="3600", Resync_Random_Delay="3", Forced_Resync_Delay="14400")
    # due by 3600 + 60 + 5 after the success: a call ending at +3640 is not yet "due during it"
    f = judge("RESYNC-IDLE", [http(T0), http(T0 + 3640 + 600)], ctx, calls=[(T0 + 10, T0 + 3640)])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why


def test_idle_needs_a_numeric_period():
    ctx = context(Resync_Periodic="hourly")
    f = judge("RESYNC-IDLE", [http(T0)], ctx, calls=[(T0 + 10, T0 + 20)])
    assert f.verdict is Verdict.INCONCLUSIVE and "is not a number" in f.why


# -- small edges ----------------------------------------------------------------------------
def test_a_300_answer_is_not_a_success():
    obs = [http(T0, PRE, status=300), http(T0 + 3600, REMOTE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.INCONCLUSIVE and "never fetched" in f.why
    obs = [http(T0, PRE, status=299), http(T0 + 3600, REMOTE), http(T0 + 7200, REMOTE)]
    f = judge("REDIRECT-PREPROV", obs, preprovision_path=PRE, remote_path=REMOTE)
    assert f.verdict is Verdict.PASS


def test_failover_reads_a_lookups_only():
    aaaa = replace(lookup(T0, DEAD, LIVE), qtype="AAAA")
    assert judge("DNS-FAILOVER", [aaaa], dead_servers=[DEAD]).verdict is Verdict.INCONCLUSIVE


def test_multistage_a_firmware_request_does_not_hide_later_resyncs():
    stages = ["/fw/a.loads"]
    obs = [http(T0, "/fw/old.loads"), http(T0 + 100)]
    f = judge(
        "UPGRADE-MULTISTAGE", obs, upgrade_stages=stages, firmware_paths=["/fw/old.loads", *stages]
    )
    assert f.verdict is Verdict.FAIL and "stopped after 0 of 1" in f.why


def test_all_down_error_at_the_lookup_instant_and_after_a_quick_second_lookup():
    obs = [lookup(T0, DEAD), syslog(T0, failure_msg("x"))]
    assert judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD]).verdict is Verdict.PASS
    obs = [lookup(T0, DEAD), lookup(T0 + 10, DEAD), syslog(T0 + 60, failure_msg("x"))]
    assert judge("DNS-ALL-DOWN", obs, dead_servers=[DEAD]).verdict is Verdict.PASS
