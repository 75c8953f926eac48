"""The delay and boolean grammars' messages (what, where, why) and their edge values: an
empty delay, the default names, the character a bad step starts at, bounds of a step."""

import random

import pytest

from harness.spec.values import DelaySchedule, parse_bool, parse_delay_schedule


def test_an_empty_delay_has_no_steps_and_keeps_its_text():
    empty = parse_delay_schedule("  ")
    assert empty == DelaySchedule((), "  ") and empty.is_empty
    with pytest.raises(ValueError, match=r"^delay '  ' is empty: no delay to take$"):
        empty.delay(0)
    with pytest.raises(ValueError, match=r"^delay '  ' is empty: no delay to take$"):
        empty.bounds(0)


@pytest.mark.parametrize(
    ("text", "where", "bad"),
    [("soon", 1, "soon"), ("60,x", 4, "x"), ("60, 120,1+", 9, "1+"), ("1800+300,,", 10, "")],
)
def test_a_bad_delay_names_the_parameter_the_character_and_the_step(text, where, bad):
    with pytest.raises(ValueError) as err:
        parse_delay_schedule(text, "Resync_Error_Retry_Delay")
    assert str(err.value) == (
        f"Resync_Error_Retry_Delay = {text!r}: character {where}: {bad!r} is not seconds "
        "(N) or seconds plus random extra (N+R)"
    )
    with pytest.raises(ValueError) as err:
        parse_delay_schedule(text)  # the default name
    assert str(err.value).startswith(f"delay = {text!r}: character {where}: ")


def test_steps_bounds_and_the_last_step_repeating():
    s = parse_delay_schedule("60, 120+30")
    assert s.steps == ((60.0, 0.0), (120.0, 30.0)) and s.text == "60, 120+30"
    assert s.bounds(0) == (60.0, 60.0) and s.bounds(5) == (120.0, 150.0)
    assert s.delay(0) == 60.0
    assert s.delay(1, random.Random(7)) == 120.0 + random.Random(7).uniform(0, 30.0)
    with pytest.raises(ValueError, match=r"^attempt index must be >= 0, got -1$"):
        s.delay(-1)


def test_a_bad_boolean_names_the_parameter():
    assert parse_bool(" Enable ") is True and parse_bool("0") is False
    with pytest.raises(ValueError) as err:
        parse_bool("maybe", "Resync_On_Reset")
    assert str(err.value) == (
        "Resync_On_Reset = 'maybe': not a boolean (Yes/No, Enable/Disable, 1/0)"
    )
    with pytest.raises(ValueError, match=r"^value = 'maybe': "):
        parse_bool("maybe")
