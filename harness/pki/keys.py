"""Private keys for the test PKI: generated once per process and cached by label.

RSA generation is the slow part of a test PKI, so every key is made once per
(label, bits) and reused. Keys below cryptography's 1024-bit floor (the
`rsa-512` variant) are built here from primes we generate ourselves.
No certificates and no files here.
"""

from __future__ import annotations

import random
import threading

from cryptography.hazmat.primitives.asymmetric import rsa

_MIN_LIBRARY_BITS = 1024
_lock = threading.Lock()
_cache: dict[tuple[str, int], rsa.RSAPrivateKey] = {}
_rng = random.SystemRandom()


def rsa_key(label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The process's RSA key for `label` of `bits` bits (made on first use)."""
    with _lock:
        key = _cache.get((label, bits))
        if key is None:
            key = _generate(bits)
            _cache[(label, bits)] = key
        return key


def _generate(bits: int) -> rsa.RSAPrivateKey:
    if bits >= _MIN_LIBRARY_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if bits < 128 or bits % 2:
        raise ValueError(f"RSA key size {bits}: use an even size of at least 128 bits")
    return _weak_rsa_key(bits)


def _is_probable_prime(n: int, rounds: int = 32) -> bool:
    if n < 4:
        return n in (2, 3)
    for small in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(_rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, e: int) -> int:
    while True:
        n = _rng.getrandbits(bits) | (0b11 << (bits - 2)) | 1
        if (n - 1) % e and _is_probable_prime(n):
            return n


def _weak_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    """An RSA key smaller than the library will generate (for weak-key test variants)."""
    e = 65537
    while True:
        p, q = _prime(bits // 2, e), _prime(bits // 2, e)
        if p != q and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()
