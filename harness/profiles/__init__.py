"""Profile tools: XML flat profiles, the plain form, gzip, AES-256-CBC (openssl enc format).

Pure byte and text transforms used by the simulated phone, the endpoints and the
`harness profile` command. No sockets and no spec judgements here; the CLI lives
in `harness.profiles.cli`.
"""

from harness.profiles.classify import BodyClass, classify_profile_body
from harness.profiles.compress import gunzip_profile, gzip_profile, is_gzip
from harness.profiles.crypto import decrypt_profile, derive_key_iv, encrypt_profile, is_encrypted
from harness.profiles.errors import ProfileError
from harness.profiles.parse import (
    Profile,
    load_profile_bytes,
    load_profile_detailed,
    parse_profile,
    parse_profile_detailed,
)
from harness.profiles.plain_profile import render_plain_profile
from harness.profiles.xml_profile import render_xml_profile

__all__ = [
    "BodyClass",
    "classify_profile_body",
    "Profile",
    "ProfileError",
    "decrypt_profile",
    "derive_key_iv",
    "encrypt_profile",
    "gunzip_profile",
    "gzip_profile",
    "is_encrypted",
    "is_gzip",
    "load_profile_bytes",
    "load_profile_detailed",
    "parse_profile",
    "parse_profile_detailed",
    "render_plain_profile",
    "render_xml_profile",
]
