"""Re-signing a certificate with a hash `cryptography` refuses (MD5, SHA-1).

The certificate is first built by `cryptography` with SHA-256; here its
TBSCertificate gets the legacy algorithm's OID (same length, so a byte swap)
and a new PKCS#1 v1.5 signature, and the outer DER is put together again.
Pure byte work: no files, no subprocesses.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# DER of the AlgorithmIdentifier OIDs (1.2.840.113549.1.1.x), tag and length included.
_RSA_OID_PREFIX = bytes.fromhex("06092a864886f70d0101")
_SHA256_RSA = _RSA_OID_PREFIX + b"\x0b"
_LEGACY: dict[str, tuple[bytes, hashes.HashAlgorithm]] = {
    "md5": (_RSA_OID_PREFIX + b"\x04", hashes.MD5()),
    "sha1": (_RSA_OID_PREFIX + b"\x05", hashes.SHA1()),
}


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(value)) + value


def resign_legacy(
    cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, digest: str
) -> x509.Certificate:
    """`cert` (signed sha256WithRSAEncryption) signed again with `digest` ('md5' or 'sha1')."""
    if digest not in _LEGACY:
        raise ValueError(f"legacy digest {digest!r}: expected one of {sorted(_LEGACY)}")
    oid, algorithm = _LEGACY[digest]
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("the certificate to re-sign must be signed with sha256WithRSAEncryption")
    tbs = tbs.replace(_SHA256_RSA, oid)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), algorithm)
    alg_id = _tlv(0x30, oid + b"\x05\x00")
    der = _tlv(0x30, tbs + alg_id + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)
