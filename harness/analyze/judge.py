"""Judging analyzed captures: timelines per device, parameters per device, rule findings.

`judge(observations, family, ...)` builds the device timelines, gives each the
parameters the rules need (capture profile for that device < --profile <
--param) and runs `harness.rules.evaluate` on it. Identity: a device the user stated (`--device`,
`harness.analyze.devices`) gives the rules its identity (`RuleContext.identity`,
and the fact `stated_identity`); otherwise the identity the traffic shows fills
`RuleContext.identity` for macro expansion and `stated_identity` is None, so the
identity rules never judge a User-Agent or a certificate against itself.
A client with no phone identity (no family User-Agent, no client certificate, no
DHCP vendor class, not stated) is an *other client*: listed, not judged
(`judge` returns their ids and reasons); those the analyzer already counted
(harness.analyze.keep) never reach here. The rules are whatever the
registry holds; when a rule module cannot be imported the reason is returned
as a note, never raised. No parsing and no output here.

The cyclic garbage collector is paused while judging (the rules allocate many
short-lived, acyclic objects over a heap holding every observation, where each of
the collector's full passes costs much and finds little); the youngest generation
is still collected every `GC_EVERY` timelines.

`jobs` > 1 (`harness analyze -j N`): the devices are judged by N processes
(forked once the timelines are built, so nothing is sent to them; each sends
back its devices' findings as plain tuples); the result is the one of one
process, in the same order.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from collections.abc import Callable, Iterable, Mapping
from multiprocessing.connection import Connection

from harness.analyze.devices import StatedDevice, stated_for
from harness.analyze.keep import phone_evidence as observation_phone_evidence
from harness.gc_pause import gc_paused
from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.rules import Finding, RuleContext, Verdict, evaluate
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


OTHER_CLIENT = (
    "no phone identity: no User-Agent in a phone family's format, no client certificate, "
    "no DHCP vendor class, not named by --device"
)


def phone_evidence(timeline: DeviceTimeline) -> str | None:
    """What says this client is a phone (None: nothing; it is an other client)."""
    for o in timeline.observations:
        why = observation_phone_evidence(o)
        if why is not None:
            return why
    return None


def judge(
    observations: Iterable[Observation],
    family: Family,
    *,
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]] = (),
    file_params: Mapping[str, str] | None = None,
    cli_params: Mapping[str, str] | None = None,
    facts: Mapping[str, object] | None = None,
    timing_tolerance: float | None = None,
    stated: Iterable[StatedDevice] = (),
    other_clients: dict[str, str] | None = None,
    jobs: int = 1,
) -> tuple[list[DeviceTimeline], list[Finding], list[str]]:
    """(timelines, findings, notes) for the observations of one or more captures.

    `timing_tolerance` (seconds) replaces the rules' default (harness.rules.tolerance);
    `stated`: the devices the user named; `other_clients`, when given, is filled with
    the id -> reason of every client left unjudged (see the module docstring);
    `jobs`: processes that judge the devices (the same result).
    """
    with gc_paused():
        return _judge(
            observations,
            family,
            seen_profiles,
            file_params,
            cli_params,
            facts,
            timing_tolerance,
            list(stated),
            other_clients if other_clients is not None else {},
            jobs,
        )


GC_EVERY = 256
MIN_PER_JOB = 64  # devices: fewer are judged in one process (forking costs more)


def _judge(
    observations: Iterable[Observation],
    family: Family,
    seen_profiles: Iterable[tuple[str, str, dict[str, str]]],
    file_params: Mapping[str, str] | None,
    cli_params: Mapping[str, str] | None,
    facts: Mapping[str, object] | None,
    timing_tolerance: float | None,
    stated: list[StatedDevice],
    other_clients: dict[str, str],
    jobs: int = 1,
) -> tuple[list[DeviceTimeline], list[Finding], list[str]]:
    timelines = build_timelines(observations)
    keyless = [d for d in stated if not (d.serial or d.mac or d.ip)]  # product only: any phone
    by_ip = _profiles_by_ip(seen_profiles)  # once: a capture may hold thousands of profiles
    findings: list[Finding] = []
    notes: list[str] = []
    todo: list[tuple[DeviceTimeline, StatedDevice | None]] = []
    for tl in timelines:
        if tl.id == "unknown":
            continue
        named = stated_for(stated, tl)
        if named is None:
            if phone_evidence(tl) is None:
                other_clients[tl.id] = OTHER_CLIENT
                continue
            named = keyless[0] if len(keyless) == 1 else None
        todo.append((tl, named))

    def judge_range(part: int, parts: int) -> list[list[Finding] | str]:
        """Findings of every `parts`-th device from `part` (a note where rules failed)."""
        out: list[list[Finding] | str] = []
        for n, (tl, named) in enumerate(todo[part::parts]):
            if n % GC_EVERY == GC_EVERY - 1:
                gc.collect(0)
            got = _judge_one(tl, named, family, by_ip, file_params, cli_params, facts,
                             timing_tolerance)  # fmt: skip
            out.append(got)
            if isinstance(got, str):
                break
        return out

    parts = max(1, min(jobs, len(todo) // MIN_PER_JOB))
    results = judge_range(0, 1) if parts == 1 else _forked(judge_range, parts)
    for got in results:
        if isinstance(got, str):
            notes.append(got)
            break
        findings.extend(got)
    return timelines, findings, notes


def _forked(
    judge_range: Callable[[int, int], list[list[Finding] | str]], parts: int
) -> list[list[Finding] | str]:
    """`judge_range(0, 1)`'s result computed by `parts` processes: this one judges the
    first share while forked children judge the others and send their findings back."""
    ctx = multiprocessing.get_context("fork")
    children = []
    for part in range(1, parts):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(judge_range, part, parts, send), daemon=True)
        proc.start()
        send.close()
        children.append((proc, recv))
    shares = [judge_range(0, parts)]
    for part, (proc, recv) in enumerate(children, 1):
        try:
            shares.append(_unpack(recv.recv_bytes()))
        except EOFError:
            proc.join()
            raise RuntimeError(f"judging process {part} died (exit code {proc.exitcode})") from None
        finally:
            recv.close()
        proc.join()
    out: list[list[Finding] | str] = []
    for n in range(max(len(s) for s in shares)):  # back to the devices' order
        for share in shares:
            if n < len(share):
                out.append(share[n])
                if isinstance(share[n], str):
                    return out
    return out


def _child(
    judge_range: Callable[[int, int], list[list[Finding] | str]],
    part: int,
    parts: int,
    send: Connection,
) -> None:
    got = judge_range(part, parts)
    plain = [g if isinstance(g, str) else [(*_fields(f), f.verdict.value) for f in g] for g in got]
    send.send_bytes(pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL))
    send.close()


def _fields(f: Finding) -> tuple:
    return f.rule, f.why, f.device, f.time, f.frames, f.evidence


def _unpack(data: bytes) -> list[list[Finding] | str]:
    return [
        g
        if isinstance(g, str)
        else [Finding(r, Verdict(v), why, d, t, fr, ev) for r, why, d, t, fr, ev, v in g]
        for g in pickle.loads(data)
    ]


def _judge_one(
    tl: DeviceTimeline,
    named: StatedDevice | None,
    family: Family,
    by_ip: dict[str, list[tuple[int, dict[str, str]]]],
    file_params: Mapping[str, str] | None,
    cli_params: Mapping[str, str] | None,
    facts: Mapping[str, object] | None,
    timing_tolerance: float | None,
) -> list[Finding] | str:
    """One device's findings; a note (str) when the rules cannot be loaded."""
    seen = tl.device
    given = (
        DeviceIdentity(product=named.product, serial=named.serial, mac=named.mac)
        if named is not None
        else None
    )
    ctx = RuleContext(
        family=family,
        # the stated identity, completed by what the traffic shows (for macros only:
        # the identity rules read `stated_identity`)
        identity=DeviceIdentity(
            product=(given and given.product) or seen.product,
            serial=(given and given.serial) or seen.serial,
            mac=(given and given.mac) or seen.mac,
        ),
        parameters=_parameters(tl, by_ip, file_params or {}, cli_params or {}),
        facts={**(facts or {}), "stated_identity": given},
        timing_tolerance=timing_tolerance,
    )
    try:
        return evaluate([tl], ctx)
    except ImportError as exc:
        return f"rules unavailable ({exc}); no findings computed"
