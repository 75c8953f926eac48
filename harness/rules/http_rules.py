"""Rules on the HTTP requests a device makes: UA-FORMAT, UA-IDENTITY, HTTP-GET.

The User-Agent grammar and the identity field come from the family file. The
User-Agent's identity is judged against every independent source there is
(`harness.rules.identity`: the configured or stated identity, the client
certificate, the DHCP MAC), never against itself.
"""

from __future__ import annotations

from harness.observe.events import HttpExchange
from harness.observe.timeline import DeviceTimeline
from harness.rules import identity
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


@rule("UA-IDENTITY")
def ua_identity(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    uas = identity.user_agents(timeline, ctx)
    if not uas:
        return [
            finding(
                "UA-IDENTITY",
                Verdict.INCONCLUSIVE,
                "no User-Agent in the family format to compare",
                timeline,
            )
        ]
    # independent sources only, a User-Agent is never judged against itself: the
    # configured/stated identity when there is one (the truth: a certificate that
    # disagrees with it is TLS-CLIENT-CERT's fail), else the client certificate
    given = identity.stated(ctx)
    sources = [given] if given else [src for _, src in identity.certificates(timeline)]
    if not given:
        sources += identity.profile_macros(timeline, ctx)
    sources += identity.dhcp_macs(timeline)
    if not sources:
        why = (
            "no source of the device's identity independent of its User-Agent "
            "(no --device, no individual client certificate, no DHCP MAC, no identity "
            "macro in a given profile rule): "
            "a User-Agent is not judged against itself"
        )
        return [finding("UA-IDENTITY", Verdict.INCONCLUSIVE, why, timeline, uas[0][0])]
    # every field the User-Agent names (product, serial, MAC) that a source names too
    fields = tuple(dict.fromkeys(("product", ctx.family.ua_identity_field, *identity.FIELDS)))
    for req, claims in uas:
        for src in sources:
            wrong = identity.disagreement(claims, src, fields)
            if wrong:
                why = f"{req.method} {req.url}: the User-Agent names {wrong}"
                return [finding("UA-IDENTITY", Verdict.FAIL, why, timeline, req)]
    both = [f for f in fields if uas[0][1].get(f) and any(src.get(f) for src in sources)]
    compared = [src for src in sources if any(src.get(f) for f in both)]
    if not compared:
        why = (
            f"the identity sources ({'; '.join(s.name for s in sources)}) name nothing the "
            f"User-Agent carries ({', '.join(f for f in fields if uas[0][1].get(f))})"
        )
        return [finding("UA-IDENTITY", Verdict.INCONCLUSIVE, why, timeline, uas[0][0])]
    named = ", ".join(f"{f}={uas[0][1][f]}" for f in both)
    why = (
        f"the User-Agent of all {len(uas)} requests names {named}, as "
        + " and ".join(s.name for s in compared)
        + (" say" if len(compared) > 1 else " says")
    )
    reqs = [r for r, _ in uas]
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
