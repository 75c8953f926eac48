"""Property tests of macro expansion (harness.spec.macros.expand) as the phone uses it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spec.macros import expand

SETTINGS = settings(max_examples=200, deadline=None)
known_names = st.from_regex(r"[A-P][A-Z]{0,4}", fullmatch=True)
values = st.dictionaries(known_names, st.text(max_size=10), max_size=6)


@SETTINGS
@given(st.text(max_size=40), values)
def test_doubled_dollars_always_give_the_text_back(text: str, vals: dict[str, str]) -> None:
    assert expand(text.replace("$", "$$"), vals) == text


@SETTINGS
@given(st.text(max_size=40).filter(lambda t: "$" not in t), values)
def test_text_without_dollars_is_unchanged(text: str, vals: dict[str, str]) -> None:
    assert expand(text, vals) == text


@SETTINGS
@given(st.lists(st.from_regex(r"[Q-Z][A-Z0-9_]{0,5}", fullmatch=True), max_size=5), values)
def test_unknown_names_stay_as_written(names: list[str], vals: dict[str, str]) -> None:
    template = " ".join(f"${n} $({n})" for n in names)
    assert expand(template, vals) == template


@SETTINGS
@given(values.filter(bool), st.data())
def test_expansion_is_not_recursive(vals: dict[str, str], data: st.DataObject) -> None:
    # values that look like macros are copied, never expanded again
    names = sorted(vals)
    tricky = {n: "$" + data.draw(st.sampled_from(names)) + vals[n] for n in names}
    refs = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
    assert expand("".join(f"$({n})" for n in refs), tricky) == "".join(tricky[n] for n in refs)


@SETTINGS
@given(st.text(max_size=20), st.integers(0, 25), st.integers(0, 25))
def test_substrings(value: str, p: int, q: int) -> None:
    assert expand(f"$(X:{p}:{q})", {"X": value}) == value[p : p + q]
    assert expand(f"$(X:{p})", {"X": value}) == value[p:]


def test_longest_known_name_wins_and_neighbours_are_kept() -> None:
    v = {"MA": "000e08aabbcc", "MAU": "000E08AABBCC", "MAC": "00:0e:08:aa:bb:cc"}
    assert expand("/$MA.cfg /$MAU.cfg /$MAC /$MACX", v) == (
        "/000e08aabbcc.cfg /000E08AABBCC.cfg /00:0e:08:aa:bb:cc /00:0e:08:aa:bb:ccX"
    )
    assert expand("$$MA costs $$5", v) == "$MA costs $5"
