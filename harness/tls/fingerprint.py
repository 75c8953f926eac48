"""ClientHello fingerprints: JA3 (string and MD5) and JA4 (the `ja4` TLS client fingerprint).

JA3 (salesforce/ja3): `version,ciphers,extensions,groups,point_formats`, decimal values
joined by `-`, GREASE values removed. JA4 (FoxIO, BSD-3-Clause; only the TLS client
fingerprint, none of the JA4+ family): `t<ver><d|i><nn ciphers><nn extensions><alpn>_<b>_<c>`.
Pure functions over already-parsed values: no parsing, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from harness.tls.tables import EXT_ALPN, EXT_SERVER_NAME, GREASE_VALUES, JA4_VERSION_CODES

_EMPTY_HASH = "000000000000"


def _no_grease(values: Sequence[int]) -> list[int]:
    return [v for v in values if v not in GREASE_VALUES]


def ja3_string(
    version: int,
    cipher_suites: Sequence[int],
    extensions: Sequence[int],
    supported_groups: Sequence[int],
    ec_point_formats: Sequence[int],
) -> str:
    """The JA3 full string, e.g. `771,49195-49199,0-11-10,29-23,0`."""
    parts = (cipher_suites, extensions, supported_groups)
    fields = [str(version)] + ["-".join(map(str, _no_grease(p))) for p in parts]
    fields.append("-".join(map(str, ec_point_formats)))
    return ",".join(fields)


def ja3_hash(ja3: str) -> str:
    return hashlib.md5(ja3.encode("ascii"), usedforsecurity=False).hexdigest()


def _ja4_alpn(alpn: Sequence[str]) -> str:
    if not alpn or not alpn[0]:
        return "00"
    first = alpn[0]
    a, z = first[0], first[-1]
    if a.isascii() and a.isalnum() and z.isascii() and z.isalnum():
        return a + z
    raw = first.encode("latin-1", "replace").hex()
    return raw[0] + raw[-1]


def _sha12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def ja4(
    *,
    legacy_version: int,
    supported_versions: Sequence[int],
    cipher_suites: Sequence[int],
    extensions: Sequence[int],
    signature_algorithms: Sequence[int],
    alpn: Sequence[str],
    transport: str = "t",
) -> str:
    """The JA4 TLS client fingerprint (`transport` is `t` for TCP, `q` QUIC, `d` DTLS)."""
    versions = _no_grease(supported_versions)
    version = max(versions) if versions else legacy_version
    ver = JA4_VERSION_CODES.get(version, "00")
    exts = _no_grease(extensions)
    sni = "d" if EXT_SERVER_NAME in exts else "i"
    ciphers = _no_grease(cipher_suites)
    part_a = f"{transport}{ver}{sni}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}"
    part_a += _ja4_alpn(alpn)
    part_b = _sha12(",".join(f"{c:04x}" for c in sorted(ciphers))) if ciphers else _EMPTY_HASH
    hashed_exts = sorted(e for e in exts if e not in (EXT_SERVER_NAME, EXT_ALPN))
    sigalgs = _no_grease(signature_algorithms)
    if not hashed_exts and not sigalgs:
        part_c = _EMPTY_HASH
    else:
        text = ",".join(f"{e:04x}" for e in hashed_exts)
        if sigalgs:
            text += "_" + ",".join(f"{s:04x}" for s in sigalgs)
        part_c = _sha12(text)
    return f"{part_a}_{part_b}_{part_c}"
