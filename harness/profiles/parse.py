"""Reading a profile file: detect gzip, encryption and form, then parse.

`parse_profile` takes the bytes a server sent (after any decryption) and returns
the parameters; `load_profile_bytes` also decrypts. The form is chosen by the
content: a gzip header is inflated first, then a document whose first
non-blank character is `<` is an XML flat profile, anything else the plain
`Param "value" ;` form. Anything that is not a valid profile raises
ProfileError. No file or network access here.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from harness.profiles.compress import gunzip_profile, is_gzip
from harness.profiles.crypto import decrypt_profile, is_encrypted
from harness.profiles.errors import ProfileError
from harness.profiles.plain_profile import parse_plain_profile
from harness.profiles.xml_profile import parse_xml_profile


@dataclass(frozen=True)
class Profile:
    """A parsed profile: parameter values, user access (`na`/`ro`/`rw`), and how it came."""

    params: dict[str, str]
    access: dict[str, str] = field(default_factory=dict)
    format: str = "xml"  # "xml" or "plain"
    gzipped: bool = False
    encrypted: bool = False


def _strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def parse_profile_detailed(data: bytes) -> Profile:
    """Parse a (possibly gzip-compressed) XML or plain profile into a Profile."""
    if is_encrypted(data):
        raise ProfileError(
            "profile is AES-encrypted (starts with 'Salted__'): a key is needed "
            "(rule option --key, or `harness profile decrypt --key`)"
        )
    gzipped = is_gzip(data)
    if gzipped:
        data = gunzip_profile(data)
    if not data.strip():
        raise ProfileError(f"empty profile ({len(data)} bytes, nothing but white space)")
    body = _strip_bom(data)
    if body.lstrip()[:1] == b"<":
        params, access = parse_xml_profile(data)
        return Profile(params, access, "xml", gzipped)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"profile is neither XML nor plain text: byte {exc.start}: not UTF-8 ({exc.reason})"
        ) from None
    params, access = parse_plain_profile(text)
    return Profile(params, access, "plain", gzipped)


def parse_profile(data: bytes) -> dict[str, str]:
    """The parameters of a (possibly gzip-compressed) XML or plain profile."""
    return parse_profile_detailed(data).params


def load_profile_detailed(data: bytes, key: str | None = None, digest: str = "md5") -> Profile:
    """Decrypt (when a key is given), inflate and parse; ProfileError when any step fails.

    With a key the file must be encrypted, as a phone with `--key` expects; without one an
    encrypted file is refused (it cannot be read).
    """
    encrypted = False
    if key is not None:
        data = decrypt_profile(data, key, digest)
        encrypted = True
    profile = parse_profile_detailed(data)
    if not encrypted:
        return profile
    return Profile(profile.params, profile.access, profile.format, profile.gzipped, True)


def load_profile_bytes(data: bytes, key: str | None = None, digest: str = "md5") -> dict[str, str]:
    """The parameters of a profile file as a server sends it (see load_profile_detailed)."""
    return load_profile_detailed(data, key, digest).params
