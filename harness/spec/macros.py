"""Macro expansion of the provisioning spec (`$NAME`, `$(NAME)`, `$(NAME:p:q)`, `$$`).

Expansion is not recursive and an unknown name stays as written. Used by the
simulated phone (profile rules, syslog templates) and by the syslog rules (to
compute the message a device should have sent). Pure functions only.
`template_regex` keeps its compiled patterns in a bounded cache keyed by the template
and the macro values (rules ask for the same few patterns for every device).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

_TOKEN = re.compile(
    r"\$\$"  # a literal dollar
    r"|\$\((?P<pname>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<p>\d+)(?::(?P<q>\d+))?)?\)"  # $(NAME:p:q)
    r"|\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)"  # $NAME
)


def _lookup(values: Mapping[str, str], name: str) -> str | None:
    """Longest known prefix wins for bare `$NAME` followed by letters ($MAU vs $MA)."""
    return values.get(name)


def expand(template: str, values: Mapping[str, str]) -> str:
    """Expand the macros of `template` with `values` (name -> text)."""

    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "$$":
            return "$"
        if m.group("pname"):
            value = _lookup(values, m.group("pname"))
            if value is None:
                return whole
            p, q = m.group("p"), m.group("q")
            if p is not None:
                start = int(p)
                value = value[start : start + int(q)] if q is not None else value[start:]
            return value
        name = m.group("name")
        # `$MAC` vs `$MA`+`C`: take the longest known name that prefixes the token.
        for end in range(len(name), 0, -1):
            value = _lookup(values, name[:end])
            if value is not None:
                return value + name[end:]
        return whole

    return _TOKEN.sub(repl, template)


def template_regex(template: str, values: Mapping[str, str]) -> re.Pattern[str]:
    """A pattern matching what `template` expands to: known macros literal, unknown ones any text.

    Used to recognise a device's syslog message when some macro values (like
    `$ERR`) are not known to the observer. Compiled patterns are cached.
    """
    return _template_regex(template, tuple(sorted(values.items())))


@lru_cache(maxsize=4096)
def _template_regex(template: str, items: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    values = dict(items)
    parts: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        parts.append(re.escape(template[pos : m.start()]))
        pos = m.end()
        whole = m.group(0)
        if whole == "$$":
            parts.append(re.escape("$"))
            continue
        name = m.group("pname") or m.group("name")
        known = expand(whole, values)
        parts.append(".*?" if known == whole and name not in values else re.escape(known))
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts), re.S)


def unexpanded_macros(text: str) -> list[str]:
    """Macro tokens left in a text that should have been expanded (`$PN`, `$(MAC)`)."""
    return [m.group(0) for m in _TOKEN.finditer(text) if m.group(0) != "$$"]


_SERIES = re.compile(r"\d[0-9A-Za-z]*")


def product_series_number(product: str) -> str:
    """`$PSN`: the series part of a product name (`SPA525G` -> `525G`, `CP-8831-3PCC` -> `8831`)."""
    m = _SERIES.search(product)
    return m.group() if m else product
