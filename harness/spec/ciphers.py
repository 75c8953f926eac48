"""Cipher-suite numbers: Table 3-2 of seed 000, named sets, IANA-style names.

Also what is *not* a suite in a ClientHello: signalling values (0x00ff, 0x5600)
and GREASE values (RFC 8701). Data lives in data/cipher_suites.toml.
"""

from __future__ import annotations

from functools import cache

from harness.spec._data import load_data


def _hex_keys(table: dict[str, str]) -> dict[int, str]:
    return {int(k, 16): v for k, v in table.items()}


@cache
def suite_sets() -> dict[str, frozenset[int]]:
    """Named suite sets (`table-3-2`, `mpp-11`, ...)."""
    return {name: frozenset(v) for name, v in load_data("cipher_suites")["sets"].items()}


@cache
def _names() -> dict[int, str]:
    return _hex_keys(load_data("cipher_suites")["names"])


@cache
def _signalling() -> dict[int, str]:
    return _hex_keys(load_data("cipher_suites")["signalling"])


TABLE_3_2: tuple[int, ...] = tuple(load_data("cipher_suites")["sets"]["table-3-2"])


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values: 0x?a?a with both bytes equal."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def is_signalling(value: int) -> bool:
    """True for SCSV values that a ClientHello lists among suites but are not suites."""
    return value in _signalling()


def cipher_suite_name(value: int) -> str:
    """An IANA-style name, or `0x1234` when the harness does not know the number."""
    if is_grease(value):
        return f"GREASE_0x{value:04x}"
    return _names().get(value) or _signalling().get(value) or f"0x{value:04x}"


def real_suites(values: list[int] | tuple[int, ...]) -> list[int]:
    """The offered values without signalling and GREASE entries."""
    return [v for v in values if not is_grease(v) and not is_signalling(v)]
