"""The server-chain classifier over the harness.pki matrix: every variant is named back,
with and without trust anchors, with the family's SAN setting, by the name the device meant."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from harness.pki import SERVER_CERT_VARIANTS
from harness.pki.ca import CA
from harness.pki.variants import build_server_cert
from harness.tls.server_chain import classify_server_chain, load_anchors

FQDN = "prov.example.test"


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA("server")


def chain(ca: CA, variant: str) -> list[bytes]:
    c = build_server_cert(ca, FQDN, variant)
    return [c.cert.public_bytes(Encoding.DER)] + [x.public_bytes(Encoding.DER) for x in c.chain]


def classify(ders, **kw):
    return classify_server_chain(
        ders, name=kw.pop("name", FQDN), at=kw.pop("at", time.time()), **kw
    )


@pytest.mark.parametrize("variant", [v for v in SERVER_CERT_VARIANTS if v != "incomplete-chain"])
def test_every_variant_is_named_back_with_the_trust_anchor(ca, variant):
    got = classify(chain(ca, variant), anchors=[ca.cert])
    assert got.variant == variant, got
    assert got.trusted is (variant not in ("self-signed", "untrusted-ca"))
    assert got.name == FQDN and got.reason


def test_an_incomplete_chain_needs_the_withheld_intermediate_to_be_named(ca):
    c = build_server_cert(ca, FQDN, "incomplete-chain")
    ders = [c.cert.public_bytes(Encoding.DER)]
    assert classify(ders, anchors=[ca.cert]).variant == "untrusted-ca"  # looks alike on the wire
    got = classify(ders, anchors=[ca.cert, *c.withheld])
    assert got.variant == "incomplete-chain" and "did not send the intermediate" in got.reason
    full = ders + [x.public_bytes(Encoding.DER) for x in c.withheld]
    assert classify(full, anchors=[ca.cert]).variant == "valid"


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("valid", "valid"),
        ("cn-suffix", "cn-suffix"),
        ("wrong-cn", "wrong-cn"),
        ("self-signed", "self-signed"),
        ("untrusted-ca", "valid"),  # the issuer is unknown: only the name is judged
        ("expired", "expired"),
    ],
)
def test_without_anchors_the_issuer_is_unknown(ca, variant, expected):
    got = classify(chain(ca, variant))
    assert got.variant == expected
    assert got.trusted is None


def test_san_variants_are_named_as_the_pki_names_them_whatever_the_family(ca):
    for variant in ("san-wrong", "san-only"):
        ders = chain(ca, variant)
        for check_san in (True, False):
            got = classify(ders, check_san=check_san)
            assert got.variant == variant
            assert ("checks the SAN" in got.reason) is check_san


def test_the_cn_suffix_form_follows_the_family(ca):
    ders = chain(ca, "cn-suffix")
    assert classify(ders, suffix_accepted=True).variant == "cn-suffix"
    assert classify(ders, suffix_accepted=False).variant == "wrong-cn"


def test_the_name_the_device_meant_decides(ca):
    ders = chain(ca, "valid")
    assert classify(ders, name="other.example.test").variant == "wrong-cn"
    assert classify(ders, name="PROV.example.test.").variant == "valid"
    by_address = classify(ders, name="192.0.2.7")  # URL by address: TLS-DNS-MATCH judges it
    assert by_address.variant == "valid" and "address" in by_address.reason
    unknown = classify(ders, name=None)
    assert unknown.variant is None and "no name" in unknown.reason


def test_the_capture_time_decides_validity(ca):
    ders = chain(ca, "valid")
    assert classify(ders, at=time.time() + 3 * 365 * 86400).variant == "expired"
    assert classify(ders, at=time.time() - 3 * 86400).variant == "not-yet-valid"


def test_several_defects_are_all_listed_the_issuer_first(ca):
    other = CA("untrusted")
    c = other.issue(subject={"CN": "other-host.example.test"}, key_bits=1024, digest="sha1")
    got = classify([c.cert.public_bytes(Encoding.DER)], anchors=[ca.cert])
    assert got.variant == "untrusted-ca"
    assert got.defects == ("untrusted-ca", "wrong-cn", "rsa-1024", "sha1")


@pytest.mark.parametrize("junk", [b"", b"\x30\x03\x02\x01\x01", b"not a certificate" * 10])
def test_hostile_certificates_are_named_not_raised(junk):
    got = classify([junk] if junk else [])
    assert got.variant is None and got.reason


def test_unreadable_trust_files_are_problems(ca):
    anchors, problems = load_anchors([b"garbage", ca.cert_pem.bytes()])
    assert len(anchors) == 1 and problems and "trust file 1" in problems[0]
