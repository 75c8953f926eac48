"""One DER certificate -> `harness.observe.events.TlsCertificate` (Zeek x509.log style).

Uses `cryptography` for the X.509 parsing. Also the subject as an attribute dict
(`{"CN": ..., "OU": ..., "L": ..., "ST": ...}`) for client-certificate checks.
No verification (trust, names, dates) here: that is the rules' job. No I/O.

Both results are cached by the certificate's bytes (a capture shows the same
server certificate in thousands of handshakes; parsing it costs ~0.2 ms each).
The caches are bounded (`CACHE_SIZE` entries, emptied when full).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from harness.observe.events import TlsCertificate

CACHE_SIZE = 256

_summaries: dict[bytes, TlsCertificate | str] = {}  # der -> summary, or the error message
_subjects: dict[bytes, dict[str, str] | str] = {}


class CertificateSummaryError(ValueError):
    """The bytes are not a DER X.509 certificate `cryptography` can read."""


def _remember(cache: dict, der: bytes, value: object) -> None:
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[der] = value


def _key_info(cert: x509.Certificate) -> tuple[str | None, int | None]:
    try:
        key = cert.public_key()
    except Exception:  # unsupported key algorithm: still summarise the rest
        return None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456
    return type(key).__name__, None


def _signature_algorithm(cert: x509.Certificate) -> str | None:
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", None)
    return name if name and name != "Unknown OID" else oid.dotted_string


def _san_dns(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(ext.value.get_values_for_type(x509.DNSName))


def _validity(cert: x509.Certificate) -> tuple[float, float]:
    before = getattr(cert, "not_valid_before_utc", None)
    after = getattr(cert, "not_valid_after_utc", None)
    if before is None or after is None:  # cryptography < 42
        import datetime as _dt

        before = cert.not_valid_before.replace(tzinfo=_dt.UTC)
        after = cert.not_valid_after.replace(tzinfo=_dt.UTC)
    return before.timestamp(), after.timestamp()


def _load(der: bytes) -> x509.Certificate:
    try:
        with warnings.catch_warnings():  # malformed-but-loadable certs warn; not our output
            warnings.simplefilter("ignore")
            return x509.load_der_x509_certificate(bytes(der))
    except Exception as e:  # cryptography raises ValueError and friends
        raise CertificateSummaryError(f"not a DER X.509 certificate ({e})") from e


def _cached(cache: dict, der: bytes, compute: Callable[[bytes], Any]) -> Any:
    """`compute(der)` through `cache`, failures (their message) cached too."""
    key = bytes(der)
    got = cache.get(key)
    if got is None:
        try:
            got = compute(key)
        except CertificateSummaryError as e:
            got = str(e)
        _remember(cache, key, got)
    if type(got) is str:
        raise CertificateSummaryError(got)
    return got


def summarize_certificate(der: bytes) -> TlsCertificate:
    """Subject/issuer (RFC 4514), CN, SAN DNS names, validity (epoch), key, signature, sha256."""
    return _cached(_summaries, der, _summarize)  # type: ignore[return-value]


def _summarize(der: bytes) -> TlsCertificate:
    cert = _load(der)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _summary(cert, der)
    except CertificateSummaryError:
        raise
    except Exception as e:  # malformed inner fields surface lazily in cryptography
        raise CertificateSummaryError(f"unreadable certificate field ({e})") from e


def _summary(cert: x509.Certificate, der: bytes) -> TlsCertificate:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = cns[0].value if cns else None
    key_type, key_bits = _key_info(cert)
    not_before, not_after = _validity(cert)
    return TlsCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        subject_cn=cn if isinstance(cn, str) else None,
        san_dns=_san_dns(cert),
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=_signature_algorithm(cert),
        sha256=hashlib.sha256(der).hexdigest(),
    )


def subject_attributes(der: bytes) -> dict[str, str]:
    """The subject as {short name: value} (RFC 4514 names: CN, OU, O, L, ST, C...);
    a repeated attribute keeps its first value."""
    return dict(_cached(_subjects, der, _subject_attributes))  # type: ignore[arg-type]


def _subject_attributes(der: bytes) -> dict[str, str]:
    cert = _load(der)
    out: dict[str, str] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for attr in cert.subject:
                value = attr.value if isinstance(attr.value, str) else attr.value.hex()
                out.setdefault(attr.rfc4514_attribute_name, value)
    except Exception as e:
        raise CertificateSummaryError(f"unreadable subject ({e})") from e
    return out
