"""The identity sources of harness.rules.identity, one by one: the stated identity, the
User-Agents it reads (GET/POST only), the DHCP MACs, the disagreement it words, and what
a device expanded the profile rule's identity macros to (over HTTP and TFTP, with `$$`,
other macros and alternatives in the rule)."""

from dataclasses import replace

import pytest

from harness.observe import build_timelines
from harness.observe.events import DhcpExchange
from harness.rules import identity
from harness.rules.registry import DeviceIdentity
from tests.rules.test_schedule_rules import tftp
from tests.rules.timelines import DEV, PRODUCT, SERIAL, context, ev, http


def _timeline(*obs):
    (tl,) = build_timelines(list(obs))
    return tl


def _rule(text):
    return replace(context(), parameters={"Profile_Rule": text})


def test_stated_identity_live_and_analyzed():
    live = identity.stated(context())
    assert live.name == "the device's configured identity"
    assert live.claims == {"product": PRODUCT, "serial": SERIAL, "mac": "000e08abcdef"}
    given = replace(context(), facts={"stated_identity": DeviceIdentity(mac="00:0E:08:AB:CD:EF")})
    assert identity.stated(given).claims == {"mac": "000e08abcdef"}
    assert identity.stated(given).name == "the identity stated with --device"
    assert identity.stated(replace(context(), facts={"stated_identity": None})) is None
    assert identity.stated(context(identity=False)) is None  # nothing known: no source


def test_only_gets_and_posts_in_the_family_format_are_read():
    tl = _timeline(http(1, method="PUT"), http(2, ua="curl/8"), http(3, method="POST"))
    ((req, claims),) = identity.user_agents(tl, context())
    assert req.time == 3 and claims == {"product": PRODUCT, "serial": SERIAL}


def test_dhcp_macs_each_once_normalized():
    def dhcp(mac):
        return DhcpExchange(time=0.1, device=DEV, evidence=ev(), message_type="REQUEST",
                            client_mac=mac)  # fmt: skip

    tl = _timeline(dhcp("00:0E:08:AB:CD:EF"), dhcp("000e08abcdef"), dhcp(None))
    (src,) = identity.dhcp_macs(tl)
    assert src.claims == {"mac": "000e08abcdef"}
    assert src.name == "its DHCP requests (chaddr 000e08abcdef)"


def test_disagreement_names_the_first_differing_field():
    src = identity.IdentitySource("its client certificate", {"serial": "B", "mac": "aabb"})
    claims = {"product": "P", "serial": "A", "mac": "ccdd"}
    assert identity.disagreement(claims, src) == "serial 'A' but its client certificate says 'B'"
    labelled = identity.disagreement(claims, src, ("mac", "serial"), {"mac": "S"})
    assert labelled == "S='ccdd' (mac) but its client certificate says 'aabb'"
    same = identity.IdentitySource("x", {"serial": "a", "mac": "CC:DD"})  # case, separators
    assert identity.disagreement({"serial": "A", "mac": "ccdd"}, same) is None


@pytest.mark.parametrize(
    ("rule", "requested", "claims"),
    [
        ("http://p.example.test/cfg/$PN/$SN.xml", "/cfg/CP-8831-3PCC/88012BA01234.xml",
         {"product": "CP-8831-3PCC", "serial": "88012BA01234"}),
        ("[--key x] https://p.example.test/$MA.cfg", "/000E08ABCDEF.cfg", {"mac": "000e08abcdef"}),
        ("/a/$$/$MAU-$SWVER.cfg", "/a/$/000E08ABCDEF-1.2.cfg", {"mac": "000e08abcdef"}),
        ("( $SN )? http://x/old.cfg | http://p.example.test/$SN.cfg", "/88012BA01234.cfg",
         {"serial": "88012BA01234"}),
    ],
)  # fmt: skip
def test_what_the_device_expanded_the_rule_macros_to(rule, requested, claims):
    (src,) = identity.profile_macros(_timeline(http(1, url="/x/other.txt"), http(2, url=requested)),
                                     _rule(rule))  # fmt: skip
    assert src.claims == claims
    assert src.name.startswith("the path it expanded from Profile_Rule (")
    assert src.name.endswith(f" -> {requested})")


def test_a_tftp_filename_is_read_as_a_path():
    tl = _timeline(tftp(1, name="88012BA01234.cfg"))
    (src,) = identity.profile_macros(tl, _rule("tftp://192.0.2.2/$SN.cfg"))
    assert src.claims == {"serial": "88012BA01234"}
    tl = _timeline(tftp(1, name="/cfg/88012BA01234.cfg"))
    (src,) = identity.profile_macros(tl, _rule("/cfg/$SN.cfg"))
    assert src.claims == {"serial": "88012BA01234"}


@pytest.mark.parametrize(
    "rule",
    [
        "",  # no rule given
        "http://p.example.test/fixed.cfg",  # no identity macro in it
        "[--key x]",  # options only
        "relative/$SN.cfg",  # not a path
        "http://p.example.test",  # no path
        "/$PN.cfg",  # given, but nothing the device requested matches
    ],
)
def test_no_source_from_a_rule_without_a_usable_template(rule):
    tl = _timeline(http(1, url="/cfg/88012BA01234.xml"))
    assert identity.profile_macros(tl, _rule(rule)) == []


def test_a_stated_identity_may_name_only_some_fields():
    from types import SimpleNamespace

    ctx = replace(context(), facts={"stated_identity": SimpleNamespace(serial="88012BA01234")})
    assert identity.stated(ctx).claims == {"serial": "88012BA01234"}
    ctx = replace(context(), facts={"stated_identity": SimpleNamespace(product="P", mac="AA-BB")})
    assert identity.stated(ctx).claims == {"product": "P", "mac": "aabb"}


def test_mac_spellings_are_one_mac_and_other_fields_keep_theirs():
    assert identity.norm("mac", " 00-0E-08:AB-CD-EF ") == "000e08abcdef"
    assert identity.norm("serial", " AB-12:C ") == "ab-12:c"
    src = identity.IdentitySource("x", {"mac": "000e08abcdef"})
    assert identity.disagreement({"mac": "00:0E:08:AB:CD:EF"}, src) is None


def _hs(t, subject):
    from harness.observe.events import TlsHandshake

    return TlsHandshake(time=t, device=DEV, evidence=ev(), client_cert_subject=subject)


def test_client_certificates_each_once_generic_ones_and_empty_ones_skipped():
    generic = {"OU": "cisco.com", "L": "ciscogeneric", "ST": "ciscogeneric"}
    one = {"OU": PRODUCT, "L": SERIAL, "ST": "00:0E:08:AB:CD:EF"}
    other = {"OU": PRODUCT, "L": "OTHER0SERIAL"}
    tl = _timeline(_hs(1, generic), _hs(2, one), _hs(3, dict(one)), _hs(4, {"CN": "x"}),
                   _hs(5, other))  # fmt: skip
    found = identity.certificates(tl)
    assert [hs.time for hs, _ in found] == [2, 5]
    assert found[0][1].claims == {"product": PRODUCT, "serial": SERIAL, "mac": "000e08abcdef"}
    assert found[0][1].name == f"its client certificate (OU={PRODUCT}, L={SERIAL}, ST=000e08abcdef)"
    assert found[1][1].claims == {"product": PRODUCT, "serial": "OTHER0SERIAL"}


def test_a_certificate_mac_in_s_when_st_is_absent():
    (hs_src,) = identity.certificates(_timeline(_hs(1, {"OU": PRODUCT, "S": "000E08ABCDEF"})))
    assert hs_src[1].claims == {"product": PRODUCT, "mac": "000e08abcdef"}


@pytest.mark.parametrize(
    ("rule", "requested", "claims"),
    [
        ("/a/$$/$SN.cfg", "/a/x/88012BA01234.cfg", None),  # `$$` is a literal dollar
        ("/$SN/$SN/$SN.cfg", "/A/A/A.cfg", {"serial": "A"}),  # one macro three times
        ("/$SWVER-$SN.cfg", "/1.2-3-ABC.cfg", None),  # ambiguous: 3-ABC or ABC
        ("/$SWVER/$SN.cfg", "/1.2-3/ABC.cfg", {"serial": "ABC"}),
        ("/cfg/$MAC.cfg", "/cfg/00:0E:08:AB:CD:EF.cfg", {"mac": "000e08abcdef"}),
        ("[--key x] /cfg/$SN.cfg", "/cfg/88012BA01234.cfg", {"serial": "88012BA01234"}),
        ("( $SN )? http://p.example.test/$SN.cfg", "/88012BA01234.cfg",
         {"serial": "88012BA01234"}),
    ],
)  # fmt: skip
def test_macro_values_read_only_where_the_path_says_them_unambiguously(rule, requested, claims):
    found = identity.profile_macros(_timeline(http(1, url=requested)), _rule(rule))
    assert [s.claims for s in found] == ([claims] if claims else [])


def test_a_later_profile_rule_is_read_when_the_first_has_no_template():
    ctx = replace(context(), parameters={"Profile_Rule": "http://p.example.test/fixed.cfg",
                                         "Profile_Rule_B": "http://p.example.test/$SN.cfg"})  # fmt: skip
    (src,) = identity.profile_macros(_timeline(http(1, url="/88012BA01234.cfg")), ctx)
    assert src.claims == {"serial": "88012BA01234"} and "Profile_Rule_B" in src.name
