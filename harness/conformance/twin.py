"""The twin check: each scenario's verdicts re-judged from its own pcap, and its report entry.

`scenario_records()` turns the outcomes of a run and their cut captures
(harness.conformance.wire) into `ScenarioRecord`s (report.json `scenarios[]`):
live verdicts, parameters, identity, the lab's facts and ports, and what
`harness analyze --scenario` gives from the pcap (`pcap_verdicts`, with the
evidence frames). `NOT_ON_WIRE` lists the requirements whose evidence no
capture of the lab's loopback holds, per scenario, with the reason
(docs/twin-check.md); those are inconclusive from the pcap by design.
`with_pcap_evidence()` gives the live findings the pcap's frames and file, so a
report links every failure to its frames. No pytest, no printing here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.analyze.scenario import Rejudged, ScenarioEntry, rejudge
from harness.conformance.runner import DeviceSpec, fold
from harness.conformance.scenario import ScenarioOutcome
from harness.conformance.wire import CapturedRun, ScenarioFiles
from harness.observe.events import Evidence, Observation
from harness.report.model import ScenarioRecord
from harness.rules.finding import Finding, Verdict

# scenario -> {requirement: why its evidence is not in the scenario's capture}
_NAMESPACES = (
    "the exchange runs inside the NAT simulation's network namespaces (harness.netsim), "
    "which a capture of the lab's loopback does not see"
)
NOT_ON_WIRE: dict[str, dict[str, str]] = {
    "preprovision-through-nat": {
        "TFTP-DHCP66": f"the DHCP offer with option 66 and the LAN TFTP read: {_NAMESPACES}",
        "TFTP-DEFAULT-RULE": f"the factory-rule TFTP read on the LAN: {_NAMESPACES}",
        "REDIRECT-PREPROV": f"the resyncs to the remote server behind the NAT: {_NAMESPACES}",
    },
    "tftp-through-nat": {
        "TFTP-NAT": f"the stock clients' TFTP and HTTP through the symmetric NAT: {_NAMESPACES}",
    },
}


# Scenario facts the capture itself shows (a connection the lab left unanswered): the pcap's
# re-judge reads them from the frames, and given twice they would count twice.
ON_WIRE_FACTS = frozenset({"unanswered"})


def jsonable(value: Any) -> Any:
    """`value` as JSON data (dataclasses as dicts, sets and tuples as lists, bytes as text)."""
    return json.loads(json.dumps(value, default=_default))


def _default(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, set | frozenset):
        return sorted(o, key=str)
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    if isinstance(o, Path):
        return str(o)
    return str(o)


def live_verdicts(outcome: ScenarioOutcome) -> dict[str, str]:
    out = {}
    for req in outcome.scenario.requirements:
        verdict, _ = fold(f for f in outcome.findings if f.rule == req)
        out[req] = verdict.value
    return out


def record(
    device: str,
    family: str,
    outcome: ScenarioOutcome,
    files: ScenarioFiles | None,
    identity: Mapping[str, Any] | None,
) -> ScenarioRecord:
    reqs = list(outcome.scenario.requirements)
    nw = {r: why for r, why in NOT_ON_WIRE.get(outcome.scenario.name, {}).items() if r in reqs}
    wire = outcome.wire
    return ScenarioRecord(
        name=outcome.scenario.name,
        device=device,
        requirements=reqs,
        family=family,
        params={str(k): str(v) for k, v in outcome.parameters.items()},
        verdicts=live_verdicts(outcome),
        capture=files.capture if files else None,
        keylog=files.keylog if files else None,
        trust_ca=files.trust_ca if files else None,
        identity=dict(identity) if identity is not None else None,
        not_on_wire=nw,
        facts=jsonable({k: v for k, v in outcome.facts.items() if k not in ON_WIRE_FACTS}),
        ports=dict(wire.ports) if wire else {},
        frames=files.frames if files else 0,
        note=files.note if files else "the scenario made no traffic (skipped before it ran)",
    )


def entry_of(rec: ScenarioRecord) -> ScenarioEntry:
    """The analyzer's view of a record (what `--scenario` reads back from report.json)."""
    return ScenarioEntry(
        name=rec.name,
        device=rec.device,
        requirements=list(rec.requirements),
        capture=rec.capture,
        family=rec.family,
        params=dict(rec.params),
        verdicts=dict(rec.verdicts),
        keylog=rec.keylog,
        trust_ca=rec.trust_ca,
        identity=rec.identity,
        facts=jsonable(rec.facts),
        ports=dict(rec.ports),
        not_on_wire=dict(rec.not_on_wire),
    )


def twin(rec: ScenarioRecord) -> Rejudged | None:
    """Re-judge the record from its pcap; fills `pcap_verdicts`/`pcap_frames`."""
    if rec.capture is None or not rec.capture.is_file():
        return None
    got = rejudge(entry_of(rec))
    rec.pcap_verdicts = dict(got.verdicts)
    for req in rec.requirements:
        frames = sorted({n for f in got.findings if f.rule == req for n in f.frames})
        if frames:
            rec.pcap_frames[req] = frames
    return got


def with_pcap_frames(
    observations: list[Observation], got: Rejudged | None, capture: Path
) -> list[Observation]:
    """The live observations, each with the frames of its twin in the pcap (same kind, same
    client address and port, same server port) as its evidence, where there is one."""
    if got is None:
        return observations
    by_flow: dict[tuple, list[Observation]] = {}
    for o in got.observations:
        if o.client and o.server and o.evidence.frames:
            by_flow.setdefault((o.kind, tuple(o.client), o.server[1]), []).append(o)
    out = []
    for o in observations:
        twins = (
            by_flow.get((o.kind, tuple(o.client or ()), (o.server or (None, None))[1]))
            if o.client and o.server
            else None
        )
        if twins:
            pcap = twins.pop(0)
            o = dataclasses.replace(
                o, evidence=Evidence(f"capture:{capture}", pcap.evidence.frames, o.evidence.source)
            )
        out.append(o)
    return out


def with_pcap_evidence(outcome: ScenarioOutcome, rec: ScenarioRecord) -> list[Finding]:
    """The outcome's findings, each naming the scenario's pcap and the pcap's evidence frames."""
    if rec.capture is None:
        return list(outcome.findings)
    src = f"capture:{rec.capture}"
    out = []
    for f in outcome.findings:
        if f.verdict in (Verdict.SKIPPED,):
            out.append(f)
            continue
        frames = f.frames or tuple(rec.pcap_frames.get(f.rule, ()))
        evidence = f.evidence if src in f.evidence else (*f.evidence, src)
        out.append(dataclasses.replace(f, frames=tuple(frames), evidence=tuple(evidence)))
    return out


def disagreements(records: Iterable[ScenarioRecord]) -> list[tuple[ScenarioRecord, str, str, str]]:
    """(record, requirement, live, pcap) where the pcap verdict differs from the live one
    (a requirement listed under not_on_wire must be inconclusive from the pcap)."""
    out = []
    for rec in records:
        if rec.capture is None:
            continue
        for req, live in rec.verdicts.items():
            pcap = rec.pcap_verdicts.get(req, "missing")
            want = "inconclusive" if req in rec.not_on_wire else live
            if live == "skipped":
                continue
            if pcap != want:
                out.append((rec, req, live, pcap))
    return out


def twin_records(captured: CapturedRun, spec: DeviceSpec) -> list[ScenarioRecord]:
    """The records of a `run_captured` run, each re-judged from its pcap."""
    from harness.conformance.runner import make_device

    identity = dataclasses.asdict(make_device(spec).identity)
    out = []
    for oc in captured.outcomes:
        if oc.wire is None:
            continue
        rec = record(
            spec.name, spec.family, oc, captured.files.get((spec.name, oc.scenario.name)), identity
        )
        twin(rec)
        out.append(rec)
    return out
