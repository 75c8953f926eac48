"""The User-Agent grammar of each family: parse a UA string, or format one.

Pure functions over `Family.ua_pattern` / `Family.ua_format`; the formats
themselves are data in the family files.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.spec.family import Family


@dataclass(frozen=True, slots=True)
class UserAgent:
    maker: str | None
    product: str | None
    firmware: str | None
    serial: str | None
    mac: str | None


def parse_user_agent(family: Family, text: str | None) -> UserAgent | None:
    """The parts of a UA in the family's format, or None when it does not match."""
    if not text:
        return None
    m = family.ua_pattern.match(text.strip())
    if m is None:
        return None
    g = m.groupdict()
    return UserAgent(
        maker=g.get("maker"),
        product=g.get("product"),
        firmware=g.get("firmware"),
        serial=g.get("serial"),
        mac=(g.get("mac") or "").lower() or None,
    )


def format_user_agent(family: Family, *, product: str, serial: str, mac: str, firmware: str) -> str:
    """The UA a spec-following device of this family sends."""
    return family.ua_format.format(
        maker=family.maker,
        product=product,
        serial=serial,
        mac=mac.lower().replace(":", ""),
        mac_upper=mac.upper().replace(":", ""),
        firmware=firmware,
    )


def identify_user_agent(text: str | None) -> tuple[str | None, UserAgent | None]:
    """Try every shipped family's grammar: (family name, parts) of the first match."""
    from harness.spec.family import family_names, load_family

    if not text:
        return None, None
    for name in family_names():
        parsed = parse_user_agent(load_family(name), text)
        if parsed is not None:
            return name, parsed
    return None, None
