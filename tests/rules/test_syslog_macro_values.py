"""Which syslog texts the syslog rules accept as a template, and with which macro values:
the template's words in their order, the MAC as configured in colon notation, the server
address (`$SERVIP`) as the request names it, IPv6 included. Through `evaluate`, as in a live
run and the analyzer."""

import dataclasses

import pytest

from harness.rules import Verdict, syslog_rules
from harness.rules.registry import DeviceIdentity, RuleContext
from tests.rules.test_dns_syslog_rules import verdict
from tests.rules.timelines import PRODUCT, SERIAL, context, http, request_msg, syslog

T = 1000.0


@pytest.fixture(autouse=True)
def fresh_loose_matcher():
    """The loose matcher remembers its answers per template set and text; a memo filled by
    an earlier test (or by mutmut's clean run, which the mutants' runs fork from) would
    answer here instead of the matching code under test."""
    syslog_rules._loose_cached.cache_clear()


def test_a_request_message_must_have_the_templates_words_in_order():
    ctx = context(Log_Request_Msg="$PN asks for $PATH from $SERVIP then $SCHEME")
    right = f"{PRODUCT} asks for /CP-8831-3PCC.cfg from 198.51.100.5 then http"
    f = verdict("SYSLOG-REQUEST", [syslog(T, right), http(T)], ctx)
    assert f.verdict is Verdict.PASS, f.why
    shuffled = f"{PRODUCT} then http from 198.51.100.5 asks for /CP-8831-3PCC.cfg"
    f = verdict("SYSLOG-REQUEST", [syslog(T, shuffled), http(T)], ctx)
    assert f.verdict is Verdict.FAIL, f.why


@pytest.mark.parametrize("configured", ["00:0E:08:AB:CD:EF", "00:0e:08:ab:cd:ef"])
def test_a_mac_configured_in_colon_notation_is_still_checked(configured):
    base = context(Log_Request_Msg="$MA -- Requesting $PATH")
    ctx = RuleContext(base.family, DeviceIdentity(PRODUCT, SERIAL, configured), base.parameters)
    good = syslog(T, "000e08abcdef -- Requesting /CP-8831-3PCC.cfg")
    assert verdict("SYSLOG-MACROS", [good, http(T)], ctx).verdict is Verdict.PASS
    wrong = syslog(T, "000e08abcd00 -- Requesting /CP-8831-3PCC.cfg")
    f = verdict("SYSLOG-MACROS", [wrong, http(T)], ctx)
    assert f.verdict is Verdict.FAIL, f.why
    assert "$MA=000e08abcdef" in f.why


V6 = "2001:db8::5"


def test_an_ipv6_server_address_is_not_cut_at_its_last_colon():
    req = dataclasses.replace(http(T), server=(V6, 80), host=V6)
    right = syslog(T, request_msg(server=(V6, 80)))
    assert verdict("SYSLOG-MACROS", [right, req]).verdict is Verdict.PASS
    cut = syslog(T, request_msg(server=("2001:db8:", 80)))  # names 2001:db8:: instead
    f = verdict("SYSLOG-MACROS", [cut, req])
    assert f.verdict is Verdict.FAIL, f.why
    assert f"$SERVIP={V6}" in f.why


def test_a_host_header_without_a_name_gives_no_other_server_address():
    req = dataclasses.replace(http(T), host=":80")
    f = verdict("SYSLOG-MACROS", [syslog(T, request_msg(server=("", 80))), req])
    assert f.verdict is Verdict.FAIL, f.why
