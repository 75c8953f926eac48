"""Rules on the syslog messages a device sends about its provisioning attempts.

SYSLOG-REQUEST (a message when a request starts), SYSLOG-RESULT (one when it
ends, success or failure) and SYSLOG-MACROS (the messages are the configured
templates with macros expanded). Templates are the device's parameters, named
per family (`Family.syslog_params`); an empty template suppresses its message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from harness.observe.events import Observation, SyslogMessage
from harness.observe.timeline import DeviceTimeline
from harness.rules.attempts import Attempt, group_attempts, request_path, request_scheme
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule
from harness.spec.macros import template_regex, unexpanded_macros

# Harness tolerances (not spec facts): how far a message may be from its attempt. Each is
# pinned by a case just inside and one just outside (tests/rules/test_syslog_boundaries.py).
REQUEST_BEFORE = 5.0  # a request message may precede the request by this much
REQUEST_AFTER = 1.0  # ... or follow it by this much (UDP syslog and TCP race on the wire);
# a result message may also come this much before the attempt's last request
RESULT_AFTER = 30.0  # a result message must follow the attempt's end within this

REQUEST_ROLES = ("request", "upgrade_request")
RESULT_ROLES = ("success", "failure", "upgrade_success", "upgrade_failure")


def _templates(ctx: RuleContext, roles: tuple[str, ...]) -> list[str]:
    names = [ctx.family.syslog_params.get(r) for r in roles]
    return [ctx.param(n) for n in names if n and ctx.param(n)]


def _identity_values(ctx: RuleContext, timeline: DeviceTimeline) -> dict[str, str]:
    values: dict[str, str] = {}
    product = ctx.identity.product or timeline.device.product
    mac = (ctx.identity.mac or timeline.device.mac or "").lower().replace(":", "")
    if product:
        values["PN"] = product
    if len(mac) == 12:
        values["MA"] = mac
        values["MAU"] = mac.upper()
        values["MAC"] = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
    if ctx.identity.serial or timeline.device.serial:
        values["SN"] = ctx.identity.serial or timeline.device.serial or ""
    return values


def _url_values(attempt: Attempt, which: int) -> dict[str, str]:
    req = attempt.requests[which]
    values = {"SCHEME": request_scheme(req), "PATH": request_path(req)}
    if req.server:
        values["SERVIP"] = req.server[0]
        values["PORT"] = str(req.server[1])
    return values


def _url_variants(attempt: Attempt, which: int) -> list[dict[str, str]]:
    """The URL macro values of a request; $SERVIP may also be the host as the URL names it
    (a phone may log the request before it has resolved the name)."""
    values = _url_values(attempt, which)
    host = getattr(attempt.requests[which], "host", None)
    if host:
        named = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if named and named != values.get("SERVIP"):
            return [values, {**values, "SERVIP": named}]
    return [values]


def _configured(timeline: DeviceTimeline, ctx: RuleContext) -> bool:
    return bool(
        ctx.param("Syslog_Server") or ctx.facts.get("syslog_server") or timeline.of(SyslogMessage)
    )


def _loose(templates: list[str]) -> Callable[[str], bool]:
    """Whether a text is one of `templates`, any macro standing for any text."""
    return _loose_cached(tuple(templates))


@lru_cache(maxsize=256)
def _loose_cached(templates: tuple[str, ...]) -> Callable[[str], bool]:
    shapes = [_literal_chunks(template_regex(t, {}).pattern) for t in templates]

    seen: dict[str, bool] = {}  # a device repeats its messages: remember a few answers

    def matches(text: str) -> bool:
        hit = seen.get(text)
        if hit is None:
            hit = False
            for chunks in shapes:
                if _fits(text, chunks):
                    hit = True
                    break
            if len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[text] = hit
        return hit

    return matches


_SEEN_MAX = 4096
_WILD = ".*?"  # what template_regex puts for a macro of unknown value (re.S: any text)
_UNESCAPE = re.compile(r"\\(.)", re.S)


def _literal_chunks(pattern: str) -> tuple[str, ...]:
    """The literal texts between the wildcards of a `template_regex(t, {})` pattern.

    Every special character of a literal is escaped there, so each unescaped `.*?` is
    a wildcard."""
    return tuple(_UNESCAPE.sub(r"\1", piece) for piece in pattern.split(_WILD))


def _fits(text: str, chunks: tuple[str, ...]) -> bool:
    """`re.fullmatch` of `chunks` joined by lazy wildcards, without the regex backtracking
    (quadratic and worse on a text that nearly fits): the first chunk must start the text,
    the last end it, and the middle ones appear in order between (leftmost is best)."""
    first = chunks[0]
    if len(chunks) == 1:
        return text == first
    last = chunks[-1]
    if not text.startswith(first):
        return False
    end = len(text) - len(last)
    if end < len(first) or not text.endswith(last):
        return False
    pos = len(first)
    for chunk in chunks[1:-1]:
        at = text.find(chunk, pos, end)
        if at < 0:
            return False
        pos = at + len(chunk)
    return True


def _in_window(msgs: list[SyslogMessage], lo: float, hi: float) -> list[SyslogMessage]:
    return [m for m in msgs if lo <= m.time <= hi]


def _preconditions(rule_id: str, timeline: DeviceTimeline, ctx: RuleContext) -> Finding | None:
    if not _configured(timeline, ctx):
        why = "no syslog server is configured for the device (Syslog_Server empty, no syslog seen)"
        return finding(rule_id, Verdict.SKIPPED, why, timeline)
    if not group_attempts(timeline):
        return finding(
            rule_id, Verdict.INCONCLUSIVE, "the device made no provisioning request", timeline
        )
    return None


def _next_start(attempts: list[Attempt], i: int) -> float:
    return attempts[i + 1].start if i + 1 < len(attempts) else float("inf")


def _a_message_per_attempt(
    rule_id: str,
    roles: tuple[str, ...],
    kind: str,
    timeline: DeviceTimeline,
    ctx: RuleContext,
    *,
    window: Callable[[list[Attempt], int], tuple[float, float]],
    anchor: Callable[[Attempt], Observation],
    missing: Callable[[Attempt, list[str]], str],
    present: str,
) -> list[Finding]:
    """Every attempt must have a message of one of the `roles` templates in its `window`."""
    pre = _preconditions(rule_id, timeline, ctx)
    if pre:
        return [pre]
    templates = _templates(ctx, roles)
    if not templates:
        why = f"the {kind} templates are empty (messages suppressed)"
        return [finding(rule_id, Verdict.SKIPPED, why, timeline)]
    loose = _loose(templates)
    msgs = timeline.of(SyslogMessage)
    attempts = group_attempts(timeline)
    for i, a in enumerate(attempts):
        near = _in_window(msgs, *window(attempts, i))
        if not any(loose(m.message) for m in near):
            why = missing(a, templates)
            return [finding(rule_id, Verdict.FAIL, why, timeline, anchor(a), also=near)]
    why = present.format(n=len(attempts))
    return [finding(rule_id, Verdict.PASS, why, timeline, anchor(attempts[0]))]


@rule("SYSLOG-REQUEST")
def syslog_request(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    return _a_message_per_attempt(
        "SYSLOG-REQUEST",
        REQUEST_ROLES,
        "request",
        timeline,
        ctx,
        window=lambda attempts, i: (
            attempts[i].start - REQUEST_BEFORE,
            attempts[i].start + REQUEST_AFTER,
        ),
        anchor=lambda a: a.requests[0],
        missing=lambda a, templates: (
            f"no request message in syslog around the {a.scheme} request for {a.path} "
            f"(template {templates[0]!r})"
        ),
        present="each of the {n} provisioning attempts was announced in syslog",
    )


@rule("SYSLOG-RESULT")
def syslog_result(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    return _a_message_per_attempt(
        "SYSLOG-RESULT",
        RESULT_ROLES,
        "result",
        timeline,
        ctx,
        window=lambda attempts, i: (
            attempts[i].last.time - REQUEST_AFTER,
            min(_next_start(attempts, i), attempts[i].end + RESULT_AFTER),
        ),
        anchor=lambda a: a.last,
        missing=lambda a, _templates: (
            f"no success/failure message in syslog after the {a.scheme} request for {a.path}"
        ),
        present="each of the {n} provisioning attempts ended with a result message in syslog",
    )


def _expands_for(text: str, attempt: Attempt, ident: dict[str, str], templates: list[str]) -> bool:
    """Whether `text` is one of `templates` expanded for the first or last request of `attempt`."""
    for which in {0, len(attempt.requests) - 1}:
        for url_values in _url_variants(attempt, which):
            values = {**ident, **url_values}
            if any(template_regex(t, values).fullmatch(text) for t in templates):
                return True
    return False


@rule("SYSLOG-MACROS")
def syslog_macros(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    pre = _preconditions("SYSLOG-MACROS", timeline, ctx)
    if pre:
        return [pre]
    req_t, res_t = _templates(ctx, REQUEST_ROLES), _templates(ctx, RESULT_ROLES)
    loose = _loose(req_t + res_t)
    msgs = [m for m in timeline.of(SyslogMessage) if loose(m.message)]
    for m in timeline.of(SyslogMessage):
        left = unexpanded_macros(m.message)
        if left:
            why = f"syslog message {m.message!r} still holds unexpanded macros {', '.join(left)}"
            return [finding("SYSLOG-MACROS", Verdict.FAIL, why, timeline, m)]
    if not msgs:
        why = "no syslog message in the shape of the configured templates to compare"
        return [finding("SYSLOG-MACROS", Verdict.INCONCLUSIVE, why, timeline)]
    ident = _identity_values(ctx, timeline)
    attempts = group_attempts(timeline)
    windows = [
        (a.start - REQUEST_BEFORE, min(_next_start(attempts, i), a.end + RESULT_AFTER), a)
        for i, a in enumerate(attempts)
    ]
    checked = 0
    for m in msgs:
        near = [a for lo, hi, a in windows if lo <= m.time <= hi]
        if not near:
            continue
        if not any(_expands_for(m.message, a, ident, req_t + res_t) for a in near):
            a = near[0]
            known = ", ".join(
                f"${k}={v}" for k, v in sorted({**ident, **_url_values(a, 0)}.items())
            )
            why = f"syslog message {m.message!r} is not a template expanded with the device's values ({known})"
            return [finding("SYSLOG-MACROS", Verdict.FAIL, why, timeline, m, also=[a.requests[0]])]
        checked += 1
    if not checked:
        why = "template-shaped syslog messages were seen, but none near a provisioning attempt"
        return [finding("SYSLOG-MACROS", Verdict.INCONCLUSIVE, why, timeline)]
    why = f"{checked} syslog messages are the configured templates with macros expanded"
    return [finding("SYSLOG-MACROS", Verdict.PASS, why, timeline, msgs[0])]
