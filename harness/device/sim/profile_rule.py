"""The Profile_Rule / Upgrade_Rule grammar: parse, render, select, evaluate conditions.

A rule is a list of alternatives separated by `|`:

    [ (condition)? ] [ (Param = "value" ; ...)! ] [ [options] URL ]

- URL: `[scheme://][server[:port]]/absolute/path[?query]`; no scheme = TFTP; no
  server = the TFTP server from DHCP option 66; default ports from the spec data.
- options in square brackets before the URL, combinable and repeatable:
  `[--key K]`, `[--uid U --pwd P]`, `[--post x]`, `[--alias x]`; an argument is a
  bare token or a double-quoted string.
- conditions: comparisons joined by `and`, parentheses for grouping; operators
  `eq ne lt le gt ge` or `= != < <= > >=` (also `==`); operands are bare tokens
  (`$SWVER`, `7.4.4`, `$(MA:0:6)`) or double-quoted strings (`\\"` and `\\\\` escape).
- assignments: `Name = "value" ;` (the last `;` may be left out); the short names
  `a`..`p` stand for `GPP_A`..`GPP_P`; `Name[1]` is `Name_1_`.
- `#` outside quotes starts a comment that runs to the end of the rule.
- every alternative but the last has a condition.

Macros are NOT expanded by the parser: conditions are evaluated against macro values
(`evaluate_condition`), URLs are expanded on use (`resolve_url`). Operands compare as
integers when both are integers, as firmware versions (piecewise: `7.4.10` > `7.4.4`,
`11-0-1MPP` > `11-0-1`) when both look like versions, else as strings.
Upgrade_Rule (`parse_upgrade_rule`) takes no options and must name its server.
Pure functions only: no sockets, no clock, no parameter storage here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Union

from harness.spec._data import load_data
from harness.spec.macros import expand

_SPEC = load_data("profile_rule")
DEFAULT_PORTS: dict[str, int] = dict(_SPEC["schemes"])
DEFAULT_SCHEME: str = _SPEC["url"]["default_scheme"]
OPTION_NAMES: tuple[str, ...] = tuple(_SPEC["options"])
_GPP_LETTERS: str = _SPEC["gpp"]["letters"]
_GPP_PREFIX: str = _SPEC["gpp"]["prefix"]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge")
_SYMBOL_OPS = {"==": "eq", "=": "eq", "!=": "ne", "<=": "le", ">=": "ge", "<": "lt", ">": "gt"}


class RuleSyntaxError(ValueError):
    """A rule does not parse; `column` (1-based) says where it broke."""

    def __init__(self, why: str, column: int, text: str = "") -> None:
        self.why = why
        self.column = column
        self.text = text
        super().__init__(f"column {column}: {why}" + (f" (in {text!r})" if text else ""))


# ── data ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Operand:
    """One side of a comparison: raw text (macros unexpanded) and whether it was quoted."""

    text: str
    quoted: bool = False

    def render(self) -> str:
        return _quote(self.text) if self.quoted else self.text


@dataclass(frozen=True)
class Comparison:
    left: Operand
    op: str  # one of OPERATORS
    right: Operand

    def render(self) -> str:
        return f"{self.left.render()} {self.op} {self.right.render()}"


@dataclass(frozen=True)
class Conjunction:
    """Two or more conditions that must all hold (`and`)."""

    terms: tuple[Condition, ...]

    def render(self) -> str:
        return " and ".join(
            f"( {t.render()} )" if isinstance(t, Conjunction) else t.render() for t in self.terms
        )


Condition = Union[Comparison, Conjunction]  # noqa: UP007 (a runtime alias used in isinstance)


@dataclass(frozen=True)
class RuleOptions:
    key: str | None = None
    uid: str | None = None
    pwd: str | None = None
    post: str | None = None  # a GPP letter, lower case: the body is the expanded GPP_x
    alias: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, n) is None for n in ("key", "uid", "pwd", "post", "alias"))

    def render(self) -> str:
        parts = []
        for name in ("key", "uid", "pwd", "post", "alias"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"--{name} {_render_arg(value)}")
        return f"[{' '.join(parts)}]" if parts else ""


@dataclass(frozen=True)
class RuleUrl:
    scheme: str  # "tftp" | "http" | "https"
    host: str | None  # None: the TFTP server from DHCP option 66
    port: int
    path: str
    query: str = ""

    @property
    def default_port(self) -> int:
        return DEFAULT_PORTS[self.scheme]

    @property
    def uses_dhcp_server(self) -> bool:
        return self.host is None

    @property
    def target(self) -> str:
        """The request target: path plus query."""
        return self.path + (f"?{self.query}" if self.query else "")

    def render(self) -> str:
        if self.host is None:
            return self.target
        port = f":{self.port}" if self.port != self.default_port else ""
        return f"{self.scheme}://{self.host}{port}{self.target}"

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Alternative:
    condition: Condition | None = None
    assignments: tuple[tuple[str, str], ...] = ()
    options: RuleOptions = field(default_factory=RuleOptions)
    url: RuleUrl | None = None  # None: an assignments-only alternative

    def render(self) -> str:
        parts = []
        if self.condition is not None:
            parts.append(f"( {self.condition.render()} )?")
        if self.assignments:
            body = " ".join(f"{n} = {_quote(v)} ;" for n, v in self.assignments)
            parts.append(f"( {body} )!")
        if not self.options.is_empty():
            parts.append(self.options.render())
        if self.url is not None:
            parts.append(self.url.render())
        return " ".join(parts)


def render_profile_rule(alternatives: Sequence[Alternative]) -> str:
    """The rule text of `alternatives` (parses back to equal objects)."""
    return " | ".join(a.render() for a in alternatives)


# ── small helpers ───────────────────────────────────────────────────────────────


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_BARE_ARG = re.compile(r'[^\s\[\]"#|]+')


def _render_arg(value: str) -> str:
    if _BARE_ARG.fullmatch(value) and not value.startswith("--"):
        return value
    return _quote(value)


def _strip_comment(text: str) -> str:
    """The rule up to the first `#` outside double quotes."""
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text):
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            return text[:i]
        i += 1
    return text


class _Scanner:
    """Position-tracking reader over one rule's text (columns are 1-based in errors)."""

    def __init__(self, text: str) -> None:
        self.full = text
        self.text = _strip_comment(text)
        self.pos = 0

    def error(self, why: str, pos: int | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(why, (self.pos if pos is None else pos) + 1, self.full)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def quoted(self) -> str:
        """Read a double-quoted string at pos (the opening quote included)."""
        start = self.pos
        out: list[str] = []
        i = self.pos + 1
        while i < len(self.text):
            c = self.text[i]
            if c == "\\" and i + 1 < len(self.text) and self.text[i + 1] in '"\\':
                out.append(self.text[i + 1])
                i += 2
                continue
            if c == '"':
                self.pos = i + 1
                return "".join(out)
            out.append(c)
            i += 1
        raise self.error("quoted string never closed (missing '\"')", start)

    def matching_paren(self) -> int:
        """Index of the `)` closing the `(` at pos (quotes and nesting respected)."""
        depth = 0
        i = self.pos
        while i < len(self.text):
            c = self.text[i]
            if c == '"':
                saved = self.pos
                self.pos = i
                self.quoted()
                i, self.pos = self.pos, saved
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise self.error("'(' never closed", self.pos)


# ── conditions ──────────────────────────────────────────────────────────────────

_OP_CHARS = "<>=!"
_WORD_STOP = set('()"|?') | set(_OP_CHARS)


def _tokens(sc: _Scanner, start: int, end: int) -> list[tuple[str, str, int]]:
    """(kind, value, pos) tokens of a condition body: LP RP STR WORD OP."""
    out: list[tuple[str, str, int]] = []
    text = sc.text
    i = start
    while i < end:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            out.append(("LP", c, i))
            i += 1
        elif c == ")":
            out.append(("RP", c, i))
            i += 1
        elif c == '"':
            sc.pos = i
            value = sc.quoted()
            out.append(("STR", value, i))
            i = sc.pos
        elif c in _OP_CHARS:
            two = text[i : i + 2]
            sym = two if two in _SYMBOL_OPS else c
            if sym not in _SYMBOL_OPS:
                raise sc.error(f"unknown operator {sym!r}", i)
            out.append(("OP", _SYMBOL_OPS[sym], i))
            i += len(sym)
        else:
            j = i
            while j < end and not text[j].isspace() and text[j] not in _WORD_STOP:
                if text.startswith("$(", j):
                    close = text.find(")", j)
                    if close < 0 or close >= end:
                        raise sc.error("macro '$(' never closed", j)
                    j = close + 1
                else:
                    j += 1
            if j == i:
                raise sc.error(f"unexpected {c!r} in condition", i)
            word = text[i:j]
            out.append(("OP", word, i) if word in OPERATORS else ("WORD", word, i))
            i = j
    return out


class _CondParser:
    def __init__(self, sc: _Scanner, tokens: list[tuple[str, str, int]], end: int) -> None:
        self.sc = sc
        self.toks = tokens
        self.i = 0
        self.end = end

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def where(self) -> int:
        tok = self.peek()
        return tok[2] if tok else self.end

    def condition(self) -> Condition:
        terms = [self.primary()]
        while (tok := self.peek()) and tok[0] == "WORD" and tok[1] == "and":
            self.i += 1
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else Conjunction(tuple(terms))

    def primary(self) -> Condition:
        tok = self.peek()
        if tok is None:
            raise self.sc.error("condition incomplete: expected a comparison", self.end)
        if tok[0] == "LP":
            self.i += 1
            inner = self.condition()
            close = self.peek()
            if close is None or close[0] != "RP":
                raise self.sc.error("expected ')' in condition", self.where())
            self.i += 1
            return inner
        left = self.operand()
        op = self.peek()
        if op is None or op[0] != "OP":
            raise self.sc.error(
                "expected a comparison operator (eq ne lt le gt ge = != < <= > >=)", self.where()
            )
        self.i += 1
        return Comparison(left, op[1], self.operand())

    def operand(self) -> Operand:
        tok = self.peek()
        if tok is None or tok[0] not in ("WORD", "STR") or (tok[0] == "WORD" and tok[1] == "and"):
            raise self.sc.error(
                "expected a value (a word, a $MACRO or a quoted string)", self.where()
            )
        self.i += 1
        return Operand(tok[1], quoted=tok[0] == "STR")


def _parse_condition(sc: _Scanner, start: int, end: int) -> Condition:
    parser = _CondParser(sc, _tokens(sc, start, end), end)
    cond = parser.condition()
    if parser.peek() is not None:
        raise sc.error("unexpected text after the condition", parser.where())
    return cond


# ── assignments ─────────────────────────────────────────────────────────────────

_ASSIGN_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")


def canonical_name(name: str) -> str:
    """`a`..`p` -> `GPP_A`..`GPP_P`; other names unchanged."""
    if len(name) == 1 and name.upper() in _GPP_LETTERS and name.islower():
        return _GPP_PREFIX + name.upper()
    return name


def _parse_assignments(sc: _Scanner, start: int, end: int) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    sc.pos = start
    while True:
        sc.skip()
        if sc.pos >= end:
            return tuple(out)
        m = _ASSIGN_NAME.match(sc.text, sc.pos, end)
        if not m:
            raise sc.error("expected a parameter name in the assignments")
        name = m.group(1) if m.group(2) is None else f"{m.group(1)}_{int(m.group(2))}_"
        sc.pos = m.end()
        sc.skip()
        if sc.peek() != "=" or sc.pos >= end:
            raise sc.error(f"expected '=' after {name}")
        sc.pos += 1
        sc.skip()
        if sc.peek() != '"' or sc.pos >= end:
            raise sc.error(f'the value of {name} must be a quoted string ("...")')
        value = sc.quoted()
        if sc.pos > end:
            raise sc.error("quoted string runs past ')'", end)
        out.append((canonical_name(name), value))
        sc.skip()
        if sc.pos < end and sc.peek() == ";":
            sc.pos += 1
        elif sc.pos < end:
            raise sc.error(f"expected ';' after the value of {name}")


# ── options and URLs ────────────────────────────────────────────────────────────


def _parse_options(sc: _Scanner, found: dict[str, str]) -> None:
    """One `[...]` group at pos; adds to `found` (option name without dashes -> argument)."""
    open_at = sc.pos
    sc.pos += 1
    while True:
        sc.skip()
        c = sc.peek()
        if c == "]":
            sc.pos += 1
            if sc.pos - open_at == 2 or sc.text[open_at + 1 : sc.pos - 1].strip() == "":
                raise sc.error("empty option brackets '[]'", open_at)
            return
        if not c:
            raise sc.error("'[' never closed", open_at)
        m = re.compile(r"--[A-Za-z]+").match(sc.text, sc.pos)
        if not m:
            raise sc.error("expected an option (--key, --uid, --pwd, --post, --alias)")
        opt = m.group()
        if opt not in OPTION_NAMES:
            raise sc.error(f"unknown option {opt} (known: {', '.join(OPTION_NAMES)})")
        name = opt[2:]
        if name in found:
            raise sc.error(f"option {opt} given twice")
        sc.pos = m.end()
        sc.skip()
        if sc.peek() == '"':
            arg = sc.quoted()
        else:
            am = _BARE_ARG.match(sc.text, sc.pos)
            if not am or am.group().startswith("--"):
                raise sc.error(f"option {opt} needs an argument")
            arg = am.group()
            sc.pos = am.end()
        if name == "post":
            if len(arg) != 1 or arg.upper() not in _GPP_LETTERS:
                raise sc.error(
                    f"--post takes one GPP letter (a..{_GPP_LETTERS[-1].lower()}), got {arg!r}"
                )
            arg = arg.lower()
        found[name] = arg


_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_HOST_PORT = re.compile(r"(?P<host>(?:\$\([^)]*\)|[^:/?])+)(?::(?P<port>[^/?]*))?")
_HOST_CHARS = re.compile(r"(?:\$\([^)]*\)|[A-Za-z0-9._\-$])+")


def parse_url(token: str, column: int = 1, rule: str = "") -> RuleUrl:
    """One URL of a rule; `column` is where it starts (for errors)."""

    def fail(why: str, offset: int = 0) -> RuleSyntaxError:
        return RuleSyntaxError(why, column + offset, rule or token)

    scheme = DEFAULT_SCHEME
    rest, offset = token, 0
    m = _URL_SCHEME.match(token)
    if m:
        scheme = m.group(1).lower()
        if scheme not in DEFAULT_PORTS:
            raise fail(f"unknown scheme {m.group(1)!r} (known: {', '.join(DEFAULT_PORTS)})")
        rest, offset = token[m.end() :], m.end()
    host: str | None = None
    port = DEFAULT_PORTS[scheme]
    if not rest.startswith("/"):
        hm = _HOST_PORT.match(rest)
        if not hm:
            raise fail("expected a server name or an absolute path", offset)
        host = hm.group("host")
        if not _HOST_CHARS.fullmatch(host):
            raise fail(f"bad server name {host!r}", offset)
        if hm.group("port") is not None:
            p = hm.group("port")
            if not p.isdigit() or not 1 <= int(p) <= 65535:
                raise fail(f"bad port {p!r} (1..65535)", offset + hm.start("port"))
            port = int(p)
        offset += hm.end()
        rest = rest[hm.end() :]
        if not rest.startswith("/"):
            raise fail("the file path must be absolute (start with '/')", offset)
    elif m:
        raise fail(f"a {scheme}:// URL must name its server", offset)
    path, _, query = rest.partition("?")
    return RuleUrl(scheme, host, port, path, query)


def _parse_url_at(sc: _Scanner) -> RuleUrl:
    start = sc.pos
    while sc.pos < len(sc.text) and not sc.text[sc.pos].isspace() and sc.text[sc.pos] != "|":
        sc.pos += 1
    return parse_url(sc.text[start : sc.pos], start + 1, sc.full)


# ── the rule ────────────────────────────────────────────────────────────────────


def _parse_alternative(sc: _Scanner) -> Alternative:
    start = sc.pos
    condition: Condition | None = None
    assignments: tuple[tuple[str, str], ...] = ()
    saw_assignments = False
    sc.skip()
    while sc.peek() == "(":
        open_at = sc.pos
        close = sc.matching_paren()
        sc.pos = close + 1
        sc.skip()
        mark, mark_at = sc.peek(), sc.pos
        if mark == "?":
            if condition is not None or saw_assignments:
                raise sc.error(
                    "a condition must come first, once per alternative: '(...)?' misplaced",
                    open_at,
                )
            condition = _parse_condition(sc, open_at + 1, close)
        elif mark == "!":
            if saw_assignments:
                raise sc.error("only one assignment group '(...)!' per alternative", open_at)
            assignments = _parse_assignments(sc, open_at + 1, close)
            saw_assignments = True
        else:
            raise sc.error("expected '?' after a condition or '!' after assignments")
        sc.pos = mark_at + 1
        sc.skip()
    found: dict[str, str] = {}
    options_at = sc.pos
    while sc.peek() == "[":
        _parse_options(sc, found)
        sc.skip()
    url = None
    if sc.peek() not in ("", "|"):
        url = _parse_url_at(sc)
        sc.skip()
    elif found:
        raise sc.error("options '[...]' must be followed by a URL", options_at)
    if sc.peek() not in ("", "|"):
        raise sc.error("unexpected text after the URL (alternatives are separated by '|')")
    if condition is None and not saw_assignments and url is None:
        raise sc.error("empty alternative", start)
    return Alternative(condition, assignments, RuleOptions(**found), url)


def parse_profile_rule(text: str) -> list[Alternative]:
    """The alternatives of a Profile_Rule* value (empty list for an empty rule)."""
    sc = _Scanner(text)
    sc.skip()
    alternatives: list[Alternative] = []
    starts: list[int] = []
    if sc.at_end():
        return alternatives
    while True:
        sc.skip()
        starts.append(sc.pos)
        alternatives.append(_parse_alternative(sc))
        if sc.at_end():
            break
        sc.pos += 1  # the '|'
    for alt, at in zip(alternatives[:-1], starts, strict=False):
        if alt.condition is None:
            raise sc.error("every alternative but the last needs a condition '(...)?'", at)
    return alternatives


def parse_upgrade_rule(text: str) -> list[Alternative]:
    """An Upgrade_Rule: conditions and assignments, no bracketed options, a named server."""
    cleaned = _strip_comment(text)
    quoted = False
    i = 0
    while i < len(cleaned):  # refuse options before parsing, with the bracket's column
        c = cleaned[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "[" and not quoted:
            raise RuleSyntaxError("Upgrade_Rule takes no bracketed options", i + 1, text)
        i += 1
    alternatives = parse_profile_rule(text)
    for alt in alternatives:
        if alt.url is not None and alt.url.host is None:
            at = text.find(alt.url.path) + 1 if alt.url.path in text else 1
            raise RuleSyntaxError(
                "Upgrade_Rule must name its server (scheme://server/path)", max(at, 1), text
            )
    return alternatives


# ── evaluation ──────────────────────────────────────────────────────────────────

_INT = re.compile(r"-?\d+")
_VERSION = re.compile(r"\d[0-9A-Za-z.()_\-]*")
_VERSION_PART = re.compile(r"\d+|[A-Za-z]+")


def _version_key(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _VERSION_PART.findall(text))


def compare(left: str, op: str, right: str) -> bool:
    """`left op right` on expanded texts: integers, else firmware versions, else strings."""
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {op!r} (known: {', '.join(OPERATORS)})")
    a: object
    b: object
    if _INT.fullmatch(left) and _INT.fullmatch(right):
        a, b = int(left), int(right)
    elif _VERSION.fullmatch(left) and _VERSION.fullmatch(right):
        a, b = _version_key(left), _version_key(right)
    else:
        a, b = left, right
    return {
        "eq": a == b,
        "ne": a != b,
        "lt": a < b,  # type: ignore[operator]
        "le": a <= b,  # type: ignore[operator]
        "gt": a > b,  # type: ignore[operator]
        "ge": a >= b,  # type: ignore[operator]
    }[op]


def evaluate_condition(cond: Condition, values: Mapping[str, str]) -> bool:
    """Whether `cond` holds once its operands' macros are expanded with `values`."""
    if isinstance(cond, Conjunction):
        return all(evaluate_condition(t, values) for t in cond.terms)
    return compare(expand(cond.left.text, values), cond.op, expand(cond.right.text, values))


def select_alternative(
    alternatives: Sequence[Alternative], values: Mapping[str, str]
) -> Alternative | None:
    """The first alternative whose condition holds (or that has none); None if none does."""
    for alt in alternatives:
        if alt.condition is None or evaluate_condition(alt.condition, values):
            return alt
    return None


def resolve_url(url: RuleUrl, values: Mapping[str, str]) -> RuleUrl:
    """`url` with its macros expanded (re-parsed, so a macro may carry `host:port`).

    RuleSyntaxError when the expanded text is no longer a URL (the phone's "bad URL").
    """
    text = expand(url.render(), values)
    if url.host is None and not text.startswith("/"):
        text = "/" + text
    return parse_url(text, 1, text)


def expand_options(options: RuleOptions, values: Mapping[str, str]) -> RuleOptions:
    """`--key`, `--uid`, `--pwd` arguments with macros expanded (pass SA..SD in `values`)."""
    return replace(
        options,
        **{
            n: expand(getattr(options, n), values)
            for n in ("key", "uid", "pwd")
            if getattr(options, n) is not None
        },
    )
