"""TLS-CLIENT-CERT and TLS-GENERIC-CERT, branch by branch: the verdict, the connection the
finding points at (its time and frames: the report's pcap evidence), and the facts its
reason names (the subject presented, the subject expected, the suite, the request).

Spec: when the server asks, the phone presents its client certificate, OU=product,
L=serial, S=MAC; a unit without one presents the generic OU=cisco.com, L=ciscogeneric,
S=ciscogeneric and is then known by the serial in its User-Agent.
"""

import dataclasses

from harness.rules import Verdict
from harness.spec.ciphers import cipher_suite_name
from tests.rules.test_tls_rules import GENERIC, OWN, conn, judge
from tests.rules.timelines import SERIAL, UA, context

AES256 = cipher_suite_name(0x0035)
GENERIC_TEXT = "L=ciscogeneric, OU=cisco.com, ST=ciscogeneric"


def frames(*obs):
    """The frames a finding about `obs` must link (every observation has its own frame)."""
    return tuple(sorted({f for o in obs for f in o.evidence.frames}))


def points_at(f, about, *also):
    """The finding's time is `about`'s and its frames are exactly those of `about` + `also`."""
    return f.time == about.time and f.frames == frames(about, *also)


# -- TLS-GENERIC-CERT -------------------------------------------------------------------------
def test_generic_cert_without_a_completed_request_for_a_certificate_is_inconclusive():
    # the server asked, but the handshake never completed: nothing was presented
    (hs,) = conn(1, chosen=None, accepted=False, asked=True)
    f = judge("TLS-GENERIC-CERT", [hs])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.time is None and f.frames == ()


def test_generic_cert_fails_a_unit_presenting_nothing_at_that_handshake():
    first = conn(1, client_cert=GENERIC, asked=True)
    (bare,) = conn(2, asked=True, accepted=False)
    f = judge("TLS-GENERIC-CERT", [*first, bare])
    assert f.verdict is Verdict.FAIL and AES256 in f.why
    assert points_at(f, bare)


def test_generic_cert_fails_a_misspelt_generic_subject_naming_the_expected_one():
    (hs,) = conn(1, client_cert={**GENERIC, "L": "ciscogenerik"}, asked=True, accepted=False)
    f = judge("TLS-GENERIC-CERT", [hs])
    assert f.verdict is Verdict.FAIL
    assert "L=ciscogenerik" in f.why and GENERIC_TEXT in f.why
    assert points_at(f, hs)


def test_generic_cert_skips_a_unit_with_its_own_certificate_naming_it():
    hs, req = conn(1, client_cert=OWN, asked=True)
    f = judge("TLS-GENERIC-CERT", [hs, req])
    assert f.verdict is Verdict.SKIPPED and f"L={SERIAL}" in f.why
    assert points_at(f, hs)


def test_generic_cert_without_an_https_request_is_inconclusive_even_with_plain_http():
    (hs,) = conn(1, client_cert=GENERIC, asked=True, accepted=False)
    (_, https_req) = conn(2, client_cert=GENERIC, asked=True)
    plain = dataclasses.replace(https_req, scheme="http")  # a plain-HTTP request names nobody here
    f = judge("TLS-GENERIC-CERT", [hs, plain])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert points_at(f, hs)


def test_generic_cert_fails_on_the_request_whose_user_agent_lacks_the_serial():
    good = conn(1, client_cert=GENERIC, asked=True)
    bad = conn(2, client_cert=GENERIC, asked=True, ua="cisco/CP-8831-3PCC ()")
    f = judge("TLS-GENERIC-CERT", good + bad)
    assert f.verdict is Verdict.FAIL and "serial" in f.why and "cisco/CP-8831-3PCC ()" in f.why
    # the request without the serial, with the generic handshakes as evidence
    assert points_at(f, bad[1], good[0], bad[0])


def test_generic_cert_pass_points_at_the_first_handshake_and_request():
    one, two = conn(1, client_cert=GENERIC, asked=True), conn(2, client_cert=GENERIC, asked=True)
    f = judge("TLS-GENERIC-CERT", one + two)
    assert f.verdict is Verdict.PASS and GENERIC_TEXT in f.why and SERIAL in f.why
    assert points_at(f, one[0], one[1])


# -- TLS-CLIENT-CERT --------------------------------------------------------------------------
def test_client_cert_presenting_none_fails_naming_the_suite_and_the_handshake():
    ok = conn(1, client_cert=OWN, asked=True)
    (bare,) = conn(2, asked=True, accepted=False, chosen=0x0039, offered=(0x0039,))
    f = judge("TLS-CLIENT-CERT", [*ok, bare])
    assert f.verdict is Verdict.FAIL and cipher_suite_name(0x0039) in f.why
    assert points_at(f, bare)


def test_client_cert_generic_on_a_unit_without_its_own_is_left_to_generic_cert():
    (hs,) = conn(1, client_cert=GENERIC, asked=True, accepted=False)
    ctx = context()
    ctx.facts["individual_cert"] = False
    f = judge("TLS-CLIENT-CERT", [hs], ctx)
    assert f.verdict is Verdict.SKIPPED and "TLS-GENERIC-CERT" in f.why
    assert points_at(f, hs)
    for told in (True, None):  # a unit with (or not known to lack) its own certificate
        ctx = context()
        if told is not None:
            ctx.facts["individual_cert"] = told
        f = judge("TLS-CLIENT-CERT", [hs], ctx)
        assert f.verdict is Verdict.FAIL and GENERIC_TEXT in f.why
        assert points_at(f, hs)


def test_client_cert_missing_an_attribute_names_the_subject_presented():
    (hs,) = conn(1, client_cert={"OU": OWN["OU"], "L": SERIAL}, asked=True, accepted=False)
    f = judge("TLS-CLIENT-CERT", [hs])
    assert f.verdict is Verdict.FAIL and f"L={SERIAL}" in f.why and "no ST" in f.why
    assert points_at(f, hs)


def test_client_cert_naming_another_unit_names_the_subject_and_the_handshake():
    ok = conn(1, client_cert=OWN, asked=True)
    other = conn(2, client_cert={**OWN, "L": "OTHER1234"}, asked=True)
    f = judge("TLS-CLIENT-CERT", ok + other)
    assert f.verdict is Verdict.FAIL and "L=OTHER1234" in f.why and SERIAL in f.why
    assert points_at(f, other[0])


def test_client_cert_without_an_independent_source_points_at_the_first_handshake():
    one = conn(1, client_cert=OWN, asked=True, ua=None)
    two = conn(2, client_cert=OWN, asked=True, ua=None)
    f = judge("TLS-CLIENT-CERT", one + two, context(identity=False))
    assert f.verdict is Verdict.INCONCLUSIVE
    assert points_at(f, one[0])


def test_client_cert_pass_links_every_handshake_that_asked():
    one, two = conn(1, client_cert=OWN, asked=True), conn(2, client_cert=OWN, asked=True)
    (three,) = conn(3, client_cert=OWN, asked=True, accepted=False)
    f = judge("TLS-CLIENT-CERT", [*one, *two, three])
    assert f.verdict is Verdict.PASS and "3 time(s)" in f.why
    assert points_at(f, one[0], two[0], three)


def test_client_cert_is_judged_against_the_profile_path_when_nothing_else_names_the_unit():
    # no configured identity, no User-Agent: the path the device expanded $SN into is the source
    ctx = context(identity=False, Profile_Rule="https://prov.example.test/$PN/$SN.cfg")
    url = f"/CP-8831-3PCC/{SERIAL}.cfg"
    other = conn(1, client_cert={**OWN, "L": "OTHER1234"}, asked=True, ua=None, url=url)
    f = judge("TLS-CLIENT-CERT", other, ctx)
    assert f.verdict is Verdict.FAIL and "OTHER1234" in f.why and SERIAL in f.why
    assert "Profile_Rule" in f.why
    own = conn(1, client_cert=OWN, asked=True, ua=None, url=url)
    f = judge("TLS-CLIENT-CERT", own, ctx)
    assert f.verdict is Verdict.PASS and "Profile_Rule" in f.why


def test_client_cert_with_a_stated_identity_ignores_the_profile_path():
    # the stated identity outranks what the device put in a path (that is UA/macro business)
    ctx = context(Profile_Rule="https://prov.example.test/$PN/$SN.cfg")
    own = conn(1, client_cert=OWN, asked=True, ua=UA, url="/CP-8831-3PCC/OTHER1234.cfg")
    f = judge("TLS-CLIENT-CERT", own, ctx)
    assert f.verdict is Verdict.PASS and "Profile_Rule" not in f.why
