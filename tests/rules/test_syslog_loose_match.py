"""The syslog rules' template-shape matcher gives exactly `template_regex(t, {}).fullmatch`'s
answer (it replaces the regex for speed: no backtracking on near misses)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.rules.syslog_rules import _loose
from harness.spec.macros import template_regex

_ALPHABET = "ab:/-. $()\\*?.[]|x\n"
_MACROS = ["$PN", "$MAC", "$(SCHEME)", "$ERR", "$$", "$PATH", "$PORT"]

_piece = st.one_of(st.text(_ALPHABET, max_size=4), st.sampled_from(_MACROS))
_template = st.lists(_piece, max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(templates=st.lists(_template, min_size=1, max_size=3), text=st.text(_ALPHABET, max_size=14))
def test_matches_as_the_regex_does(templates: list[str], text: str) -> None:
    want = any(template_regex(t, {}).fullmatch(text) for t in templates)
    assert _loose(templates)(text) == bool(want)


@settings(max_examples=200, deadline=None)
@given(template=_template, fill=st.lists(st.text(_ALPHABET, max_size=3), min_size=8, max_size=8))
def test_an_expansion_matches(template: str, fill: list[str]) -> None:
    text = template
    for macro, value in zip(_MACROS, fill, strict=False):
        if macro != "$$":
            text = text.replace(macro, value)
    want = bool(template_regex(template, {}).fullmatch(text))
    assert _loose([template])(text) == want


def test_the_families_templates() -> None:
    t = "$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH"
    assert _loose([t])("CP-8831 00:11 -- Requesting resync http://prov:80/x")
    assert not _loose([t])("CP-8831 00:11 -- Requesting resync http://prov/x")
    assert not _loose([])("anything")
    assert not _loose(["ab$(PN)ba"])("aba")  # the first and last texts may not overlap
    assert _loose(["ab$(PN)ba"])("abba")
    assert _loose(["a.*?b"])("a.*?b") and not _loose(["a.*?b"])("axxb")
