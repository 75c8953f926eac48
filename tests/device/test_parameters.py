"""The phone's parameters: family defaults, applying profiles, typed reads, delay grammar."""

from __future__ import annotations

import random

import pytest

from harness.device.sim.parameters import Parameters
from harness.profiles import parse_profile_detailed
from harness.spec import family_names, load_family
from harness.spec.values import parse_bool, parse_delay_schedule


@pytest.mark.parametrize("family", family_names())
def test_defaults_come_from_the_family_file(family: str) -> None:
    params = Parameters(family)
    fam = load_family(family)
    for name, value in fam.parameters.items():
        assert params[name] == value
    assert params["GPP_A"] == "" and params["GPP_SD"] == ""
    assert params.get_bool("Resync_On_Reset") is True
    assert params.get_int("Resync_Periodic") == 3600
    assert params.delay_schedule("Resync_Error_Retry_Delay").delay(0) > 0


def test_mpp_back_off_list_last_value_repeats() -> None:
    schedule = Parameters("cisco-mpp").delay_schedule("Resync_Error_Retry_Delay")
    assert [schedule.delay(i) for i in range(3)] == [60, 120, 240]
    assert schedule.delay(11) == schedule.delay(50) == 86400


def test_apply_ignores_unknown_names_and_keeps_access() -> None:
    params = Parameters("cisco-8831-3pcc")
    profile = parse_profile_detailed(
        b'<flat-profile><Resync_Periodic ua="ro">30</Resync_Periodic>'
        b"<No_Such_Param>1</No_Such_Param><GPP_B>x</GPP_B></flat-profile>"
    )
    result = params.apply(profile.params, profile.access)
    assert result.ignored == ["No_Such_Param"]
    assert result.changed == ["Resync_Periodic", "GPP_B"]
    assert params["Resync_Periodic"] == "30" and params["GPP_B"] == "x"
    assert params.user_access("Resync_Periodic") == "ro"
    assert params.user_access("GPP_B") == "rw"
    assert "No_Such_Param" not in params
    assert params.apply({"Resync_Periodic": "30"}).changed == []


def test_extra_names_and_overrides() -> None:
    params = Parameters("cisco-spa", {"Resync_Periodic": "5"}, extra_names=["Syslog_Server"])
    assert params["Resync_Periodic"] == "5" and params["Syslog_Server"] == ""
    with pytest.raises(KeyError, match="Bogus"):
        Parameters("cisco-spa", {"Bogus": "1"})


def test_random_delay_uses_the_family_unit() -> None:
    assert Parameters("cisco-spa").random_delay_max() == 2 * 20
    assert Parameters("cisco-8831-3pcc", {"Resync_Random_Delay": "0"}).random_delay_max() == 0


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("3600", [(3600, 3600)]),
        ("60,120,240", [(60, 60), (120, 120), (240, 240), (240, 240)]),
        ("3600+600", [(3600, 4200), (3600, 4200)]),
        ("1800+300, 3600+600,7200", [(1800, 2100), (3600, 4200), (7200, 7200)]),
        ("1800,3600,7200,14400+3600", [(1800, 1800), (3600, 3600), (7200, 7200), (14400, 18000)]),
    ],
)
def test_delay_grammar(text: str, bounds: list[tuple[float, float]]) -> None:
    schedule = parse_delay_schedule(text)
    rng = random.Random(4)
    for i, (low, high) in enumerate(bounds):
        assert schedule.bounds(i) == (low, high)
        for _ in range(20):
            assert low <= schedule.delay(i, rng) <= high


def test_random_part_really_varies() -> None:
    schedule = parse_delay_schedule("100+50")
    rng = random.Random(1)
    assert len({schedule.delay(0, rng) for _ in range(10)}) > 1


@pytest.mark.parametrize("bad", ["abc", "60,,120", "60+", "+5", "-1", "60;120"])
def test_bad_delays_say_what_and_where(bad: str) -> None:
    with pytest.raises(ValueError, match="Resync_Error_Retry_Delay"):
        parse_delay_schedule(bad, "Resync_Error_Retry_Delay")


def test_empty_delay_is_empty() -> None:
    schedule = parse_delay_schedule("")
    assert schedule.is_empty
    with pytest.raises(ValueError, match="empty"):
        schedule.delay(0)


def test_booleans_and_bad_values() -> None:
    assert [parse_bool(x) for x in ("Yes", "yes", "Enable", "1")] == [True] * 4
    assert [parse_bool(x) for x in ("No", "no", "Disable", "0")] == [False] * 4
    params = Parameters("cisco-spa", {"Resync_On_Reset": "maybe", "Resync_Periodic": "x"})
    with pytest.raises(ValueError, match="Resync_On_Reset"):
        params.get_bool("Resync_On_Reset")
    with pytest.raises(ValueError, match="Resync_Periodic"):
        params.get_int("Resync_Periodic")
