"""Where a device's identity comes from, source by source, for the identity rules.

UA-IDENTITY and TLS-CLIENT-CERT judge one source against the others, never against
itself: the configured or stated identity (`RuleContext.identity` on a live run; the
fact `stated_identity` when `harness analyze` judges a capture, None when the user
stated nothing), the client certificate (OU = product, L = serial, S = MAC, the
generic certificate names nobody), the User-Agent (the family's grammar) and the
MAC a DHCP client sent (chaddr). Each `IdentitySource` says what it claims and how
to name it in a finding. Also the profile rule's macros: a request whose path
matches a `Profile_Rule*` template with `$PN`, `$SN`, `$MA`/`$MAU`/`$MAC` in it says
what the device expanded them to (its own identity, by another path than the
User-Agent). Pure; the subject layout and macro grammar come from harness.spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from harness.observe.events import DhcpExchange, HttpExchange, TftpTransfer, TlsHandshake
from harness.observe.timeline import DeviceTimeline
from harness.rules.registry import RuleContext
from harness.spec._data import load_data
from harness.spec.macros import _TOKEN
from harness.spec.user_agent import parse_user_agent

FIELDS = ("product", "serial", "mac")


@dataclass(frozen=True)
class IdentitySource:
    name: str  # "the device's configured identity", "its client certificate", ...
    claims: dict[str, str]  # field -> value (product, serial, mac; MAC lower hex)

    def get(self, field: str) -> str | None:
        return self.claims.get(field)


def norm(field: str, value: str) -> str:
    v = value.strip().lower()
    return v.replace(":", "").replace("-", "") if field == "mac" else v


def _claims(**values: str | None) -> dict[str, str]:
    return {k: (norm(k, v) if k == "mac" else v) for k, v in values.items() if v}


def stated(ctx: RuleContext) -> IdentitySource | None:
    """The identity the device was configured with (live) or the user stated (analyze)."""
    if "stated_identity" in ctx.facts:
        ident = ctx.facts["stated_identity"]
        name = "the identity stated with --device"
    else:
        ident = ctx.identity
        name = "the device's configured identity"
    if ident is None:
        return None
    claims = _claims(
        product=getattr(ident, "product", None),
        serial=getattr(ident, "serial", None),
        mac=getattr(ident, "mac", None),
    )
    return IdentitySource(name, claims) if claims else None


def _subject_layout() -> dict[str, str]:
    return dict(load_data("certificates")["client_subject"])  # product/serial/mac -> attribute


def _generic_subject() -> dict[str, str]:
    return dict(load_data("certificates")["generic_client_subject"])


def certificates(timeline: DeviceTimeline) -> list[tuple[TlsHandshake, IdentitySource]]:
    """Each individual (not generic) client certificate the device presented."""
    layout = _subject_layout()
    generic = _generic_subject()
    out = []
    seen: set[tuple] = set()
    for hs in timeline.of(TlsHandshake):
        subj = hs.client_cert_subject
        if not subj or any(subj.get(k) == v for k, v in generic.items()):
            continue
        values = {f: subj.get(layout[f]) for f in FIELDS}
        if values["mac"] is None and layout["mac"] == "ST":
            values["mac"] = subj.get("S")
        claims = _claims(**values)
        key = tuple(sorted(claims.items()))
        if claims and key not in seen:
            seen.add(key)
            text = ", ".join(f"{layout[f]}={claims[f]}" for f in FIELDS if f in claims)
            out.append((hs, IdentitySource(f"its client certificate ({text})", claims)))
    return out


def user_agents(timeline: DeviceTimeline, ctx: RuleContext) -> list[tuple[HttpExchange, dict]]:
    """(request, {field: value}) for each GET/POST whose User-Agent is in the family format."""
    out = []
    for req in timeline.of(HttpExchange):
        if req.method not in ("GET", "POST"):
            continue
        parsed = parse_user_agent(ctx.family, req.user_agent)
        if parsed is not None:
            out.append((req, _claims(product=parsed.product, serial=parsed.serial, mac=parsed.mac)))
    return out


def dhcp_macs(timeline: DeviceTimeline) -> list[IdentitySource]:
    macs = sorted({norm("mac", d.client_mac) for d in timeline.of(DhcpExchange) if d.client_mac})
    return [IdentitySource(f"its DHCP requests (chaddr {m})", {"mac": m}) for m in macs]


def disagreement(
    claims: dict[str, str],
    source: IdentitySource,
    fields: tuple[str, ...] = FIELDS,
    labels: dict[str, str] | None = None,
) -> str | None:
    """ "serial 'X' but <source> says 'Y'" for the first field both name differently
    (`labels`: field -> attribute, to say "L='X' (serial)" instead)."""
    for f in fields:
        mine, theirs = claims.get(f), source.get(f)
        if mine and theirs and norm(f, mine) != norm(f, theirs):
            what = f"{labels[f]}={mine!r} ({f})" if labels and f in labels else f"{f} {mine!r}"
            return f"{what} but {source.name} says {theirs!r}"
    return None


# -- the profile rule's identity macros -------------------------------------------------
_PROFILE_RULES = ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")
_IDENTITY_MACROS = {"PN": "product", "SN": "serial", "MA": "mac", "MAU": "mac", "MAC": "mac"}


def _rule_path(text: str) -> str | None:
    """The URL path of a profile rule (last alternative, options dropped), macros kept."""
    text = text.split("|")[-1].strip()
    text = re.sub(r"^\s*(\([^)]*\)\?)?\s*(\([^)]*\)!)?\s*", "", text)
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)
    if not text:
        return None
    if "://" in text:
        return urlsplit(text).path or None
    return text if text.startswith("/") else None


def _path_regex(path: str, lazy: bool = True) -> re.Pattern[str] | None:
    """A pattern over request paths with a named group per identity macro (None: none);
    each macro takes as little (`lazy`) or as much as it can."""
    parts: list[str] = []
    pos, groups = 0, 0
    value = "[^/]+?" if lazy else "[^/]+"
    for m in _TOKEN.finditer(path):
        parts.append(re.escape(path[pos : m.start()]))
        pos = m.end()
        name = m.group("pname") or m.group("name")
        if m.group(0) == "$$":
            parts.append(re.escape("$"))
        elif name in _IDENTITY_MACROS and not m.group("p"):
            parts.append(f"(?P<{name}_{groups}>{value})")
            groups += 1
        else:
            parts.append(".*?" if lazy else ".*")
    parts.append(re.escape(path[pos:]))
    return re.compile("^" + "".join(parts) + "$") if groups else None


def _expanded(path: str, got: str) -> dict[str, str] | None:
    """What the identity macros of `path` became in the request path `got` (None: it does
    not match). Only values every way of splitting `got` agrees on: in `$PN-$SN` a product
    `CP-8831-3PCC` could be read as `CP` (the rest going to the serial), so neither is known."""
    found = []
    for lazy in (True, False):
        pattern = _path_regex(path, lazy)
        m = pattern.match(got) if pattern is not None else None
        if m is None:
            return None
        found.append(m.groupdict())
    return {g: v for g, v in found[0].items() if found[1].get(g) == v}


def profile_macros(timeline: DeviceTimeline, ctx: RuleContext) -> list[IdentitySource]:
    """What the device expanded `$PN`, `$SN`, `$MA`... to in the paths it requested, for
    the profile rules it was given (`RuleContext.parameters`)."""
    out: list[IdentitySource] = []
    for param in _PROFILE_RULES:
        # only a rule the device was given (not the family default: a literal path in
        # the real profile would make a guess of it)
        path = _rule_path(ctx.parameters.get(param) or "")
        if not path or _path_regex(path) is None:
            continue
        for req in timeline.observations:
            if isinstance(req, HttpExchange) and req.request_sent:
                got = urlsplit(req.url).path
            elif isinstance(req, TftpTransfer):
                got = req.filename if req.filename.startswith("/") else "/" + req.filename
            else:
                continue
            values = _expanded(path, unquote(got))
            if values is None:
                continue
            claims: dict[str, str] = {}
            for group, value in values.items():
                field = _IDENTITY_MACROS[group.rsplit("_", 1)[0]]
                claims.setdefault(field, norm(field, value) if field == "mac" else value)
            if claims:
                name = f"the path it expanded from {param} ({path} -> {got})"
                out.append(IdentitySource(name, claims))
            break
    return out
