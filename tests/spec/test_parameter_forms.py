"""Parameter value forms (harness.spec.parameters): each form accepts its grammar and
rejects what is not, with a message naming the parameter, the value and the form."""

import pytest

from harness.spec.family import family_names, load_family
from harness.spec.parameters import (
    PARAMETER_KINDS,
    check_value,
    is_known,
    nearest_known,
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Resync_Periodic", "3600"),
        ("Resync_Periodic", "0"),
        ("Resync_Periodic", ""),
        ("Resync_Random_Delay", "2"),
        ("Resync_Error_Retry_Delay", "60,120,240"),
        ("Resync_Error_Retry_Delay", "600+300"),
        ("Resync_Error_Retry_Delay", "30+5, 60"),
        ("Resync_On_Reset", "No"),
        ("Resync_Fails_On_FNF", "Enable"),
        ("Resync_At", "0230"),
        ("Resync_At", "2359"),
        ("Profile_Rule", "[--key $A] https://x/$MA.cfg"),
    ],
)
def test_good_values_pass(name, value):
    assert check_value(name, value) is None


@pytest.mark.parametrize(
    ("name", "value", "form"),
    [
        ("Resync_Periodic", "abc", "whole seconds"),
        ("Resync_Periodic", "60,120", "whole seconds"),
        ("Resync_Periodic", "60+5", "whole seconds"),
        ("Resync_Periodic", "1.5", "whole seconds"),
        ("Resync_Random_Delay", "-1", "random-delay units"),
        ("Resync_Error_Retry_Delay", "60,,120", "N+R"),
        ("Resync_Error_Retry_Delay", "1h", "N+R"),
        ("Resync_On_Reset", "maybe", "Yes or No"),
        ("Resync_At", "2400", "HHmm"),
        ("Resync_At", "12:30", "HHmm"),
    ],
)
def test_bad_values_name_parameter_value_and_form(name, value, form):
    problem = check_value(name, value)
    assert problem is not None and name in problem and repr(value) in problem and form in problem


def test_every_typed_parameter_default_has_its_form():
    for fam in family_names():
        family = load_family(fam)
        for name in PARAMETER_KINDS:
            assert check_value(name, family.default(name)) is None, (fam, name)


def test_unknown_names_get_the_nearest_known():
    assert is_known("Resync_Periodic") and is_known("GPP_C") and not is_known("Resync_Periodc")
    assert nearest_known("Resync_Periodc") == "Resync_Periodic"
    assert nearest_known("resync_error_retry_delay") == "Resync_Error_Retry_Delay"
    assert nearest_known("RESYNC_PERIODIC") == "Resync_Periodic"  # case alone is no match
    assert nearest_known("zzzzzz") is None
