"""Profile_Rule / Upgrade_Rule grammar: the guides' examples, selection, conditions, errors."""

from __future__ import annotations

import pytest

from harness.device.sim.profile_rule import (
    Alternative,
    Comparison,
    Conjunction,
    Operand,
    RuleOptions,
    RuleSyntaxError,
    RuleUrl,
    compare,
    evaluate_condition,
    expand_options,
    parse_profile_rule,
    parse_upgrade_rule,
    parse_url,
    render_profile_rule,
    resolve_url,
    select_alternative,
)

GUIDE_RULE = (
    '( $SWVER ne "7.4.4" )? ( Resync_Periodic = "30" ; )! http://$SERV/$PN.cfg'
    " | https://prov.example.test/spa$MA.cfg"
)


def test_the_guide_example_parses_to_two_alternatives() -> None:
    first, last = parse_profile_rule(GUIDE_RULE)
    assert first == Alternative(
        condition=Comparison(Operand("$SWVER"), "ne", Operand("7.4.4", quoted=True)),
        assignments=(("Resync_Periodic", "30"),),
        url=RuleUrl("http", "$SERV", 80, "/$PN.cfg"),
    )
    assert last == Alternative(url=RuleUrl("https", "prov.example.test", 443, "/spa$MA.cfg"))
    assert parse_profile_rule(render_profile_rule([first, last])) == [first, last]


@pytest.mark.parametrize(
    ("swver", "expected_host"), [("7.4.3", "$SERV"), ("7.4.4", "prov.example.test")]
)
def test_selection_follows_the_firmware_version(swver: str, expected_host: str) -> None:
    chosen = select_alternative(parse_profile_rule(GUIDE_RULE), {"SWVER": swver})
    assert chosen is not None and chosen.url is not None
    assert chosen.url.host == expected_host


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("/$MA.cfg", RuleUrl("tftp", None, 69, "/$MA.cfg")),
        ("/CP-8831-3PCC.cfg", RuleUrl("tftp", None, 69, "/CP-8831-3PCC.cfg")),
        ("192.168.1.130/profiles/init.cfg", RuleUrl("tftp", "192.168.1.130", 69, "/profiles/init.cfg")),
        ("tftp://prov.call.com/cpe/L$MA.cfg", RuleUrl("tftp", "prov.call.com", 69, "/cpe/L$MA.cfg")),
        ("http://neptune.speak.net:8080/prov/$D/$E.cfg", RuleUrl("http", "neptune.speak.net", 8080, "/prov/$D/$E.cfg")),
        ("https://secure.me.com/profile?Linksys", RuleUrl("https", "secure.me.com", 443, "/profile", "Linksys")),
        ("HTTP://h/x", RuleUrl("http", "h", 80, "/x")),
    ],
)  # fmt: skip
@pytest.mark.requirement("TFTP-DHCP66")
def test_guide_urls(text: str, url: RuleUrl) -> None:
    assert parse_profile_rule(text) == [Alternative(url=url)]


def test_options_combine_and_quote() -> None:
    (alt,) = parse_profile_rule('[--key "my secret" --uid $A] [--pwd $SA --alias x] https://h/p')
    assert alt.options == RuleOptions(key="my secret", uid="$A", pwd="$SA", alias="x")
    expanded = expand_options(alt.options, {"A": "user", "SA": "pw"})
    assert (expanded.key, expanded.uid, expanded.pwd) == ("my secret", "user", "pw")


@pytest.mark.requirement("HTTP-POST")
def test_post_alternative_from_the_guide() -> None:
    rule = "($REGTMR1 eq 0)? http://p.tel.com/has-reg.cfg\n| [--post a] http://p.tel.com/lost-reg?"
    first, second = parse_profile_rule(rule)
    assert second.options.post == "a" and second.url == RuleUrl(
        "http", "p.tel.com", 80, "/lost-reg"
    )
    assert select_alternative([first, second], {"REGTMR1": "0"}) is first
    assert select_alternative([first, second], {"REGTMR1": "12"}) is second


def test_assignment_short_names_index_names_and_comments() -> None:
    (alt,) = parse_profile_rule(
        '( User_ID_1_ = "uid$B" ; c = "" ; d = "$MA" ; Line_Enable[2] = "a#b" )! # off'
    )
    assert alt.url is None
    assert alt.assignments == (
        ("User_ID_1_", "uid$B"),
        ("GPP_C", ""),
        ("GPP_D", "$MA"),
        ("Line_Enable_2_", "a#b"),
    )


def test_empty_and_comment_only_rules_have_no_alternatives() -> None:
    assert parse_profile_rule("") == []
    assert parse_profile_rule("   # /spa.cfg") == []


def test_no_alternative_selected_when_every_condition_fails() -> None:
    alts = parse_profile_rule('($A eq "x")? /a.cfg | ($A eq "y")? /b.cfg')
    assert select_alternative(alts, {"A": "z"}) is None


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("7.4.10", "gt", "7.4.4", True),  # piecewise, not as text
        ("7.4.4", "eq", "7.4.4", True),
        ("11-0-1MPP", "gt", "11-0-1", True),
        ("11-0-2MPP", "gt", "11-0-1MPP", True),
        ("6.1.5(a)", "lt", "6.1.5(b)", True),
        ("10", "gt", "9", True),  # numbers
        ("-1", "lt", "0", True),
        ("abc", "lt", "abd", True),  # text
        ("Installed", "ne", "Not Installed", True),
        ("2.0.6", "le", "2.0.6", True),
        ("2.0.6", "ge", "2.0.7", False),
    ],
)
def test_compare(left: str, op: str, right: str, expected: bool) -> None:
    assert compare(left, op, right) is expected


def test_condition_operators_symbols_and_parentheses() -> None:
    (alt, _) = parse_profile_rule(
        '( $A = 1 and ( $B >= 2.0 and $C != "x y" ) and $D <= 3 )? /a | /b'
    )
    assert isinstance(alt.condition, Conjunction)
    values = {"A": "1", "B": "2.1", "C": "x", "D": "3"}
    assert evaluate_condition(alt.condition, values)
    assert not evaluate_condition(alt.condition, {**values, "C": "x y"})
    assert not evaluate_condition(alt.condition, {**values, "B": "1.9"})


def test_macro_substrings_in_conditions() -> None:
    (alt, _) = parse_profile_rule("( $(MA:0:6) eq 000e08 )? /a | /b")
    assert evaluate_condition(alt.condition, {"MA": "000e08aabbcc"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "column", "why"),
    [
        ("http:///x", 8, "must name its server"),
        ("ftp://h/x", 1, "unknown scheme"),
        ("host", 5, "absolute"),
        ("/a | /b", 1, "needs a condition"),
        ("[--key k]", 1, "followed by a URL"),
        ("/x [--key k]", 4, "unexpected text"),
        ("[--bogus] /x", 2, "unknown option"),
        ("[--key k --key j] /x", 10, "twice"),
        ("($A eq)? /x", 7, "expected a value"),
        ("($A 7)? /x", 5, "operator"),
        ("( a = 1 )!", 7, "quoted"),
        ("/a |", 5, "empty alternative"),
        ("http://h:0/x", 10, "bad port"),
        ("($A eq 1) /x", 11, "expected '?'"),
        ("[--post zz] /x", 11, "GPP letter"),
        ('($A eq "x)? /x', 8, "never closed"),
        ("($A eq 1 /x", 1, "never closed"),
        ('( a = "1" )! ($A eq 1)? /x', 14, "condition must come first"),
    ],
)
def test_syntax_errors_name_the_column(rule: str, column: int, why: str) -> None:
    with pytest.raises(RuleSyntaxError, match=why) as info:
        parse_profile_rule(rule)
    assert info.value.column == column
    assert f"column {column}" in str(info.value)


@pytest.mark.requirement("UPGRADE-MULTISTAGE")
def test_upgrade_rule_multistage_and_its_limits() -> None:
    alts = parse_upgrade_rule(
        "( $SWVER lt 7.4.0 )? http://fw.example.test/stage1.bin"
        " | tftp://fw.example.test/final-$PN.bin"
    )
    assert select_alternative(alts, {"SWVER": "7.3.9"}).url.path == "/stage1.bin"  # type: ignore[union-attr]
    assert select_alternative(alts, {"SWVER": "7.4.1"}).url.path == "/final-$PN.bin"  # type: ignore[union-attr]
    with pytest.raises(RuleSyntaxError, match="no bracketed options") as info:
        parse_upgrade_rule("($A eq 1)? http://h/a.bin | [--key k] http://h/b.bin")
    assert info.value.column == 29
    with pytest.raises(RuleSyntaxError, match="must name its server"):
        parse_upgrade_rule("/firmware.bin")


def test_resolve_url_expands_macros_then_reparses() -> None:
    url = parse_url("http://$SERV/$PN.cfg?mac=$MA")
    resolved = resolve_url(
        url, {"SERV": "prov.example.test:8080", "PN": "CP-8831-3PCC", "MA": "0a"}
    )
    assert resolved == RuleUrl("http", "prov.example.test", 8080, "/CP-8831-3PCC.cfg", "mac=0a")
    assert resolve_url(parse_url("/spa$PSN.cfg"), {"PSN": "525G"}).render() == "/spa525G.cfg"
    with pytest.raises(RuleSyntaxError):
        resolve_url(parse_url("http://$SERV/x"), {"SERV": "bad host"})


def test_url_render_omits_default_ports() -> None:
    assert RuleUrl("https", "h", 443, "/a", "b=1").render() == "https://h/a?b=1"
    assert RuleUrl("http", "h", 8080, "/a").render() == "http://h:8080/a"
    assert RuleUrl("tftp", None, 69, "/a").render() == "/a"
