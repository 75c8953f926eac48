"""Judging analyzed captures: timelines per device, parameters per device, rule findings.

`judge(observations, family, ...)` builds the device timelines, gives each the
parameters the rules need (capture profile for that device < --profile <
--param) and runs `harness.rules.evaluate` on it. The rules are whatever the
registry holds; when a rule module cannot be imported the reason is returned
as a note, never raised. No parsing and no output here.

The cyclic garbage collector is paused while judging (the rules allocate many
short-lived, acyclic objects over a heap holding every observation, where each of
the collector's full passes costs much and finds little); the youngest generation
is still collected every `GC_EVERY` timelines.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping

from harness.gc_pause import gc_paused
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
    return _parameters(timeline, _profiles_by_ip(seen_profiles), file_params, cli_params)


def _profiles_by_ip(
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]],
) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """The profiles seen, per client IP, with their position in capture order."""
    by_ip: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, (ip, _what, p) in enumerate(seen_profiles):
        by_ip.setdefault(ip, []).append((i, p))
    return by_ip


def _parameters(
    timeline: DeviceTimeline,
    by_ip: Mapping[str, list[tuple[int, dict[str, str]]]],
    file_params: Mapping[str, str],
    cli_params: Mapping[str, str],
) -> dict[str, str]:
    ips = {o.device.ip for o in timeline.observations if o.device.ip}
    seen = sorted((entry for ip in ips for entry in by_ip.get(ip, ())), key=lambda e: e[0])
    params: dict[str, str] = {}
    for _, p in seen:
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
    timing_tolerance: float | None = None,
) -> tuple[list[DeviceTimeline], list[Finding], list[str]]:
    """(timelines, findings, notes) for the observations of one or more captures;
    `timing_tolerance` (seconds) replaces the rules' default (harness.rules.tolerance)."""
    with gc_paused():
        return _judge(
            observations, family, seen_profiles, file_params, cli_params, facts, timing_tolerance
        )


GC_EVERY = 256


def _judge(
    observations: Iterable[Observation],
    family: Family,
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]],
    file_params: Mapping[str, str] | None,
    cli_params: Mapping[str, str] | None,
    facts: Mapping[str, object] | None,
    timing_tolerance: float | None = None,
) -> tuple[list[DeviceTimeline], list[Finding], list[str]]:
    timelines = build_timelines(observations)
    by_ip = _profiles_by_ip(seen_profiles)  # once: a capture may hold thousands of profiles
    findings: list[Finding] = []
    notes: list[str] = []
    for i, tl in enumerate(timelines):
        if tl.id == "unknown":
            continue
        if i % GC_EVERY == GC_EVERY - 1:
            gc.collect(0)
        ctx = RuleContext(
            family=family,
            identity=DeviceIdentity(
                product=tl.device.product, serial=tl.device.serial, mac=tl.device.mac
            ),
            parameters=_parameters(tl, by_ip, file_params or {}, cli_params or {}),
            facts=dict(facts or {}),
            timing_tolerance=timing_tolerance,
        )
        try:
            findings.extend(evaluate([tl], ctx))
        except ImportError as exc:
            notes.append(f"rules unavailable ({exc}); no findings computed")
            break
    return timelines, findings, notes
