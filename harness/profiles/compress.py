"""gzip for profiles: detect by the file header, compress, decompress (bounded).

Profiles are compressed before they are encrypted (`gzip -c f | openssl enc ...`),
so after decryption a gzip header may appear. Pure byte transforms only.
"""

from __future__ import annotations

import gzip
import zlib

from harness.profiles.errors import ProfileError

GZIP_MAGIC = b"\x1f\x8b"
# A profile is a few kilobytes; refuse to inflate a "gzip bomb" past this.
MAX_PROFILE_BYTES = 16 * 1024 * 1024


def is_gzip(data: bytes) -> bool:
    """True when `data` starts with the gzip magic number 1f 8b."""
    return data[:2] == GZIP_MAGIC


def gzip_profile(data: bytes) -> bytes:
    """Compress `data` as a gzip file (what `gzip -c` writes, mtime 0)."""
    return gzip.compress(data, mtime=0)


def gunzip_profile(data: bytes, limit: int = MAX_PROFILE_BYTES) -> bytes:
    """Decompress a gzip file (all members); ProfileError when damaged or over `limit` bytes."""
    if not is_gzip(data):
        raise ProfileError(f"not a gzip file: byte 0: expected 1f 8b, found {data[:2].hex(' ')}")
    out = bytearray()
    rest = data
    offset = 0
    while rest:
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise ProfileError(f"gzip stream damaged after byte {offset}: {exc}") from None
        if len(out) > limit:
            raise ProfileError(f"gzip profile inflates past {limit} bytes: refused")
        if d.unconsumed_tail:
            raise ProfileError(f"gzip profile inflates past {limit} bytes: refused")
        if not d.eof:
            raise ProfileError(f"gzip stream truncated: {len(data)} bytes, no end of stream")
        offset += len(rest) - len(d.unused_data)
        rest = d.unused_data
        if rest and not is_gzip(rest):
            # trailing garbage after a member: gzip(1) warns and ignores it
            if rest.strip(b"\x00"):
                raise ProfileError(f"gzip profile has trailing garbage at byte {offset}")
            break
    return bytes(out)
