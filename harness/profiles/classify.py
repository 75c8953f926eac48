"""What a served body is, as a provisioning client would see it: `classify_profile_body`.

One shared function for every source of `HttpExchange` response facts (the live
HTTP endpoint knows the body it sent; the pcap analyzer reassembles it), so a
rule reads the same `response_content_kind` / `profile_valid` /
`response_body_sha256` whether it judges a live run or a capture. Pure byte
inspection: no sockets, no files, no spec judgement (a rule decides what an
invalid profile means).
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass

from harness.profiles.compress import is_gzip
from harness.profiles.crypto import DIGESTS, decrypt_profile, is_encrypted
from harness.profiles.errors import ProfileError
from harness.profiles.parse import parse_profile_detailed

# The values of `content_kind` (and of HttpExchange.response_content_kind).
CONTENT_KINDS = ("xml-profile", "plain-profile", "gzip", "aes-openssl", "other")
PROFILE_KINDS = frozenset(CONTENT_KINDS) - {"other"}


@dataclass(frozen=True, slots=True)
class BodyClass:
    """A body summarised: its kind, whether a client can read it as a profile, its digest.

    `valid` and `gzipped` are None when unknown (an encrypted body without its key, or a
    body known only in part); `sha256` is None when only part of the body was seen.
    """

    content_kind: str
    valid: bool | None
    sha256: str | None
    gzipped: bool | None = None  # the profile inside (after decryption) was gzip-compressed
    problem: str = ""  # why it is not a valid profile (the parser's message)


def _kind_of_clear(data: bytes) -> str:
    if is_gzip(data):
        return "gzip"
    head = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    if head.lstrip()[:1] == b"<":
        return "xml-profile"
    return "plain-profile"


def _read(data: bytes) -> tuple[bool, str]:
    try:
        parse_profile_detailed(data)
    except ProfileError as exc:
        return False, str(exc)
    return True, ""


def classify_profile_body(
    body: bytes, key: str | None = None, digest: str | None = None, *, complete: bool = True
) -> BodyClass:
    """Classify `body` (the bytes a server sent, transfer coding removed).

    An AES body (`Salted__`) is decrypted with `key` under `digest` (`md5` or `sha256`;
    None tries each, for a capture whose device family is not known here); without a key
    its validity is unknown. `complete=False` (only the start of the body was seen)
    gives the kind only.
    """
    sha = hashlib.sha256(body).hexdigest() if complete else None
    if is_encrypted(body):
        if key is None or not complete:
            return BodyClass("aes-openssl", None, sha)
        problem = ""
        for d in (digest,) if digest else DIGESTS:
            try:
                inner = decrypt_profile(body, key, d)
            except ProfileError as exc:
                problem = str(exc)
                continue
            ok, why = _read(inner)
            if ok:
                return BodyClass("aes-openssl", True, sha, is_gzip(inner))
            problem = why
        return BodyClass("aes-openssl", False, sha, None, problem)
    kind = _kind_of_clear(body)
    if not complete:
        return BodyClass(kind if kind != "plain-profile" else "other", None, None)
    ok, why = _read(body)
    if kind == "plain-profile" and not ok:
        kind = "other"
    return BodyClass(kind, ok, sha, kind == "gzip", why)
