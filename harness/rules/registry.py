"""The rule registry: `@rule("UA-FORMAT")` registers a judge for one requirement.

A rule is `fn(timeline, ctx) -> Iterable[Finding]`. `RuleContext` carries the
family spec and what the harness knows of the device (its identity and its
parameters); a rule that lacks what it needs says `inconclusive`, never `pass`.
`evaluate()` runs the rules over timelines; a rule that raises becomes an
`inconclusive` finding that names the exception, so one bad rule never stops a run.
While a timeline's rules run, its provisioning attempts are computed once and
shared (`harness.rules.attempts.shared_attempts`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline
from harness.rules.attempts import shared_attempts
from harness.rules.finding import Finding, Verdict
from harness.spec.catalog import requirement
from harness.spec.family import Family

RuleFn = Callable[[DeviceTimeline, "RuleContext"], Iterable[Finding]]

_RULES: dict[str, RuleFn] = {}
# Modules that register rules; imported on first use of the registry.
_RULE_MODULES = (
    "harness.rules.http_rules",
    "harness.rules.dns_rules",
    "harness.rules.syslog_rules",
    "harness.rules.tls_rules",
    "harness.rules.status_rules",
    "harness.rules.schedule_rules",
)


@dataclass(frozen=True)
class DeviceIdentity:
    """What the harness knows a device to be (from its configuration, not its traffic)."""

    product: str | None = None
    serial: str | None = None
    mac: str | None = None
    firmware: str | None = None


@dataclass(frozen=True)
class RuleContext:
    family: Family
    identity: DeviceIdentity = field(default_factory=DeviceIdentity)
    parameters: dict[str, str] = field(default_factory=dict)  # the device's, over family defaults
    facts: dict[str, object] = field(default_factory=dict)  # scenario facts a test sets up
    # seconds a timing rule lets an observed delay stray (None: the harness default,
    # harness.rules.tolerance.DEFAULT_TIMING_TOLERANCE_S)
    timing_tolerance: float | None = None

    def param(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        return self.family.default(name)


def rule(req_id: str) -> Callable[[RuleFn], RuleFn]:
    """Register `fn` as the judge of requirement `req_id` (which must be in the catalog)."""
    requirement(req_id)  # fail at import time on a typo

    def deco(fn: RuleFn) -> RuleFn:
        if req_id in _RULES and _RULES[req_id] is not fn:
            raise ValueError(
                f"rule {req_id} registered twice ({_RULES[req_id].__module__}, {fn.__module__})"
            )
        _RULES[req_id] = fn
        return fn

    return deco


def _load() -> None:
    for mod in _RULE_MODULES:
        importlib.import_module(mod)


def registered_rules() -> dict[str, RuleFn]:
    _load()
    return dict(_RULES)


def evaluate(
    timelines: Iterable[DeviceTimeline], ctx: RuleContext, only: Iterable[str] | None = None
) -> list[Finding]:
    """Run every registered rule (or those in `only`) over each timeline."""
    rules = registered_rules()
    wanted = list(only) if only is not None else list(rules)
    findings: list[Finding] = []
    for timeline in timelines:
        with shared_attempts(timeline):
            for req_id in wanted:
                fn = rules.get(req_id)
                if fn is None:
                    continue
                try:
                    findings.extend(fn(timeline, ctx))
                except Exception as exc:  # a broken rule must not stop the run
                    findings.append(
                        Finding(
                            req_id,
                            Verdict.INCONCLUSIVE,
                            f"rule raised {type(exc).__name__}: {exc}",
                            timeline.id,
                        )
                    )
    return findings


def finding(
    req_id: str,
    verdict: Verdict,
    why: str,
    timeline: DeviceTimeline,
    about: Observation | None = None,
    *,
    also: Iterable[Observation] = (),
) -> Finding:
    """A finding on `timeline`, with time and frames taken from the observations it is about."""
    if not also:  # the common cases, without the generic walk
        if about is None:
            return Finding(req_id, verdict, why, timeline.id, None, (), ())
        ev = about.evidence
        fr = ev.frames
        frames = tuple(fr) if len(fr) < 2 else tuple(sorted(set(fr)))
        sources: tuple[str, ...] = (ev.source,)
    else:
        obs = ([about] if about is not None else []) + list(also)
        frames = tuple(sorted({f for o in obs for f in o.evidence.frames}))
        sources = tuple(dict.fromkeys(o.evidence.source for o in obs))
    return Finding(
        rule=req_id,
        verdict=verdict,
        why=why,
        device=timeline.id,
        time=about.time if about is not None else None,
        frames=frames,
        evidence=sources,
    )
