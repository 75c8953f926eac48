"""Judging analyzed captures: timelines per device, parameters per device, rule findings.

`judge(observations, family, ...)` builds the device timelines, gives each the
parameters the rules need (capture profile for that device < --profile <
--param) and runs `harness.rules.evaluate` on it. The rules are whatever the
registry holds; when a rule module cannot be imported the reason is returned
as a note, never raised. No parsing and no output here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.rules import Finding, RuleContext, evaluate
from harness.rules.registry import DeviceIdentity
from harness.spec.family import Family


def device_parameters(
    timeline: DeviceTimeline,
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]],
    file_params: Mapping[str, str],
    cli_params: Mapping[str, str],
) -> dict[str, str]:
    """Parameters for one device, later sources winning (see the module docstring)."""
    ips = {o.device.ip for o in timeline.observations if o.device.ip}
    params: dict[str, str] = {}
    for ip, _what, p in seen_profiles:
        if ip in ips:
            params.update(p)
    params.update(file_params)
    params.update(cli_params)
    return params


def judge(
    observations: Iterable[Observation],
    family: Family,
    *,
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]] = (),
    file_params: Mapping[str, str] | None = None,
    cli_params: Mapping[str, str] | None = None,
    facts: Mapping[str, object] | None = None,
) -> tuple[list[DeviceTimeline], list[Finding], list[str]]:
    """(timelines, findings, notes) for the observations of one or more captures."""
    timelines = build_timelines(observations)
    profiles = list(seen_profiles)
    findings: list[Finding] = []
    notes: list[str] = []
    for tl in timelines:
        if tl.id == "unknown":
            continue
        ctx = RuleContext(
            family=family,
            identity=DeviceIdentity(
                product=tl.device.product, serial=tl.device.serial, mac=tl.device.mac
            ),
            parameters=device_parameters(tl, profiles, file_params or {}, cli_params or {}),
            facts=dict(facts or {}),
        )
        try:
            findings.extend(evaluate([tl], ctx))
        except ImportError as exc:
            notes.append(f"rules unavailable ({exc}); no findings computed")
            break
    return timelines, findings, notes
