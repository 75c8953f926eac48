"""The named server-certificate matrix: one variant per way a certificate can be wrong.

`SERVER_CERT_VARIANTS` maps each name (what tests, fixtures and reports print)
to one line saying what it is; `build_server_cert(ca, fqdn, variant)` makes it.
No judging here: whether a phone must accept a variant is for harness/rules.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from harness.pki.ca import CA, Certificate
from harness.pki.keys import rsa_key
from harness.pki.subject import build_name, cn_suffix_form

SERVER_CERT_VARIANTS: dict[str, str] = {
    "valid": "CN = FQDN, SAN = FQDN, signed by the server CA",
    "cn-suffix": "CN = FQDN/mailto:admin@domain (the seed's accepted form), no SAN",
    "wrong-cn": "CN and SAN name another host",
    "san-only": "SAN = FQDN, no CN in the subject",
    "san-wrong": "CN = FQDN, SAN names another host",
    "expired": "valid names, notAfter in the past",
    "not-yet-valid": "valid names, notBefore in the future",
    "self-signed": "valid names, signed by its own key",
    "untrusted-ca": "valid names, signed by a CA the phone does not trust",
    "incomplete-chain": "valid names, signed by an intermediate the server does not send",
    "rsa-512": "valid names, 512-bit RSA key",
    "rsa-1024": "valid names, 1024-bit RSA key",
    "sha1": "valid names, signed sha1WithRSAEncryption",
    "md5": "valid names, signed md5WithRSAEncryption",
}

_untrusted_ca: CA | None = None


def other_host(fqdn: str) -> str:
    """A different host in the same domain (`prov.example.test` -> `other-host.example.test`)."""
    domain = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
    return f"other-host.{domain}"


def _untrusted(ca: CA) -> CA:
    global _untrusted_ca
    if _untrusted_ca is None:
        _untrusted_ca = CA("untrusted", now=ca.now)
    return _untrusted_ca


def _self_signed(ca: CA, fqdn: str) -> Certificate:
    """An end-entity certificate signed by its own key (issuer = subject = CN FQDN)."""
    key = rsa_key("leaf-self-signed")
    name = build_name({"CN": fqdn})
    start = ca._now() - dt.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Certificate(cert, key, variant="self-signed")


def build_server_cert(ca: CA, fqdn: str, variant: str = "valid") -> Certificate:
    """The `variant` server certificate for `fqdn`, issued (or not) by `ca`."""
    if variant not in SERVER_CERT_VARIANTS:
        raise ValueError(
            f"server certificate variant {variant!r}: expected one of {list(SERVER_CERT_VARIANTS)}"
        )
    names: dict[str, object] = {"subject": {"CN": fqdn}, "san_dns": [fqdn], "variant": variant}
    now = ca._now()
    day = dt.timedelta(days=1)
    if variant == "cn-suffix":
        return ca.issue(subject={"CN": cn_suffix_form(fqdn)}, variant=variant)
    if variant == "wrong-cn":
        other = other_host(fqdn)
        return ca.issue(subject={"CN": other}, san_dns=[other], variant=variant)
    if variant == "san-only":
        return ca.issue(subject={}, san_dns=[fqdn], variant=variant)
    if variant == "san-wrong":
        return ca.issue(subject={"CN": fqdn}, san_dns=[other_host(fqdn)], variant=variant)
    if variant == "expired":
        return ca.issue(**names, not_before=now - 30 * day, not_after=now - day)  # type: ignore[arg-type]
    if variant == "not-yet-valid":
        return ca.issue(**names, not_before=now + day, not_after=now + 30 * day)  # type: ignore[arg-type]
    if variant == "self-signed":
        return _self_signed(ca, fqdn)
    if variant == "untrusted-ca":
        return _untrusted(ca).issue(**names)  # type: ignore[arg-type]
    if variant == "incomplete-chain":
        inter = ca.intermediate()
        full = inter.issue(**names)  # type: ignore[arg-type]
        return Certificate(full.cert, full.private_key, (), variant=variant, withheld=full.chain)
    if variant in ("rsa-512", "rsa-1024"):
        return ca.issue(**names, key_bits=int(variant.split("-")[1]))  # type: ignore[arg-type]
    if variant in ("sha1", "md5"):
        return ca.issue(**names, digest=variant)  # type: ignore[arg-type]
    return ca.issue(**names)  # type: ignore[arg-type]
