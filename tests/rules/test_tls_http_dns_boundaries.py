"""Edge inputs of the TLS, HTTP and DNS rules that a wrong verdict would slip through:
several ClientHellos, the certificate variants whose names are right, a DNS check with
only matching connections, POST requests, a family grammar whose identity is optional,
and each service-discovery query type.

Through `harness.rules.evaluate` over `build_timelines`, as in a live run and the analyzer.
"""

import dataclasses
from pathlib import Path

import pytest

from harness.rules import Verdict
from harness.rules.dns_rules import _DISCOVERY_TYPES
from harness.rules.registry import DeviceIdentity, RuleContext
from harness.rules.tls_rules import NAME_RIGHT_VARIANTS
from harness.spec.ciphers import TABLE_3_2, cipher_suite_name
from harness.spec.family import load_family, load_family_file
from tests.rules.test_http_rules import verdict
from tests.rules.test_tls_rules import SERVER, conn, judge
from tests.rules.timelines import MAC, PRODUCT, SERIAL, context, dns, http

GCM = 0xC02F  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: not in Table 3-2
SUFFIX_CN = "prov.example.test/mailto:admin@example.test"


# -- TLS-CIPHERS: every ClientHello is judged, not only the first ---------------------------
def test_ciphers_judges_every_client_hello():
    obs = conn(1, offered=TABLE_3_2) + conn(2, offered=(*TABLE_3_2, GCM))
    f = judge("TLS-CIPHERS", obs)
    assert f.verdict is Verdict.FAIL and cipher_suite_name(GCM) in f.why
    assert judge("TLS-CIPHERS", obs[:2] + conn(2, offered=TABLE_3_2)).verdict is Verdict.PASS


# -- NAME_RIGHT_VARIANTS: the variants a suite or DNS verdict may be judged on ---------------
def test_name_right_variants_are_valid_and_cn_suffix():
    assert frozenset({"valid", "cn-suffix"}) == NAME_RIGHT_VARIANTS


def test_negotiate_judges_a_connection_with_the_cn_suffix_certificate():
    f = judge("TLS-NEGOTIATE", conn(1, "cn-suffix", cn=SUFFIX_CN, accepted=False))
    assert f.verdict is Verdict.FAIL and "variant cn-suffix" in f.why


def test_negotiate_does_not_judge_a_connection_with_a_refusable_certificate():
    obs = conn(1, "wrong-cn", accepted=False) + conn(2)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.PASS, f.why


def test_dns_match_judges_the_cn_suffix_certificate_by_its_host():
    ctx = context()
    ctx.facts["dns_answer_for_cert_name"] = {"prov.example.test": ["192.0.2.99"]}
    refused = conn(1, "cn-suffix", cn=SUFFIX_CN, accepted=False)
    f = judge("TLS-DNS-MATCH", refused, ctx)
    assert f.verdict is Verdict.PASS and "variant cn-suffix" in f.why
    taken = conn(1, "cn-suffix", cn=SUFFIX_CN)
    assert judge("TLS-DNS-MATCH", taken, ctx).verdict is Verdict.FAIL
    wrong_cn = conn(1, "wrong-cn", cn="prov.example.test", accepted=False)
    assert judge("TLS-DNS-MATCH", wrong_cn, ctx).verdict is Verdict.INCONCLUSIVE


def test_dns_match_with_only_matching_connections_is_inconclusive():
    """A connection whose address matches says nothing about the check: the device
    accepting it would be right either way."""
    here = dataclasses.replace(dns(0.5, "prov.example.test"), answers=(SERVER[0],))
    f = judge("TLS-DNS-MATCH", [here, *conn(1), *conn(2)])
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    f = judge("TLS-DNS-MATCH", [here, *conn(1, accepted=False)])
    assert f.verdict is Verdict.FAIL, f.why  # the matching control refused


# -- UA-FORMAT: POST requests are judged like GET ----------------------------------------------
def test_ua_format_judges_a_post_request():
    f = verdict("UA-FORMAT", [http(1, method="POST", ua=None)])
    assert f.verdict is Verdict.FAIL and "POST" in f.why and "no User-Agent" in f.why
    other = verdict("UA-FORMAT", [http(1, method="PUT", ua=None)])
    assert other.verdict is Verdict.INCONCLUSIVE


# -- UA-FORMAT with a family file whose grammar leaves the identity optional -------------------
def _family_with_pattern(tmp_path, base, pattern):
    """A user family file: the shipped one with another User-Agent pattern."""
    src = Path(load_family(base).path)
    lines = []
    for line in src.read_text().splitlines():
        if line.startswith("pattern = "):  # the [user_agent] pattern
            line = f"pattern = '{pattern}'"
        lines.append(line)
    path = tmp_path / "family.toml"
    path.write_text("\n".join(lines) + "\n")
    return load_family_file(path)


def test_ua_format_names_a_missing_serial_where_the_grammar_allows_none(tmp_path):
    """Shipped grammars require the identity; a family file may make it optional, and then
    the identity check, not the grammar, is what catches a UA without it."""
    pattern = r"^(?P<maker>cisco)/(?P<product>[A-Za-z0-9-]+) \((?P<serial>[0-9A-Za-z]*)\)$"
    fam = _family_with_pattern(tmp_path, "cisco-8831-3pcc", pattern)
    ctx = RuleContext(fam, DeviceIdentity(product=PRODUCT, serial=SERIAL, mac=MAC), {})
    f = verdict("UA-FORMAT", [http(1, ua=f"cisco/{PRODUCT} ()")], ctx)
    assert f.verdict is Verdict.FAIL and "without the serial number" in f.why
    assert verdict("UA-FORMAT", [http(1)], ctx).verdict is Verdict.PASS


def test_ua_format_names_a_missing_mac_where_the_grammar_allows_none(tmp_path):
    pattern = (
        r"^(?P<maker>Cisco)-(?P<product>CP-[0-9A-Za-z-]+)/(?P<firmware>[0-9][0-9A-Za-z._-]*)"
        r" \((?P<mac>[0-9a-fA-F]{12})?\)$"
    )
    fam = _family_with_pattern(tmp_path, "cisco-mpp", pattern)
    ctx = RuleContext(fam, DeviceIdentity(product="CP-8841-3PCC", mac=MAC), {})
    f = verdict("UA-FORMAT", [http(1, ua="Cisco-CP-8841-3PCC/11.0 ()")], ctx)
    assert f.verdict is Verdict.FAIL and "without the MAC address" in f.why
    ok = verdict("UA-FORMAT", [http(1, ua=f"Cisco-CP-8841-3PCC/11.0 ({MAC})")], ctx)
    assert ok.verdict is Verdict.PASS, ok.why


# -- DNS-A-ONLY: each discovery type fails; A beside other types passes -----------------------
@pytest.mark.parametrize("qtype", sorted(_DISCOVERY_TYPES))
def test_dns_a_only_fails_on_each_discovery_type(qtype):
    assert {"SRV", "NAPTR"} == _DISCOVERY_TYPES
    f = verdict("DNS-A-ONLY", [dns(1, "_sip._udp.prov.example.test", qtype), dns(2)])
    assert f.verdict is Verdict.FAIL and qtype in f.why


def test_dns_a_only_passes_with_an_a_query_beside_other_types():
    f = verdict("DNS-A-ONLY", [dns(1, qtype="AAAA"), dns(2)])
    assert f.verdict is Verdict.PASS and "1 A queries" in f.why


def test_dns_a_only_findings_name_and_point_at_the_queries():
    """The reason names what was seen; the evidence is the queries it is about."""
    srv, a1, a2 = dns(1, "_http._tcp.prov.example.test", "SRV"), dns(2), dns(3, "b.example.test")
    f = verdict("DNS-A-ONLY", [srv, a1])
    assert f.frames == srv.evidence.frames and f.time == srv.time
    f = verdict("DNS-A-ONLY", [a1, a2])
    assert f.why == "2 A queries (b.example.test, prov.example.test) and no SRV/NAPTR query"
    assert f.frames == tuple(sorted(a1.evidence.frames + a2.evidence.frames))
    assert f.time == a1.time
    aaaa, txt = dns(1, qtype="AAAA"), dns(2, qtype="TXT")
    f = verdict("DNS-A-ONLY", [aaaa, txt])
    assert f.why == "the device made DNS queries (AAAA, TXT) but no A query"
    assert f.frames == aaaa.evidence.frames
    f = verdict("DNS-A-ONLY", [http(1)])
    assert f.why == "the device made no DNS query"


# -- UA-FORMAT / UA-IDENTITY / HTTP-GET: reasons, evidence, and the identity's sources ---------
def test_ua_format_reasons_and_evidence():
    good, bad = http(1), http(2, url="/b.cfg", ua="curl/8.0")
    f = verdict("UA-FORMAT", [good, bad])
    assert f.why == (
        "GET /b.cfg has User-Agent 'curl/8.0', not in the cisco-8831-3pcc format "
        "'{maker}/{product} ({serial})'"
    )
    assert f.frames == bad.evidence.frames and f.time == bad.time
    f = verdict("UA-FORMAT", [good, http(2)])
    assert f.why.startswith("all 2 GET/POST requests carry a User-Agent in the cisco-8831-3pcc")
    assert len(f.frames) == 2 and f.time == good.time
    f = verdict("UA-FORMAT", [dns(1)])
    assert f.why == "the device made no GET or POST request"


def test_ua_identity_compares_without_case_and_reports_both_values():
    assert verdict("UA-IDENTITY", [http(1, ua=f"cisco/{PRODUCT} ({SERIAL.lower()})")]).verdict is (
        Verdict.PASS
    )
    other = http(2, url="/x.cfg", ua=f"cisco/{PRODUCT} (99999ZZ00000)")
    f = verdict("UA-IDENTITY", [http(1), other])
    assert f.why == (
        "GET /x.cfg: the User-Agent names serial '99999ZZ00000' but the device's configured "
        f"identity says '{SERIAL}'"
    )
    assert f.frames == other.evidence.frames
    f = verdict("UA-IDENTITY", [http(1), http(2)])
    assert f.why == (
        f"the User-Agent of all 2 requests names product={PRODUCT}, serial={SERIAL}, "
        "as the device's configured identity says"
    )
    assert len(f.frames) == 2


def test_ua_identity_on_mpp_compares_the_mac_in_any_notation():
    ua = f"Cisco-CP-8841-3PCC/11.0 ({MAC})"
    ctx = RuleContext(
        load_family("cisco-mpp"), DeviceIdentity("CP-8841-3PCC", None, "00:0E:08:AB:CD:EF")
    )
    assert verdict("UA-IDENTITY", [http(1, ua=ua)], ctx).verdict is Verdict.PASS
    wrong = RuleContext(ctx.family, DeviceIdentity("CP-8841-3PCC", None, "00:0E:08:AB:CD:00"))
    f = verdict("UA-IDENTITY", [http(1, ua=ua)], wrong)
    assert f.verdict is Verdict.FAIL and "mac" in f.why


def _cert_handshake(subject):
    from harness.observe.events import TlsHandshake
    from tests.rules.timelines import DEV, ev

    return TlsHandshake(time=0.5, device=DEV, evidence=ev(), client_cert_subject=subject)


def test_ua_identity_from_the_certificate_not_from_the_generic_one():
    unknown = context(identity=False)
    generic = _cert_handshake({"OU": "cisco.com", "L": "ciscogeneric", "ST": "ciscogeneric"})
    f = verdict("UA-IDENTITY", [generic, http(1)], unknown)
    assert f.verdict is Verdict.INCONCLUSIVE and "no source of the device's identity" in f.why
    own = _cert_handshake({"OU": PRODUCT, "L": SERIAL})
    f = verdict("UA-IDENTITY", [own, http(1)], unknown)
    assert f.verdict is Verdict.PASS and "its client certificate" in f.why
    mpp = RuleContext(load_family("cisco-mpp"), DeviceIdentity())
    by_mac = _cert_handshake({"OU": "CP-8841-3PCC", "ST": "00:0E:08:AB:CD:00"})
    f = verdict("UA-IDENTITY", [by_mac, http(1, ua=f"Cisco-CP-8841-3PCC/11.0 ({MAC})")], mpp)
    assert f.verdict is Verdict.FAIL and "000e08abcd00" in f.why


def test_http_get_reasons():
    f = verdict("HTTP-GET", [http(1, method="POST")])
    assert f.why == "the device sent POST /CP-8831-3PCC.cfg; the profile rule asks for GET"
    post = context(Profile_Rule_C="[--post a] http://prov.example.test/$PN.cfg")
    f = verdict("HTTP-GET", [http(1, method="PUT")], post)
    assert f.why == "the device sent PUT /CP-8831-3PCC.cfg; only GET/POST are used"
    f = verdict("HTTP-GET", [http(1), http(2, method="POST")], post)
    assert f.why == "all 2 HTTP requests use GET/POST as the profile rule asks"
    assert len(f.frames) == 2
    assert (
        verdict("HTTP-GET", [http(1)]).why == "all 1 HTTP requests use GET as the profile rule asks"
    )
    assert verdict("HTTP-GET", [dns(1)]).why == "the device made no HTTP request"


@pytest.mark.parametrize(
    "name", ["Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D"]
)
def test_http_get_allows_post_when_any_profile_rule_asks_for_it(name):
    post = context(**{name: "[--post a] http://prov.example.test/$PN.cfg"})
    assert verdict("HTTP-GET", [http(1, method="POST")], post).verdict is Verdict.PASS
    assert verdict("HTTP-GET", [http(1, method="POST")]).verdict is Verdict.FAIL


# -- TLS-CIPHERS / TLS-DNS-MATCH: reasons, evidence and what is skipped ------------------------
def test_ciphers_reasons_and_evidence():
    first, second = conn(1, offered=(0x0035,)), conn(2, offered=(0x0039, 0x00FF))
    f = judge("TLS-CIPHERS", first + second)
    assert f.why == (
        "2 ClientHello(s) offer only suites of table-3-2: "
        f"{cipher_suite_name(0x0035)}, {cipher_suite_name(0x0039)} "
        "(signalling and GREASE values ignored)"
    )
    assert f.frames == tuple(sorted(first[0].evidence.frames + second[0].evidence.frames))
    bad = conn(3, offered=(0x0035, GCM))
    f = judge("TLS-CIPHERS", first + bad)
    assert f.why == (
        f"the ClientHello offers {cipher_suite_name(GCM)}, not in cisco-8831-3pcc's suite set "
        "table-3-2"
    )
    assert f.frames == bad[0].evidence.frames
    f = judge("TLS-CIPHERS", conn(1, offered=()))
    assert f.why == "no ClientHello with cipher suites was seen from the device"


def test_dns_match_reasons_and_what_it_leaves_out():
    ctx = context()
    ctx.facts["dns_answer_for_cert_name"] = {"elsewhere.example.test": ["192.0.2.99"]}
    refused = conn(1, cn="elsewhere.example.test", accepted=False)
    f = judge("TLS-DNS-MATCH", refused, ctx)
    assert f.why.startswith(
        "certificate variant valid naming elsewhere.example.test (DNS: 192.0.2.99) "
        f"from server address {SERVER[0]}, "
    )
    assert f.frames == refused[0].evidence.frames
    no_server = [dataclasses.replace(refused[0], server=None)]
    assert judge("TLS-DNS-MATCH", no_server, ctx).verdict is Verdict.INCONCLUSIVE
    no_cn = [dataclasses.replace(refused[0], server_cert_subject_cn=None)]
    f = judge("TLS-DNS-MATCH", no_cn, ctx)
    assert f.why == "no connection whose certificate name has a known DNS answer"
    unknown_name = conn(1, cn="unknown.example.test", accepted=False)
    assert judge("TLS-DNS-MATCH", unknown_name, ctx).verdict is Verdict.INCONCLUSIVE


def test_dns_match_reads_only_a_queries_with_answers():
    aaaa = dataclasses.replace(dns(0.5, "elsewhere.example.test", "AAAA"), answers=("192.0.2.99",))
    empty = dns(0.6, "elsewhere.example.test")
    taken = conn(1, cn="elsewhere.example.test")
    assert judge("TLS-DNS-MATCH", [aaaa, empty, *taken]).verdict is Verdict.INCONCLUSIVE
    a = dataclasses.replace(dns(0.5, "elsewhere.example.test"), answers=("192.0.2.99",))
    assert judge("TLS-DNS-MATCH", [a, *taken]).verdict is Verdict.FAIL


def test_ua_identity_without_a_family_user_agent_or_identity():
    f = verdict("UA-IDENTITY", [http(1, ua="curl/8.0")])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "no User-Agent in the family format to compare"
    first = http(1)
    f = verdict("UA-IDENTITY", [first], context(identity=False))
    assert f.why.startswith("no source of the device's identity independent of its User-Agent")
    assert "not judged against itself" in f.why
    assert f.frames == first.evidence.frames


def test_ua_identity_checks_what_is_known_even_without_a_product():
    ctx = RuleContext(load_family("cisco-8831-3pcc"), DeviceIdentity(serial=SERIAL))
    f = verdict("UA-IDENTITY", [http(1, ua=f"cisco/{PRODUCT} (99999ZZ00000)")], ctx)
    assert f.verdict is Verdict.FAIL and "serial" in f.why


def test_ua_identity_product_from_the_certificate():
    own = _cert_handshake({"OU": "CP-8841-3PCC", "L": SERIAL})
    f = verdict("UA-IDENTITY", [own, http(1)], context(identity=False))
    assert f.verdict is Verdict.FAIL
    assert f.why == (
        f"GET /CP-8831-3PCC.cfg: the User-Agent names product '{PRODUCT}' but its client "
        f"certificate (OU=CP-8841-3PCC, L={SERIAL}) says 'CP-8841-3PCC'"
    )
    same = _cert_handshake({"OU": PRODUCT, "L": SERIAL})
    f = verdict("UA-IDENTITY", [same, http(1)], context(identity=False))
    assert f.why.endswith(f", as its client certificate (OU={PRODUCT}, L={SERIAL}) says")


def test_http_get_fail_points_at_the_request():
    bad = http(2, method="PUT")
    f = verdict("HTTP-GET", [http(1), bad])
    assert f.frames == bad.evidence.frames


def _family_with_tls(tmp_path, **settings):
    """A user family file: the shipped one with other [tls] settings."""
    src = Path(load_family("cisco-8831-3pcc").path).read_text().splitlines()
    lines = []
    for line in src:
        key = line.split(" = ")[0]
        if key in settings:
            line = f"{key} = {str(settings[key]).lower()}"
        lines.append(line)
    path = tmp_path / "family.toml"
    path.write_text("\n".join(lines) + "\n")
    return RuleContext(load_family_file(path), DeviceIdentity(PRODUCT, SERIAL, MAC))


def test_dns_match_and_cn_suffix_skipped_where_the_family_does_not_check(tmp_path):
    ctx = _family_with_tls(tmp_path, dns_ip_check=False, cn_suffix_accepted=False)
    f = judge("TLS-DNS-MATCH", conn(1), ctx)
    assert f.verdict is Verdict.SKIPPED
    assert f.why == "family cisco-8831-3pcc does not check the server address against DNS"
    f = judge("TLS-CN-SUFFIX", conn(1, "cn-suffix", cn=SUFFIX_CN), ctx)
    assert f.verdict is Verdict.SKIPPED
    assert f.why == "family cisco-8831-3pcc does not accept the FQDN/suffix CN form"


def test_dns_match_judges_a_connection_after_one_it_leaves_out():
    ctx = context()
    ctx.facts["dns_answer_for_cert_name"] = {"elsewhere.example.test": ["192.0.2.99"]}
    skipped = conn(1, "wrong-cn", cn="elsewhere.example.test", accepted=False)
    taken = conn(2, cn="elsewhere.example.test")
    assert judge("TLS-DNS-MATCH", skipped + taken, ctx).verdict is Verdict.FAIL


def test_certificate_rules_say_what_was_not_served():
    f = judge("TLS-SERVER-CN", [dns(1)])
    assert f.why == "no wrong-cn server certificate was served to the device"
    f = judge("TLS-CN-SUFFIX", [dns(1)])
    assert f.why == "no cn-suffix server certificate was served to the device"
    f = judge("TLS-SERVER-CA", [dns(1)])
    assert f.why == "no self-signed or untrusted-CA server certificate was served to the device"


def test_ua_format_names_a_missing_firmware_where_the_grammar_allows_none(tmp_path):
    pattern = (
        r"^(?P<maker>Cisco)-(?P<product>CP-[0-9A-Za-z-]+)(?:/(?P<firmware>[0-9][0-9A-Za-z._-]*))?"
        r" \((?P<mac>[0-9a-fA-F]{12})\)$"
    )
    fam = _family_with_pattern(tmp_path, "cisco-mpp", pattern)
    ctx = RuleContext(fam, DeviceIdentity(product="CP-8841-3PCC", mac=MAC), {})
    f = verdict("UA-FORMAT", [http(1, ua=f"Cisco-CP-8841-3PCC ({MAC})")], ctx)
    assert f.verdict is Verdict.FAIL and "without the firmware version" in f.why
