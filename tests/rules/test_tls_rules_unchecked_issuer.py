"""TLS rules on chains classified from a capture without trust anchors (`--trust-ca`).

A refused name-right certificate of an unchecked issuer may be a right refusal, unless the
device accepted the same certificate from the same server on another connection (then it
trusts that issuer); a suite whose only handshakes were undecided refusals leaves
TLS-NEGOTIATE inconclusive, never a pass.
"""

import dataclasses

from harness.observe.events import TlsCertificate, TlsHandshake
from harness.rules import Verdict
from tests.rules.test_tls_rules import conn, judge, wire

AES128, AES256 = 0x002F, 0x0035
OFFERED = (0x0039, AES256, AES128, 0x00FF)


def leaf(obs, sha256):
    """The records with the server's leaf certificate (fingerprint `sha256`) on the handshake."""
    cert = TlsCertificate(subject="CN=prov.example.test", issuer="CN=lab CA", sha256=sha256)
    return [
        dataclasses.replace(o, server_cert_chain=(cert,)) if isinstance(o, TlsHandshake) else o
        for o in obs
    ]


def unchecked(t, chosen, accepted, sha256="aa", server=("198.51.100.5", 443)):
    obs = conn(t, offered=OFFERED, chosen=chosen, accepted=accepted, server=server)
    return wire(leaf(obs, sha256), trusted=None)


def test_a_suite_refused_on_a_certificate_accepted_elsewhere_fails_negotiate():
    obs = unchecked(1, AES256, True) + unchecked(2, AES128, False)
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.FAIL and "TLS_RSA_WITH_AES_128_CBC_SHA" in f.why


def test_a_suite_refused_on_a_certificate_never_accepted_is_not_a_pass():
    obs = unchecked(1, AES256, True, "aa") + unchecked(2, AES128, False, "bb")
    f = judge("TLS-NEGOTIATE", obs)
    assert f.verdict is Verdict.INCONCLUSIVE
    assert "not judged" in f.why and "TLS_RSA_WITH_AES_128_CBC_SHA" in f.why


def test_acceptance_by_another_server_says_nothing_about_this_one():
    obs = unchecked(1, AES256, True) + unchecked(2, AES128, False, server=("198.51.100.6", 443))
    assert judge("TLS-NEGOTIATE", obs).verdict is Verdict.INCONCLUSIVE


def test_cn_suffix_refused_after_being_accepted_fails():
    def suffix(t, accepted):
        obs = conn(t, "cn-suffix", accepted=accepted, cn="prov.example.test/mailto:a@b")
        return wire(leaf(obs, "cc"), trusted=None)

    assert judge("TLS-CN-SUFFIX", suffix(1, False)).verdict is Verdict.INCONCLUSIVE
    assert judge("TLS-CN-SUFFIX", suffix(1, True) + suffix(2, False)).verdict is Verdict.FAIL
