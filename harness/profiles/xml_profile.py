"""The XML flat profile: parse and render `<flat-profile>` documents.

Parameters are the child elements of a `<flat-profile>` element, which may sit
anywhere in the document (e.g. `<device><flat-profile>`). Names are
case-sensitive and kept as written (per-line parameters carry `_1_`, `_2_`...);
unknown names are kept too: the phone itself ignores what it does not know.
The last occurrence of a name wins. The `ua` attribute (`na`, `ro`, `rw`) is
kept aside as the user access. Parsing uses expat with DTD entity declarations
refused, so no entity expansion or external fetches can happen. No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from harness.profiles.errors import ProfileError

FLAT_PROFILE = "flat-profile"
ACCESS_VALUES = ("na", "ro", "rw")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _Reader:
    """Expat callbacks collecting the parameters of every <flat-profile>."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.stack: list[str] = []
        self.params: dict[str, str] = {}
        self.access: dict[str, str] = {}
        self.seen_flat = False
        self.current: str | None = None
        self.text: list[str] = []

    def where(self) -> str:
        return f"line {self.parser.CurrentLineNumber}, column {self.parser.CurrentColumnNumber + 1}"

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == FLAT_PROFILE and self.current is None:
            self.seen_flat = True
        elif self.stack and self.stack[-1] == FLAT_PROFILE and self.current is None:
            self.current = name
            self.text = []
            ua = attrs.get("ua")
            if ua is not None:
                if ua not in ACCESS_VALUES:
                    raise ProfileError(
                        f"XML profile, {self.where()}: <{name} ua={ua!r}>: user access must be "
                        f"one of {', '.join(ACCESS_VALUES)}"
                    )
                self.access[name] = ua
        self.stack.append(name)

    def end(self, name: str) -> None:
        self.stack.pop()
        if (
            self.current is not None
            and name == self.current
            and (self.stack and self.stack[-1] == FLAT_PROFILE)
        ):
            self.params.pop(name, None)  # last occurrence wins, and keeps its place last
            self.params[name] = "".join(self.text)
            self.current = None

    def chars(self, data: str) -> None:
        if self.current is not None and len(self.stack) >= 1 and self.stack[-1] == self.current:
            self.text.append(data)

    def refuse_entity(self, name: str, *_: object) -> None:
        raise ProfileError(
            f"XML profile, {self.where()}: entity declaration {name!r} refused "
            "(profiles need no DTD; entity expansion is not allowed)"
        )


def parse_xml_profile(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(params, access) of an XML profile; ProfileError with line/column when invalid."""
    parser = expat.ParserCreate()
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.chars
    parser.EntityDeclHandler = reader.refuse_entity
    parser.ExternalEntityRefHandler = lambda *a: reader.refuse_entity(str(a[0]))  # type: ignore[assignment]
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ProfileError(
            f"XML profile not well-formed: line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}"
        ) from None
    if not reader.seen_flat:
        raise ProfileError(f"XML profile has no <{FLAT_PROFILE}> element: not a phone profile")
    return reader.params, reader.access


def render_xml_profile(params: Mapping[str, str], access: Mapping[str, str] | None = None) -> bytes:
    """A `<flat-profile>` document holding `params` (with `ua` attributes from `access`)."""
    access = access or {}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{FLAT_PROFILE}>"]
    for name, value in params.items():
        _check_name(name)
        _check_value(name, value)
        ua = access.get(name)
        attr = f" ua={quoteattr(ua)}" if ua is not None else ""
        text = escape(value, {"\r": "&#13;", "\t": "&#9;"})
        lines.append(f"  <{name}{attr}>{text}</{name}>")
    lines.append(f"</{FLAT_PROFILE}>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or name == FLAT_PROFILE or name.lower().startswith("xml"):
        raise ProfileError(f"parameter name {name!r} cannot be an XML element name")


def _check_value(name: str, value: str) -> None:
    bad = _NOT_XML_CHAR.search(value)
    if bad:
        raise ProfileError(
            f"parameter {name!r}: character {bad.group()!r} at index {bad.start()} "
            "cannot appear in an XML document"
        )
