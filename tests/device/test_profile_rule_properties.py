"""Property tests of the rule grammar: generated rules render and parse back unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.device.sim.profile_rule import (
    OPERATORS,
    Alternative,
    Comparison,
    Conjunction,
    Operand,
    RuleOptions,
    RuleSyntaxError,
    RuleUrl,
    compare,
    parse_profile_rule,
    render_profile_rule,
    select_alternative,
)

SETTINGS = settings(max_examples=120, deadline=None)

macro = st.from_regex(r"\$[A-Z]{1,6}", fullmatch=True)
version = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True)
word = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,8}", fullmatch=True).filter(
    lambda w: w not in OPERATORS and w != "and"
)
operand = st.one_of(
    st.builds(Operand, st.one_of(macro, version, word)),
    st.builds(Operand, st.text(max_size=12), st.just(True)),
)
comparison = st.builds(Comparison, operand, st.sampled_from(OPERATORS), operand)
condition = st.recursive(
    comparison,
    lambda inner: st.builds(Conjunction, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    max_leaves=5,
)
param_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
    lambda n: not (len(n) == 1 and "a" <= n <= "p")
)
assignments = st.lists(st.tuples(param_name, st.text(max_size=12)), min_size=1, max_size=3)
arg = st.text(max_size=10)
options = st.builds(
    RuleOptions,
    key=st.none() | arg,
    uid=st.none() | arg,
    pwd=st.none() | arg,
    post=st.none() | st.sampled_from("abcdefghijklmnop"),
    alias=st.none() | arg,
)
host = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,8}\.){0,3}[a-z]{1,6}", fullmatch=True),
    st.just("$SERV"),
    st.from_regex(r"198\.51\.100\.[0-9]{1,3}", fullmatch=True),
)
path = st.from_regex(r"/[A-Za-z0-9_./$\-]{0,20}", fullmatch=True)
query = st.from_regex(r"[A-Za-z0-9=&_.$\-]{0,12}", fullmatch=True)


@st.composite
def urls(draw: st.DrawFn) -> RuleUrl:
    scheme = draw(st.sampled_from(["tftp", "http", "https"]))
    server = draw(st.none() if scheme == "tftp" and draw(st.booleans()) else host)
    default = {"tftp": 69, "http": 80, "https": 443}[scheme]
    port = default if server is None else draw(st.just(default) | st.integers(1, 65535))
    return RuleUrl(scheme, server, port, draw(path), draw(query))


@st.composite
def alternatives(draw: st.DrawFn, needs_condition: bool) -> Alternative:
    cond = draw(condition if needs_condition else st.none() | condition)
    assigns = tuple(draw(st.just([]) | assignments))
    url = draw(st.none() | urls())
    opts = draw(options) if url is not None else RuleOptions()
    if cond is None and not assigns and url is None:
        url = draw(urls())
    return Alternative(cond, assigns, opts, url)


@st.composite
def rules(draw: st.DrawFn) -> list[Alternative]:
    n = draw(st.integers(1, 4))
    return [draw(alternatives(needs_condition=i < n - 1)) for i in range(n)]


@SETTINGS
@given(rules())
def test_render_then_parse_gives_the_same_rule(rule: list[Alternative]) -> None:
    text = render_profile_rule(rule)
    assert parse_profile_rule(text) == rule, text


@SETTINGS
@given(rules(), st.dictionaries(st.from_regex(r"[A-Z]{1,6}", fullmatch=True), st.text(max_size=8)))
def test_selection_is_the_first_alternative_that_holds(
    rule: list[Alternative], values: dict[str, str]
) -> None:
    chosen = select_alternative(rule, values)
    if chosen is not None:
        assert chosen in rule
    if rule[-1].condition is None:
        assert chosen is not None


@SETTINGS
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_rule_syntax_error(text: str) -> None:
    try:
        parse_profile_rule(text)
    except RuleSyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1


@SETTINGS
@given(st.one_of(version, st.integers(-999, 999).map(str), word), st.one_of(version, word))
def test_comparison_is_a_consistent_order(a: str, b: str) -> None:
    assert compare(a, "eq", b) != compare(a, "ne", b)
    assert compare(a, "lt", b) == compare(b, "gt", a)
    assert compare(a, "le", b) == (compare(a, "lt", b) or compare(a, "eq", b))
    assert not (compare(a, "lt", b) and compare(b, "lt", a))
