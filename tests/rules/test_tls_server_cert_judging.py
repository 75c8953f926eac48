"""TLS-SERVER-CA, TLS-SERVER-CN and TLS-DNS-MATCH, branch by branch: what counts as the device
accepting or refusing a server (a request or data on that connection; its own alert or
close before any), which connections are judged and against what, the connection a
finding points at (time and frames) and the facts its reason names (variant, CN, suite,
alert, request, counts).

Spec: the phone rejects a server certificate not signed by a CA it trusts and one whose CN
does not hold the server's FQDN, and does not fetch the profile; it checks the server's
address against a DNS lookup of the name in the certificate.
"""

import dataclasses

from harness.observe.events import TlsAlert, TlsCertificate, TlsHandshake
from harness.rules import Verdict
from harness.spec import load_family
from harness.spec.ciphers import cipher_suite_name
from tests.rules.test_tls_client_cert_rules import points_at
from tests.rules.test_tls_rules import SERVER, conn, judge, wire
from tests.rules.timelines import context, dns

AES256, DHE256 = cipher_suite_name(0x0035), cipher_suite_name(0x0039)
UNKNOWN_CA = TlsAlert("client", 2, 48, "unknown_ca")


def no_data(obs):
    """The records with the handshake's application-data flag off (a capture that saw the
    request but did not flag the data records)."""
    return [
        dataclasses.replace(o, application_data=False) if isinstance(o, TlsHandshake) else o
        for o in obs
    ]


def chain(obs, subject_cn="prov.example.test", issuer="CN=lab CA"):
    """The records with a one-certificate server chain and no separate subject CN."""
    cert = TlsCertificate(subject=f"CN={subject_cn}", issuer=issuer, subject_cn=subject_cn)
    return [
        dataclasses.replace(o, server_cert_chain=(cert,), server_cert_subject_cn=None)
        if isinstance(o, TlsHandshake)
        else o
        for o in obs
    ]


# -- accepting: a request or data on the connection ------------------------------------------
def test_a_request_on_the_connection_is_accepting_even_without_a_data_flag():
    hs, req = no_data(conn(1, "self-signed"))
    f = judge("TLS-SERVER-CA", [hs, req])
    assert f.verdict is Verdict.FAIL
    assert "GET /CP-8831-3PCC.cfg" in f.why and "must reject" in f.why
    assert points_at(f, hs, req)  # the handshake, with the request as evidence


def test_application_data_without_a_parsed_request_is_accepting():
    (hs,) = conn(1, "self-signed", accepted=False)
    hs = dataclasses.replace(hs, application_data=True)
    f = judge("TLS-SERVER-CA", [hs])
    assert f.verdict is Verdict.FAIL and "sent data" in f.why
    assert points_at(f, hs)


def test_a_request_counts_for_its_own_connection_only():
    # same client address and port, another server: not the handshake's connection
    (hs,) = conn(1, "wrong-cn", accepted=False)
    _, req = conn(2)
    req = dataclasses.replace(req, client=hs.client, server=("198.51.100.6", 443))
    assert judge("TLS-SERVER-CN", [hs, req]).verdict is Verdict.PASS


def test_a_connection_with_an_unknown_server_side_still_matches_its_requests():
    hs, req = conn(1, "wrong-cn")
    f = judge("TLS-SERVER-CN", [dataclasses.replace(hs, server=None, application_data=False), req])
    assert f.verdict is Verdict.FAIL
    f = judge("TLS-SERVER-CN", [dataclasses.replace(hs, application_data=False), req])
    assert f.verdict is Verdict.FAIL
    req_no_server = dataclasses.replace(req, server=None)
    f = judge("TLS-SERVER-CN", [dataclasses.replace(hs, application_data=False), req_no_server])
    assert f.verdict is Verdict.FAIL


# -- refusing, and what is nobody's refusal ---------------------------------------------------
def test_the_server_breaking_off_after_its_hello_is_not_the_device_refusing():
    alert = TlsAlert("server", 2, 40, "handshake_failure")
    (hs,) = conn(1, "self-signed", accepted=False, alert=alert)
    f = judge("TLS-SERVER-CA", [hs])
    assert f.verdict is Verdict.INCONCLUSIVE and "handshake_failure" in f.why
    assert points_at(f, hs)
    (hs,) = conn(1, "self-signed", accepted=False, alert=TlsAlert("server", 2, 40))
    assert "alert 40" in judge("TLS-SERVER-CA", [hs]).why  # no name: its number


def test_a_handshake_stopped_before_the_certificate_is_not_the_device_refusing():
    (hs,) = conn(1, "self-signed", chosen=None, accepted=False)
    assert judge("TLS-SERVER-CA", [hs]).verdict is Verdict.INCONCLUSIVE


def test_a_refusal_names_the_alert_the_device_sent():
    (hs,) = conn(1, accepted=False, alert=UNKNOWN_CA)
    f = judge("TLS-SERVER-CN", [hs])
    assert f.verdict is Verdict.FAIL and "unknown_ca" in f.why and "must accept" in f.why
    (hs,) = conn(1, accepted=False, alert=TlsAlert("client", 2, 48))
    assert "alert 48" in judge("TLS-SERVER-CN", [hs]).why  # no name: its number


def test_a_refusal_after_the_certificate_without_a_server_hello_names_the_offer():
    # the capture holds the server's certificate but not the suite it picked
    obs = chain(conn(1, chosen=None, accepted=False, offered=(0x0039, 0x00FF)))
    f = judge("TLS-SERVER-CN", obs)
    assert f.verdict is Verdict.FAIL and "no suite chosen" in f.why and DHE256 in f.why


# -- which cases are judged, and how the finding reads --------------------------------------
def test_a_pass_names_the_suite_picked_and_how_many_were_offered():
    f = judge("TLS-SERVER-CA", conn(1, "self-signed", accepted=False, alert=UNKNOWN_CA))
    assert f.verdict is Verdict.PASS and f"suite {AES256} (of 2 offered)" in f.why
    assert "more connection" not in f.why  # the only one


def test_a_pass_counts_the_other_connections_and_links_every_key_refusal():
    refusals = [conn(t, "self-signed", accepted=False)[0] for t in (1, 2, 3)]
    f = judge("TLS-SERVER-CA", [*refusals, *conn(4)])
    assert f.verdict is Verdict.PASS and "3 more connection(s)" in f.why
    assert points_at(f, *refusals)
    f = judge("TLS-SERVER-CA", [refusals[0], *conn(4)])
    assert f.verdict is Verdict.PASS and "1 more connection(s)" in f.why
    assert points_at(f, refusals[0])


def test_an_undecided_connection_does_not_hide_the_ones_after_it():
    alert = TlsAlert("server", 2, 40, "handshake_failure")
    (broken,) = conn(1, "self-signed", accepted=False, alert=alert)
    (refused,) = conn(2, "self-signed", accepted=False)
    f = judge("TLS-SERVER-CA", [broken, refused])
    assert f.verdict is Verdict.PASS
    assert points_at(f, refused)


def test_an_unchecked_refusal_does_not_hide_the_ones_after_it():
    unchecked = wire(conn(1, accepted=False), trusted=None)
    refused = wire(conn(2, "wrong-cn", accepted=False), trusted=None)
    f = judge("TLS-SERVER-CN", unchecked + refused)
    assert f.verdict is Verdict.PASS and "wrong-cn" in f.why


def test_a_variant_another_requirement_is_about_does_not_hide_the_ones_after_it():
    obs = conn(1, "wrong-cn") + conn(2, "self-signed", accepted=False)
    f = judge("TLS-SERVER-CA", obs)
    assert f.verdict is Verdict.PASS and "self-signed" in f.why


def test_inconclusive_without_a_key_variant_points_at_the_first_control():
    first, second = conn(1), conn(2)
    f = judge("TLS-SERVER-CA", first + second)
    assert f.verdict is Verdict.INCONCLUSIVE
    assert points_at(f, first[0])


def test_a_variant_classified_from_the_capture_says_so_and_keeps_its_name():
    obs = wire(conn(1, "self-signed", accepted=False), trusted=False, reason="issuer not trusted")
    f = judge("TLS-SERVER-CA", obs)
    assert f.verdict is Verdict.PASS and "variant self-signed" in f.why
    assert "issuer not trusted" in f.why


def test_the_cn_comes_from_the_chain_when_the_handshake_names_none():
    f = judge("TLS-SERVER-CN", chain(conn(1, "wrong-cn", accepted=False), "other.example.test"))
    assert f.verdict is Verdict.PASS and "'other.example.test'" in f.why


# -- a variant the harness has no table entry for: the scenario says what to expect ----------
def _told(expect=None, served="expired"):
    ctx = context()
    ctx.facts["served_variant"] = served
    if expect is not None:
        ctx.facts["tls_expectation"] = expect
    return ctx


def _unnamed(obs):
    return [dataclasses.replace(o, server_cert_variant=None) if isinstance(o, TlsHandshake) else o for o in obs]  # fmt: skip


def test_a_served_variant_outside_the_tables_is_judged_by_the_scenarios_expectation():
    refused, taken = _unnamed(conn(1, accepted=False)), _unnamed(conn(1))
    f = judge("TLS-SERVER-CA", refused, _told("reject"))
    assert f.verdict is Verdict.PASS and "variant expired" in f.why
    f = judge("TLS-SERVER-CA", taken, _told("reject"))
    assert f.verdict is Verdict.FAIL and "variant expired" in f.why and "must reject" in f.why
    assert judge("TLS-SERVER-CN", taken, _told("accept")).verdict is Verdict.PASS
    f = judge("TLS-SERVER-CN", refused, _told("accept"))
    assert f.verdict is Verdict.FAIL and "must accept" in f.why


def test_a_served_variant_outside_the_tables_without_an_expectation_is_not_judged():
    taken = _unnamed(conn(1))
    assert judge("TLS-SERVER-CA", taken, _told()).verdict is Verdict.INCONCLUSIVE
    assert judge("TLS-SERVER-CA", taken, _told("maybe")).verdict is Verdict.INCONCLUSIVE


def test_a_named_variant_outside_the_tables_is_judged_only_with_an_expectation():
    taken = conn(1, "expired")
    assert judge("TLS-SERVER-CA", taken, _told("reject")).verdict is Verdict.FAIL
    assert judge("TLS-SERVER-CA", taken, context()).verdict is Verdict.INCONCLUSIVE


def test_the_served_variant_names_the_certificate_of_an_unnamed_handshake():
    f = judge("TLS-SERVER-CA", _unnamed(conn(1, accepted=False)), _told("reject", "self-signed"))
    assert f.verdict is Verdict.PASS and "variant self-signed" in f.why


# -- TLS-SERVER-CA without trust anchors ------------------------------------------------------
def test_server_ca_without_trust_anchors_names_the_issuer_and_points_at_the_chain():
    first = wire(chain(conn(1), issuer="CN=lab CA"), trusted=None)
    second = wire(chain(conn(2), issuer="CN=other CA"), trusted=None)
    f = judge("TLS-SERVER-CA", first + second)
    assert f.verdict is Verdict.INCONCLUSIVE
    assert "CN=lab CA" in f.why and "2 server chain(s)" in f.why
    assert points_at(f, first[0])


# -- TLS-DNS-MATCH ----------------------------------------------------------------------------
def test_dns_match_skips_names_without_an_answer_and_judges_the_next():
    here = dataclasses.replace(dns(0.5, "elsewhere.example.test"), answers=("192.0.2.99",))
    unknown = conn(1, cn="nowhere.example.test", accepted=False)
    taken = conn(2, cn="elsewhere.example.test")
    f = judge("TLS-DNS-MATCH", [here, *unknown, *taken])
    assert f.verdict is Verdict.FAIL and "192.0.2.99" in f.why
    assert points_at(f, taken[0], taken[1])


def test_dns_match_takes_the_name_from_the_chain():
    here = dataclasses.replace(dns(0.5, "elsewhere.example.test"), answers=("192.0.2.99",))
    f = judge("TLS-DNS-MATCH", [here, *chain(conn(1), "elsewhere.example.test")])
    assert f.verdict is Verdict.FAIL and "elsewhere.example.test" in f.why


def test_dns_match_reads_a_suffixed_cn_as_the_family_does():
    here = dataclasses.replace(dns(0.5, "prov.example.test"), answers=("192.0.2.99",))
    taken = conn(1, None, cn="prov.example.test/mailto:admin@example.test")
    f = judge("TLS-DNS-MATCH", [here, *taken])
    assert f.verdict is Verdict.FAIL and SERVER[0] in f.why
    # a family that does not accept the suffix form: the CN names no host with a DNS answer
    fam = dataclasses.replace(load_family("cisco-8831-3pcc"), tls_cn_suffix_accepted=False)
    ctx = dataclasses.replace(context(), family=fam)
    assert judge("TLS-DNS-MATCH", [here, *taken], ctx).verdict is Verdict.INCONCLUSIVE
