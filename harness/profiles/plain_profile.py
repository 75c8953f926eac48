"""The plain-text profile form: `Param_Name [?|!] ["value"] ;` statements.

Grammar (SPA provisioning guide, profile compiler source form):
- `#` starts a comment up to the end of the line (outside quotes); blank lines are free.
- a statement is a name, an optional access mark (`!` user read-write, `?` read-only,
  none: not user-accessible), an optional double-quoted value, and `;`.
  `Name ! ;` changes the access only and leaves the value alone.
- the bracketed index form `Line_Enable[1]` is the XML name `Line_Enable_1_`.
- inside a value, `\\"` is a quote and `\\\\` a backslash; any other backslash is literal;
  values may span lines.
- the last occurrence of a name wins.
Pure text transforms only; no file access here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from harness.profiles.errors import ProfileError

_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
_SPACE = re.compile(r"(?:\s+|#[^\n]*)+")
_MARKS = {"!": "rw", "?": "ro"}
_MARK_OF = {"rw": "!", "ro": "?", "na": ""}


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def parse_plain_profile(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(params, access) of a plain-form profile; ProfileError with line/column when invalid."""
    params: dict[str, str] = {}
    access: dict[str, str] = {}
    pos = 0
    n = len(text)
    statements = 0

    def fail(at: int, why: str) -> ProfileError:
        return ProfileError(f"plain profile, {_where(text, at)}: {why}")

    def skip(p: int) -> int:
        m = _SPACE.match(text, p)
        return m.end() if m else p

    pos = skip(pos)
    while pos < n:
        m = _NAME.match(text, pos)
        if not m:
            raise fail(pos, f"expected a parameter name, found {text[pos : pos + 10]!r}")
        name = m.group(1) if m.group(2) is None else f"{m.group(1)}_{int(m.group(2))}_"
        pos = skip(m.end())
        mark = "na"
        if pos < n and text[pos] in _MARKS:
            mark = _MARKS[text[pos]]
            pos = skip(pos + 1)
        value: str | None = None
        if pos < n and text[pos] == '"':
            value, pos = _read_quoted(text, pos, fail)
            pos = skip(pos)
        if pos >= n or text[pos] != ";":
            found = repr(text[pos : pos + 10]) if pos < n else "the end of the file"
            raise fail(pos, f"{name}: expected ';' after the value, found {found}")
        pos = skip(pos + 1)
        statements += 1
        access[name] = mark
        if value is not None:
            params.pop(name, None)
            params[name] = value
    if not statements:
        raise ProfileError("plain profile holds no parameter statements (empty or comments only)")
    return params, access


def _read_quoted(text: str, start: int, fail) -> tuple[str, int]:  # noqa: ANN001
    out: list[str] = []
    pos = start + 1
    n = len(text)
    while pos < n:
        c = text[pos]
        if c == '"':
            return "".join(out), pos + 1
        if c == "\\" and pos + 1 < n and text[pos + 1] in '"\\':
            out.append(text[pos + 1])
            pos += 2
            continue
        out.append(c)
        pos += 1
    raise fail(start, "quoted value never closed (missing '\"')")


def quote_plain_value(value: str) -> str:
    """`value` as a plain-form quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_plain_profile(
    params: Mapping[str, str], access: Mapping[str, str] | None = None
) -> bytes:
    """A plain-form profile of `params`; access marks from `access` (default: none)."""
    access = access or {}
    lines = ["# profile written by harness"]
    for name, value in params.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ProfileError(f"parameter name {name!r} cannot be written in the plain form")
        mark = _MARK_OF.get(access.get(name, "na"), "")
        lines.append(f"{name}{' ' + mark if mark else ''} {quote_plain_value(value)} ;")
    return ("\n".join(lines) + "\n").encode("utf-8")
