"""Macro expansion grammar: $NAME, $(NAME), $(NAME:p:q), $$, unknown names kept."""

from hypothesis import given
from hypothesis import strategies as st

from harness.spec.macros import expand, template_regex, unexpanded_macros

VALUES = {"PN": "CP-8831-3PCC", "MA": "000e08aabbcc", "MAC": "00:0e:08:aa:bb:cc", "A": "x$PNy"}


def test_forms():
    assert expand("$PN/$(MA).cfg", VALUES) == "CP-8831-3PCC/000e08aabbcc.cfg"
    assert expand("$(MA:6)", VALUES) == "aabbcc"
    assert expand("$(MA:0:6)", VALUES) == "000e08"
    assert expand("$$PN", VALUES) == "$PN"
    assert expand("$NOPE $(NOPE)", VALUES) == "$NOPE $(NOPE)"
    assert expand("$MAC", VALUES) == "00:0e:08:aa:bb:cc"
    assert expand("$(MA:6:2)", VALUES) == "aa"  # q characters from position p
    assert expand("$(MA:11:5)", VALUES) == "c"  # no further than the value
    # a bare name followed by letters: the longest known name that prefixes it
    assert expand("$PNx.cfg", VALUES) == "CP-8831-3PCCx.cfg"


def test_not_recursive():
    assert expand("$A", VALUES) == "x$PNy"


def test_template_regex_wildcards_unknown():
    pat = template_regex("$PN $MAC -- Resync failed: $ERR", {"PN": "P", "MAC": "M"})
    assert pat.fullmatch("P M -- Resync failed: 404 Not Found")
    assert not pat.fullmatch("Q M -- Resync failed: 404")


def test_unexpanded():
    assert unexpanded_macros("P $MAC -- $(PATH) costs $$5") == ["$MAC", "$(PATH)"]


@given(st.text(alphabet="ab$()PN:0123 ", max_size=40))
def test_expand_never_raises_and_is_identity_without_values(text):
    assert expand(text, {}) == text.replace("$$", "$")


def test_product_series_number():
    from harness.spec.macros import product_series_number

    assert product_series_number("SPA525G") == "525G"
    assert product_series_number("CP-8831-3PCC") == "8831"
    assert product_series_number("ATA") == "ATA"  # no digits: the product itself
