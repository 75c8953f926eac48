"""Showing text that came from the network: one escaping helper for every human-readable output.

A device controls syslog text, User-Agents, URLs, file names, certificate subjects.
Printed raw, an ANSI/OSC escape sequence rewrites the operator's terminal and an
embedded newline forges a whole log line; XML 1.0 cannot even hold most control
characters. `printable()` turns every control character (C0, DEL, C1), the Unicode
line/paragraph separators and the bidirectional overrides into a visible escape
(`\\n`, `\\r`, `\\t`, `\\x1b`, `\\u202e`), so one record is one line and shows what
the device sent. Terminal output, text reports and JUnit XML use it; JSON keeps the
raw text as data (its own escaping is exact). No I/O here.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates, BOM/nonchars
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` (str() of anything) with every control character shown as an escape."""
    value = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, value)


__all__ = ["printable"]
