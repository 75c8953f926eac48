"""AES-256-CBC profile encryption in the OpenSSL `enc` file format.

`openssl enc -aes-256-cbc -k PASS` writes `Salted__`, an 8-byte salt, then the
CBC ciphertext with PKCS#7 padding; key and IV come from EVP_BytesToKey with one
iteration of MD5 (OpenSSL 0.9.7 to 1.0.x, `-md md5`) or SHA-256 (1.1.0 and
later, `-md sha256`). Pure byte transforms only: no files, no subprocesses.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness.profiles.errors import ProfileError

MAGIC = b"Salted__"
SALT_LEN = 8
KEY_LEN = 32
IV_LEN = 16
BLOCK = 16
DIGESTS = ("md5", "sha256")


def is_encrypted(data: bytes) -> bool:
    """True when `data` starts with the OpenSSL `Salted__` header."""
    return data[: len(MAGIC)] == MAGIC


def derive_key_iv(passphrase: str, salt: bytes, digest: str = "md5") -> tuple[bytes, bytes]:
    """EVP_BytesToKey(digest, salt, passphrase, count=1) -> (32-byte key, 16-byte IV)."""
    if digest not in DIGESTS:
        raise ValueError(f"unknown key-derivation digest {digest!r} (known: {', '.join(DIGESTS)})")
    secret = passphrase.encode("utf-8")
    out = b""
    block = b""
    while len(out) < KEY_LEN + IV_LEN:
        block = hashlib.new(digest, block + secret + salt).digest()
        out += block
    return out[:KEY_LEN], out[KEY_LEN : KEY_LEN + IV_LEN]


def encrypt_profile(data: bytes, key: str, digest: str = "md5", salt: bytes | None = None) -> bytes:
    """Encrypt as `openssl enc -e -aes-256-cbc -md DIGEST -k KEY` does (random salt by default)."""
    if salt is None:
        salt = os.urandom(SALT_LEN)
    if len(salt) != SALT_LEN:
        raise ValueError(f"salt must be {SALT_LEN} bytes, got {len(salt)}")
    k, iv = derive_key_iv(key, salt, digest)
    padder = padding.PKCS7(BLOCK * 8).padder()
    plain = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(k), modes.CBC(iv)).encryptor()
    return MAGIC + salt + enc.update(plain) + enc.finalize()


def decrypt_profile(data: bytes, key: str, digest: str = "md5") -> bytes:
    """Decrypt an `openssl enc -aes-256-cbc` file; ProfileError on bad header, size or padding.

    A wrong key shows as bad padding (in about 1 case in 256 the padding looks valid by
    chance and garbage comes back; the profile parser then rejects it).
    """
    if not is_encrypted(data):
        raise ProfileError(
            f"not an encrypted profile: byte 0: expected the OpenSSL header {MAGIC!r}, "
            f"found {data[:8]!r}"
        )
    body = data[len(MAGIC) + SALT_LEN :]
    if len(data) < len(MAGIC) + SALT_LEN:
        raise ProfileError(f"encrypted profile truncated: {len(data)} bytes, no complete salt")
    if not body or len(body) % BLOCK:
        raise ProfileError(
            f"encrypted profile damaged: byte {len(MAGIC) + SALT_LEN}: ciphertext of "
            f"{len(body)} bytes is not a positive multiple of {BLOCK} (truncated or not AES-CBC)"
        )
    k, iv = derive_key_iv(key, data[len(MAGIC) : len(MAGIC) + SALT_LEN], digest)
    dec = Cipher(algorithms.AES(k), modes.CBC(iv)).decryptor()
    plain = dec.update(body) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise ProfileError(
            f"cannot decrypt profile: bad padding in the last block (byte {len(data) - BLOCK}): "
            f"wrong key, or wrong key derivation (tried {digest}; the other is "
            f"{'sha256' if digest == 'md5' else 'md5'})"
        )
    return plain[:-pad]
