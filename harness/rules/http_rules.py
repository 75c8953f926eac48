"""Rules on the HTTP requests a device makes: UA-FORMAT, UA-IDENTITY, HTTP-GET.

The User-Agent grammar and the identity field come from the family file; the
device's identity from the rule context (what it is configured to be) or, for
a capture, from its client certificate.
"""

from __future__ import annotations

from harness.observe.events import HttpExchange, TlsHandshake
from harness.observe.timeline import DeviceTimeline
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule
from harness.spec.user_agent import parse_user_agent


def _requests(timeline: DeviceTimeline) -> list[HttpExchange]:
    return [x for x in timeline.of(HttpExchange) if x.method in ("GET", "POST")]


@rule("UA-FORMAT")
def ua_format(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    reqs = _requests(timeline)
    if not reqs:
        return [
            finding(
                "UA-FORMAT",
                Verdict.INCONCLUSIVE,
                "the device made no GET or POST request",
                timeline,
            )
        ]
    fam = ctx.family
    for req in reqs:
        parsed = parse_user_agent(fam, req.user_agent)
        problem = None
        if req.user_agent is None:
            problem = "carries no User-Agent header"
        elif parsed is None:
            problem = (
                f"has User-Agent {req.user_agent!r}, not in the {fam.name} format {fam.ua_format!r}"
            )
        elif fam.ua_carries_firmware and not parsed.firmware:
            problem = f"has User-Agent {req.user_agent!r} without the firmware version"
        elif fam.ua_identity_field == "serial" and not parsed.serial:
            problem = f"has User-Agent {req.user_agent!r} without the serial number"
        elif fam.ua_identity_field == "mac" and not parsed.mac:
            problem = f"has User-Agent {req.user_agent!r} without the MAC address"
        if problem:
            why = f"{req.method} {req.url} {problem}"
            return [finding("UA-FORMAT", Verdict.FAIL, why, timeline, req)]
    why = f"all {len(reqs)} GET/POST requests carry a User-Agent in the {fam.name} format ({fam.ua_format})"
    return [finding("UA-FORMAT", Verdict.PASS, why, timeline, reqs[0], also=reqs[1:])]


def _expected_identity(timeline: DeviceTimeline, ctx: RuleContext) -> tuple[dict[str, str], str]:
    """What the UA must name: from the configured identity, else the client certificate."""
    ident = ctx.identity
    expected: dict[str, str] = {}
    if ident.product:
        expected["product"] = ident.product
    if ident.serial:
        expected["serial"] = ident.serial
    if ident.mac:
        expected["mac"] = ident.mac.lower().replace(":", "")
    if expected:
        return expected, "the device's configured identity"
    for hs in timeline.of(TlsHandshake):
        subj = hs.client_cert_subject or {}
        if subj.get("OU") and subj.get("OU") != "cisco.com":
            expected = {"product": subj["OU"]}
            if subj.get("L"):
                expected["serial"] = subj["L"]
            if subj.get("ST"):
                expected["mac"] = subj["ST"].lower().replace(":", "")
            return expected, "the device's client certificate"
    return {}, ""


@rule("UA-IDENTITY")
def ua_identity(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    reqs = [r for r in _requests(timeline) if parse_user_agent(ctx.family, r.user_agent)]
    if not reqs:
        return [
            finding(
                "UA-IDENTITY",
                Verdict.INCONCLUSIVE,
                "no User-Agent in the family format to compare",
                timeline,
            )
        ]
    expected, source = _expected_identity(timeline, ctx)
    if not expected:
        why = "the device's identity is unknown (no configured identity, no individual client certificate)"
        return [finding("UA-IDENTITY", Verdict.INCONCLUSIVE, why, timeline, reqs[0])]
    fields = ["product", ctx.family.ua_identity_field]
    for req in reqs:
        parsed = parse_user_agent(ctx.family, req.user_agent)
        assert parsed is not None
        for name in fields:
            want = expected.get(name)
            got = getattr(parsed, name)
            if want is None:
                continue
            if (got or "").lower() != want.lower():
                why = f"{req.method} {req.url}: User-Agent names {name} {got!r} but {source} says {want!r}"
                return [finding("UA-IDENTITY", Verdict.FAIL, why, timeline, req)]
    checked = ", ".join(f"{k}={expected[k]}" for k in fields if k in expected)
    why = f"the User-Agent of all {len(reqs)} requests names {checked}, as {source} says"
    return [finding("UA-IDENTITY", Verdict.PASS, why, timeline, reqs[0], also=reqs[1:])]


def _rule_asks_post(ctx: RuleContext) -> bool:
    rules = (
        ctx.param(n) for n in ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")
    )
    return any("--post" in r for r in rules)


@rule("HTTP-GET")
def http_get(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    reqs = [x for x in timeline.of(HttpExchange) if x.request_sent]
    if not reqs:
        return [
            finding("HTTP-GET", Verdict.INCONCLUSIVE, "the device made no HTTP request", timeline)
        ]
    allowed = {"GET", "POST"} if _rule_asks_post(ctx) else {"GET"}
    for req in reqs:
        if req.method not in allowed:
            because = (
                "the profile rule asks for GET"
                if "POST" not in allowed
                else "only GET/POST are used"
            )
            why = f"the device sent {req.method} {req.url}; {because}"
            return [finding("HTTP-GET", Verdict.FAIL, why, timeline, req)]
    why = f"all {len(reqs)} HTTP requests use {'/'.join(sorted(allowed))} as the profile rule asks"
    return [finding("HTTP-GET", Verdict.PASS, why, timeline, reqs[0], also=reqs[1:])]
