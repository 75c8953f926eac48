"""The sans-I/O engine alone: feed events, assert actions. Table 3-1 row by row (from the
spec's own table), back-off lists, N+R, Resync_At, idle/forced resync, sequences, upgrade."""

from __future__ import annotations

import random

import pytest

from harness.device.sim.engine import Engine
from harness.device.sim.engine_table import (
    TRANSITIONS,
    AdminResync,
    AttemptDone,
    CallEnded,
    CallStarted,
    EngineError,
    Fetch,
    FetchResult,
    PowerUp,
    SendSyslog,
    SetTimer,
    State,
    TimerFired,
    UpgradeFirmware,
)
from harness.device.sim.identity import Identity
from harness.device.sim.parameters import Parameters
from harness.device.sim.quirks import behaviour_for
from harness.spec import load_family
from harness.spec.status_table import Action, all_status_rows, all_transport_rows

T0 = 1_700_000_000.0
PROFILE = b"<flat-profile><GPP_B>x</GPP_B></flat-profile>"


def make(family="cisco-8831-3pcc", quirks=(), **params):
    fam = load_family(family)
    params.setdefault("Profile_Rule", "http://192.0.2.10/p.cfg")
    return Engine(
        fam,
        Identity.for_family(fam),
        Parameters(fam, params),
        behaviour=behaviour_for(quirks),
        rng=random.Random(1),
        dhcp_tftp_server="192.0.2.69",
    )


def of(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def start(engine, at=T0):
    engine.handle(PowerUp(at=at))
    return engine.handle(TimerFired(reason="resync", at=at + 40))


def status_of(key: str) -> int:
    return int(key) if key.isdigit() else int(key[0]) * 100 + 99


@pytest.mark.parametrize("row", all_status_rows(), ids=lambda r: r.key)
def test_every_status_row_of_table_3_1(row):
    e = make(Profile_Rule="[--uid u --pwd p]http://192.0.2.10/p.cfg")
    start(e)
    status = status_of(row.key)
    headers = (("Location", "http://192.0.2.11/q.cfg"), ("WWW-Authenticate", 'Basic realm="r"'))
    out = e.handle(FetchResult(status=status, headers=headers, body=PROFILE, at=T0 + 41))
    if row.action is Action.REDIRECT_NOW:
        (fetch,) = of(out, Fetch)
        assert fetch.address == "192.0.2.11" and fetch.path == "/q.cfg"
        assert not of(out, SetTimer)  # at once
    elif row.action is Action.AUTH_RETRY:
        for _ in range(row.max_retries):
            (fetch,) = of(out, Fetch)
            assert fetch.credentials == ("u", "p") and fetch.challenge
            out = e.handle(FetchResult(status=status, headers=headers, at=T0 + 41))
        (done,) = of(out, AttemptDone)
        assert done.action_class == row.then.value
    else:
        (done,) = of(out, AttemptDone)
        assert (done.action_class, done.requirement) == (row.action.value, row.requirement)
        (timer,) = of(out, SetTimer)
        if row.action is Action.A:
            assert 3600 <= timer.delay <= 3640  # Resync_Periodic + 0..2 x 20 s
        else:
            assert timer.delay == 3600  # Resync_Error_Retry_Delay


@pytest.mark.parametrize("row", all_transport_rows(), ids=lambda r: r.key)
def test_every_transport_row(row):
    rule = "tftp://192.0.2.10/p.cfg" if row.key in ("complete", "not-found") else None
    e = make(**({"Profile_Rule": rule} if rule else {}))
    start(e)
    body = b"\x00garbage<<" if row.key == "corrupt" else PROFILE
    status = 200 if row.key == "corrupt" else None
    out = e.handle(FetchResult(status=status, outcome=row.key, body=body, at=T0 + 41))
    (done,) = of(out, AttemptDone)
    assert (done.action_class, done.outcome) == (row.action.value, row.key)


def test_backoff_list_last_value_repeats_and_resets_on_success():
    e = make("cisco-mpp")
    start(e)
    delays = []
    for i in range(14):
        out = e.handle(FetchResult(status=503, at=T0 + 100 * i))
        delays.append(of(out, SetTimer)[0].delay)
        e.handle(TimerFired(reason="resync", at=T0 + 100 * i + 1))
    assert delays[:3] == [60, 120, 240] and delays[-3:] == [86400] * 3
    out = e.handle(FetchResult(status=200, body=PROFILE, at=T0 + 5000))
    e.handle(TimerFired(reason="resync", at=T0 + 9000))
    out = e.handle(FetchResult(status=503, at=T0 + 9001))
    assert of(out, SetTimer)[0].delay == 60


def test_n_plus_r_delay():
    e = make(Resync_Error_Retry_Delay="100+50")
    start(e)
    seen = set()
    for i in range(20):
        out = e.handle(FetchResult(outcome="timeout", at=T0 + i))
        d = of(out, SetTimer)[0].delay
        assert 100 <= d <= 150
        seen.add(round(d))
        e.handle(TimerFired(reason="resync", at=T0 + i))
    assert len(seen) > 3  # really random


def test_resync_at_overrides_periodic():
    e = make(Resync_At="0230", Resync_At_Random_Delay="0")
    start(e, at=T0)  # 2023-11-14 22:13:20 UTC
    out = e.handle(FetchResult(status=200, body=PROFILE, at=T0 + 41))
    delay = of(out, SetTimer)[0].delay
    assert (T0 + 41 + delay) % 86400 == 2 * 3600 + 30 * 60


def test_powerup_random_delay_in_family_units():
    for seed in range(10):
        e = make()
        e.rng = random.Random(seed)
        (timer,) = of(e.handle(PowerUp(at=T0)), SetTimer)
        assert timer.delay in (0, 20, 40)


def test_resync_waits_for_idle_then_runs_when_call_ends():
    e = make()
    e.handle(PowerUp(at=T0))
    e.handle(CallStarted(at=T0 + 1))
    out = e.handle(TimerFired(reason="resync", at=T0 + 40))
    assert e.state is State.WAITING_IDLE and not of(out, Fetch)
    assert of(out, SetTimer)[0].reason == "forced-resync" and of(out, SetTimer)[0].delay == 14400
    out = e.handle(CallEnded(at=T0 + 100))
    assert of(out, Fetch)


def test_forced_resync_after_forced_resync_delay():
    e = make()
    e.handle(PowerUp(at=T0))
    e.handle(CallStarted(at=T0 + 1))
    e.handle(TimerFired(reason="resync", at=T0 + 40))
    out = e.handle(TimerFired(reason="forced-resync", at=T0 + 40 + 14400))
    assert of(out, Fetch) and e.in_call


def test_profile_rule_sequence_stops_at_first_failure_and_later_overrides():
    e = make(Profile_Rule_B="http://192.0.2.20/b.cfg", Profile_Rule_C="http://192.0.2.30/c.cfg")
    start(e)
    out = e.handle(FetchResult(status=200, body=b"<flat-profile><GPP_A>1</GPP_A></flat-profile>"))
    assert of(out, Fetch)[0].address == "192.0.2.20"
    out = e.handle(FetchResult(status=200, body=b"<flat-profile><GPP_A>2</GPP_A></flat-profile>"))
    assert of(out, Fetch)[0].address == "192.0.2.30"
    out = e.handle(FetchResult(status=404))
    assert of(out, AttemptDone)[0].action_class == "B" and e.params["GPP_A"] == "2"


def test_preprovisioning_profile_changes_the_rule_used_from_then_on():
    e = make()
    start(e)
    e.handle(
        FetchResult(
            status=200,
            body=b"<flat-profile><Profile_Rule>http://192.0.2.99/new.cfg</Profile_Rule></flat-profile>",
        )
    )
    out = e.handle(TimerFired(reason="resync", at=T0 + 9999))
    assert of(out, Fetch)[0].address == "192.0.2.99"


def test_syslog_request_and_result_with_macros():
    e = make()
    out = start(e)
    (req,) = of(out, SendSyslog)
    assert (
        req.text == "CP-8831-3PCC 02:00:00:00:00:00 -- Requesting resync http://192.0.2.10:80/p.cfg"
    )
    out = e.handle(FetchResult(status=404, reason="Not Found"))
    assert of(out, SendSyslog)[0].text.endswith("Resync failed: HTTP 404 Not Found")


def test_fnf_is_not_a_failure_when_resync_fails_on_fnf_is_no():
    e = make(Resync_Fails_On_FNF="No")
    start(e)
    out = e.handle(FetchResult(status=404))
    assert of(out, AttemptDone)[0].action_class == "A"


def test_multistage_upgrade_then_resync_after_attempt():
    rule = "($SWVER lt 2.0)? http://192.0.2.50/fw-2.0.bin | ($SWVER lt 3.0)? http://192.0.2.50/fw-3.0.bin"
    e = make(Upgrade_Rule=rule)
    start(e)
    out = e.handle(FetchResult(status=200, body=PROFILE))
    assert of(out, Fetch)[0].path == "/fw-2.0.bin"
    out = e.handle(FetchResult(status=200, body=b"image"))
    assert of(out, UpgradeFirmware)[0].version == "2.0" and of(out, Fetch)[0].path == "/p.cfg"
    out = e.handle(FetchResult(status=200, body=PROFILE))
    assert of(out, Fetch)[0].path == "/fw-3.0.bin"
    e.handle(FetchResult(status=200, body=b"image"))
    out = e.handle(FetchResult(status=200, body=PROFILE))
    assert not of(out, Fetch) and e.identity.firmware == "3.0"


def test_https_firmware_refused_on_spa_and_downgrade_limit():
    e = make("cisco-spa", Upgrade_Rule="https://192.0.2.50/fw-9.0.bin")
    start(e)
    out = e.handle(FetchResult(status=200, body=PROFILE))
    up = [a for a in of(out, AttemptDone) if a.kind == "upgrade"][0]
    assert up.action_class == "C" and "HTTPS" in up.error
    assert not [f for f in of(out, Fetch) if f.purpose == "upgrade"]
    e = make(Upgrade_Rule="http://192.0.2.50/fw-0.5.bin", Downgrade_Rev_Limit="0.9")
    start(e)
    e.handle(FetchResult(status=200, body=PROFILE))
    out = e.handle(FetchResult(status=200, body=b"image"))
    up = of(out, AttemptDone)[0]
    assert up.kind == "upgrade" and up.action_class == "B" and "Downgrade_Rev_Limit" in up.error
    assert any(t.reason == "upgrade" and t.delay == 3600 for t in of(out, SetTimer))


def test_admin_resync_uses_given_url_and_requested_prvst():
    e = make()
    e.handle(PowerUp(at=T0))
    out = e.handle(AdminResync(url="http://192.0.2.77/admin.cfg", at=T0 + 1))
    assert of(out, Fetch)[0].address == "192.0.2.77"
    out = e.handle(FetchResult(status=200, body=PROFILE))
    assert of(out, AttemptDone)[0].prvst == -1


def test_unexpected_event_is_a_clear_error():
    e = make()
    with pytest.raises(EngineError, match="FetchResult is not accepted in state 'off'"):
        e.handle(FetchResult(status=200))


def test_table_names_existing_handlers():
    for handler, _ in TRANSITIONS.values():
        assert hasattr(Engine, f"_on_{handler}")
