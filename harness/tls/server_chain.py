"""Classify a server certificate chain seen on the wire into a harness.pki variant name.

`classify_server_chain(ders, name=..., at=..., check_san=..., anchors=...)` takes the DER
certificates of a Certificate message (leaf first), the name the device meant to reach,
the capture time, whether the family checks the SAN, and optional trust anchors (the
self-signed ones are roots; others are intermediates the device is known to hold, so a
chain that needs one the server did not send is an `incomplete-chain`), and
returns a `ChainClass`: the variant (`valid`, `cn-suffix`, `wrong-cn`, `san-only`,
`san-wrong`, `expired`, `not-yet-valid`, `self-signed`, `untrusted-ca`,
`incomplete-chain`, `rsa-512`, `rsa-1024`, `sha1`, `md5`, the names of
`harness.pki.SERVER_CERT_VARIANTS`), every defect found, whether the issuer is
trusted (`True`/`False`, `None` without anchors) and a reason a person can read.

When a chain has several defects the variant is the first in `PRECEDENCE` (the
issuer first, then the name, then validity, then weak keys and digests); all are
listed in `defects`. Path validation: cryptography's X.509 verifier
(`cryptography.x509.verification.PolicyBuilder`) is asked first; it enforces the
CA/Browser Forum web profile (a SAN is mandatory, RSA keys of 2048 bits and more, no
SHA-1), so a chain it refuses is walked here signature by signature
(`Certificate.verify_directly_issued_by`) to say *why*. The CN name rule is the
spec's (`harness.spec.cert_name`: the CN holds the FQDN, `FQDN/anything` accepted),
not a browser's. Pure: no I/O, no clock (the time is an argument), no judging of a
device (which variant a phone must refuse is for harness/rules).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from harness.spec.cert_name import cn_host, cn_matches_host

# The order in which defects name the chain (the first found is the variant).
PRECEDENCE = (
    "self-signed",
    "untrusted-ca",
    "incomplete-chain",
    "wrong-cn",
    "san-wrong",
    "san-only",
    "expired",
    "not-yet-valid",
    "rsa-512",
    "rsa-1024",
    "md5",
    "sha1",
)
WEAK_DIGESTS = {"md5": "md5", "sha1": "sha1"}
MAX_CHAIN = 16


@dataclass(frozen=True)
class ChainClass:
    """The classification of one server chain (see the module docstring)."""

    variant: str | None  # None: nothing certain (no certificate, or no name to check)
    reason: str
    defects: tuple[str, ...] = ()
    trusted: bool | None = None  # None: no trust anchors were given
    name: str | None = None  # the name the chain was checked against
    name_source: str | None = None  # where that name came from


def load_anchors(pem_blobs: Sequence[bytes]) -> tuple[list[x509.Certificate], list[str]]:
    """Certificates from PEM texts (`--trust-ca` files), and a problem per unreadable blob."""
    out: list[x509.Certificate] = []
    problems: list[str] = []
    for i, blob in enumerate(pem_blobs):
        try:
            certs = x509.load_pem_x509_certificates(bytes(blob))
        except ValueError as e:
            problems.append(f"trust file {i + 1}: no PEM certificate could be read ({e})")
            continue
        out.extend(certs)
    return out, problems


def _load(der: bytes) -> x509.Certificate | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return x509.load_der_x509_certificate(bytes(der))
    except Exception:
        return None


def _cn(cert: x509.Certificate) -> str | None:
    try:
        attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except Exception:
        return None
    return str(attrs[0].value) if attrs else None


def _san(cert: x509.Certificate) -> tuple[str, ...] | None:
    """The SAN's DNS names, or None when the certificate has no SAN extension."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    except Exception:
        return ()
    return tuple(ext.value.get_values_for_type(x509.DNSName))


def _san_matches(names: tuple[str, ...], host: str) -> bool:
    host = host.rstrip(".").lower()
    for n in names:
        n = n.rstrip(".").lower()
        if n == host:
            return True
        if n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]:
            return True
    return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:
        pass
    # cryptography refuses some legacy digests (MD5, SHA-1) there: check RSA PKCS#1 v1.5 here
    try:
        key, digest = issuer.public_key(), cert.signature_hash_algorithm
        if not isinstance(key, rsa.RSAPublicKey) or digest is None:
            return False
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
    except Exception:
        return False
    return True


def _is_self_signed(cert: x509.Certificate) -> bool:
    return _signed_by(cert, cert)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _name_defect(
    leaf: x509.Certificate, name: str, check_san: bool, suffix_accepted: bool
) -> tuple[str | None, str]:
    """(defect or None for a right name, what was compared). The variant describes the
    certificate (as harness.pki names it, whatever the family); `check_san` only says in
    the text whether this family reads the SAN at all."""
    cn, san = _cn(leaf), _san(leaf)
    cn_ok = cn_matches_host(cn, name, suffix_accepted=suffix_accepted)
    shown = f"CN {cn!r}" + (f", SAN {list(san)}" if san is not None else ", no SAN")
    reads = "the family checks the SAN" if check_san else "the family does not check the SAN"
    if cn is None:
        if san and _san_matches(san, name):
            return "san-only", f"{shown}: no CN, the name is only in the SAN ({reads})"
        return "wrong-cn", shown
    if not cn_ok:
        return "wrong-cn", shown
    if san and not _san_matches(san, name):
        return "san-wrong", f"{shown}: the SAN does not name {name} ({reads})"
    return None, shown


def _path(
    chain: list[x509.Certificate], anchors: list[x509.Certificate]
) -> tuple[str | None, str, bool]:
    """(defect, what the path walk found, trusted) for `chain` (leaf first) against anchors."""
    roots = [a for a in anchors if _is_self_signed(a)]
    known_inters = [a for a in anchors if not _is_self_signed(a)]
    cert = chain[0]
    pool = chain[1:]
    seen = 0
    while seen < MAX_CHAIN:
        seen += 1
        for root in roots:
            if _signed_by(cert, root) or cert == root:
                return None, f"chains to trust anchor {root.subject.rfc4514_string()}", True
        nxt = next((c for c in pool if c is not cert and _signed_by(cert, c)), None)
        if nxt is not None:
            pool = [c for c in pool if c is not nxt]
            cert = nxt
            continue
        withheld = next((c for c in known_inters if _signed_by(cert, c)), None)
        if withheld is not None:
            _, _, trusted = _path([withheld], roots)
            if trusted:
                return (
                    "incomplete-chain",
                    f"the server did not send the intermediate {withheld.subject.rfc4514_string()}",
                    False,
                )
        issuer = cert.issuer.rfc4514_string()
        if cert is not chain[0] and _is_self_signed(cert):
            return "untrusted-ca", f"the chain ends at a root that is not trusted ({issuer})", False
        return (
            "untrusted-ca",
            f"issuer {issuer} is neither sent by the server nor a trust anchor",
            False,
        )
    return "untrusted-ca", f"the chain is longer than {MAX_CHAIN} certificates", False


def _policy_valid(
    chain: list[x509.Certificate], anchors: list[x509.Certificate], name: str, at: dt.datetime
) -> bool:
    """Whether cryptography's web-profile verifier accepts the chain for `name` at `at`."""
    try:
        from cryptography.x509 import DNSName, IPAddress
        from cryptography.x509.verification import PolicyBuilder, Store

        subject = IPAddress(ipaddress.ip_address(name)) if _is_ip(name) else DNSName(name)
        verifier = PolicyBuilder().store(Store(anchors)).time(at).build_server_verifier(subject)
        verifier.verify(chain[0], chain[1:])
    except Exception:
        return False
    return True


def classify_server_chain(
    ders: Sequence[bytes],
    *,
    name: str | None,
    at: float,
    check_san: bool = False,
    suffix_accepted: bool = True,
    anchors: Sequence[x509.Certificate] | None = None,
    name_source: str | None = None,
) -> ChainClass:
    """The variant of a captured server chain (see the module docstring)."""
    if not ders:
        return ChainClass(
            None, "no server certificate was seen", name=name, name_source=name_source
        )
    chain = [_load(d) for d in ders[:MAX_CHAIN]]
    if chain[0] is None:
        return ChainClass(None, "the server's certificate is not DER X.509", name=name)
    certs = [c for c in chain if c is not None]
    leaf = certs[0]
    when = dt.datetime.fromtimestamp(at, tz=dt.UTC)
    anchors = list(anchors or [])
    found: dict[str, str] = {}
    trusted: bool | None = None
    # the issuer
    if _is_self_signed(leaf) and not any(leaf == a for a in anchors):
        found["self-signed"] = f"issuer = subject ({leaf.subject.rfc4514_string()}), own signature"
        trusted = False if anchors else None
    elif anchors:
        roots = [a for a in anchors if _is_self_signed(a)]
        if name and roots and _policy_valid(certs, roots, name, when):
            trusted = True
        else:
            defect, what, trusted = _path(certs, anchors)
            if defect:
                found[defect] = what
    # the name
    form = ""
    by_address = bool(name) and _is_ip(name or "")
    if by_address:
        pass  # a URL by address: the certificate's name is checked through DNS (TLS-DNS-MATCH)
    elif name:
        defect, shown = _name_defect(leaf, name, check_san, suffix_accepted)
        if defect in ("san-only", "san-wrong"):
            found[defect] = shown
        elif defect:
            found[defect] = f"{shown} does not name {name}"
        cn = _cn(leaf)
        if cn and "/" in cn and cn_host(cn, suffix_accepted=suffix_accepted) == cn_host(name):
            form = "cn-suffix"
    # validity at the capture's time
    before = leaf.not_valid_before_utc
    after = leaf.not_valid_after_utc
    if when > after:
        found["expired"] = f"notAfter {after:%Y-%m-%d %H:%M} UTC is before the capture"
    elif when < before:
        found["not-yet-valid"] = f"notBefore {before:%Y-%m-%d %H:%M} UTC is after the capture"
    # key and digest
    try:
        key = leaf.public_key()
    except Exception:
        key = None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        bits = "rsa-512" if key.key_size <= 512 else "rsa-1024"
        found[bits] = f"{key.key_size}-bit RSA key"
    try:
        digest = leaf.signature_hash_algorithm
    except Exception:
        digest = None
    if digest is not None and digest.name in WEAK_DIGESTS:
        found[WEAK_DIGESTS[digest.name]] = f"signed with {digest.name}"
    defects = tuple(d for d in PRECEDENCE if d in found)
    details = "; ".join(f"{d}: {found[d]}" for d in defects)
    trust_text = {
        True: "chains to a trust anchor",
        False: "not trusted",
        None: "issuer not checked (no --trust-ca)",
    }[trusted]
    if defects:
        return ChainClass(defects[0], details, defects, trusted, name, name_source)
    if not name:
        why = "no name to check the certificate against (no Profile_Rule host, SNI or DNS)"
        return ChainClass(None, f"{why}; {trust_text}", (), trusted, None, None)
    variant = form or "valid"
    named = f"names {name}" if not by_address else f"not compared with the address {name}"
    why = f"CN {_cn(leaf)!r} {named}; valid at the capture's time; {trust_text}"
    return ChainClass(variant, why, (), trusted, name, name_source)
