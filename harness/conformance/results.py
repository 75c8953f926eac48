"""A conformance run's results: scenario outcomes kept on disk, folded into a `RunReport`.

Each pytest worker stores every scenario outcome it ran as a pickle under
`<workdir>/outcomes/<device>/<scenario>.pickle` (xdist workers are separate
processes; the controller reads them back at the end). `build_run_report()`
makes one `DeviceRun` per device from them, adds a SKIPPED finding for every
requirement no scenario judges, and `write_run_reports()` hands the run to
`harness.report.write.write_reports` (or, until that exists, writes
report.json with `harness.report.json_report`). No pytest and no judging here.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.conformance.killmatrix import table_from_devices
from harness.conformance.runner import NO_SCENARIO_WHY, DeviceSpec, plan
from harness.conformance.scenario import Scenario, ScenarioOutcome, scenarios
from harness.conformance.twin import record, twin, with_pcap_evidence, with_pcap_frames
from harness.conformance.wire import write_scenario_captures
from harness.report.model import DeviceRun, RunReport
from harness.rules.finding import Finding, Verdict


def outcome_path(workdir: Path, device: str, scenario: str) -> Path:
    return workdir / "outcomes" / device / f"{scenario}.pickle"


def store_outcome(workdir: Path, device: str, outcome: ScenarioOutcome) -> Path:
    path = outcome_path(workdir, device, outcome.scenario.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # the scenario by name: its function may be a closure, which does not pickle
    data = (outcome.scenario.name, outcome.scenario.requirements, outcome.findings)
    data += (outcome.observations, outcome.parameters, outcome.problems)
    data += (outcome.facts, outcome.wire)
    tmp.write_bytes(pickle.dumps(data))
    tmp.replace(path)
    return path


def load_outcomes(workdir: Path, device: str) -> list[ScenarioOutcome]:
    folder = workdir / "outcomes" / device
    out = []
    known = scenarios()
    for path in sorted(folder.glob("*.pickle")):
        name, reqs, findings, observations, parameters, problems, facts, wire = pickle.loads(  # noqa: S301
            path.read_bytes()
        )
        sc = known.get(name) or Scenario(name, tuple(reqs), _gone)
        out.append(ScenarioOutcome(sc, findings, observations, parameters, problems, facts, wire))
    return out


async def _gone(run: object) -> None:  # stands in for a scenario no longer registered
    raise RuntimeError("scenario no longer registered")


def device_run(
    spec: DeviceSpec,
    outcomes: Iterable[ScenarioOutcome],
    *,
    identity: Any = None,
    only: Iterable[str] | None = None,
    captures: Iterable[Path] = (),
    keylogs: Iterable[Path] = (),
) -> DeviceRun:
    outcomes = list(outcomes)
    run = DeviceRun.from_outcomes(
        outcomes,
        id=spec.name,
        description=spec.describe(),
        family=spec.family,
        identity=identity,
        quirks=spec.quirks,
        captures=captures,
        keylogs=keylogs,
    )
    for req_id, judges in plan(spec.family, only):
        if not judges:
            run.findings.append(Finding(req_id, Verdict.SKIPPED, NO_SCENARIO_WHY, spec.name))
    return run


def build_run_report(
    specs: Iterable[DeviceSpec],
    workdir: Path,
    *,
    only: Iterable[str] | None = None,
    meta: Mapping[str, Any] | None = None,
    identities: Mapping[str, Any] | None = None,
    run_captures: Iterable[Path] = (),
    capture_dir: Path | None = None,
) -> RunReport:
    """The run's report: per device its outcomes; per scenario its pcap (cut from the run's
    `run_captures` into `capture_dir`), its record and its twin-check verdicts."""
    only = list(only or [])
    specs = list(specs)
    capture_dir = capture_dir or workdir / "captures"
    outcomes = {spec.name: load_outcomes(workdir, spec.name) for spec in specs}
    run_captures = list(run_captures)
    files = write_scenario_captures(
        run_captures, outcomes, capture_dir, {s.name: s.describe() for s in specs}
    )
    devices = []
    records = []
    for spec in specs:
        ident = (identities or {}).get(spec.name)
        ident_dict = dataclasses.asdict(ident) if dataclasses.is_dataclass(ident) else ident
        judged = []
        captures: list[Path] = []
        for oc in outcomes[spec.name]:
            if oc.wire is None:
                judged.append(oc)
                continue
            rec = record(
                spec.name, spec.family, oc, files.get((spec.name, oc.scenario.name)), ident_dict
            )
            got = None
            try:
                got = twin(rec)
            except Exception as exc:  # a capture the analyzer cannot read must not lose the run
                rec.note = f"twin check failed: {type(exc).__name__}: {exc}"
            records.append(rec)
            if rec.capture is None:
                judged.append(oc)
                continue
            captures.append(rec.capture)
            observations = with_pcap_frames(oc.observations, got, rec.capture)
            findings = with_pcap_evidence(oc, rec)
            judged.append(dataclasses.replace(oc, findings=findings, observations=observations))
        devices.append(
            device_run(spec, judged, identity=ident, only=only or None, captures=captures)
        )
    return RunReport(
        meta=dict(meta or {}),
        devices=devices,
        scenarios=records,
        captures=[p for p in run_captures if Path(p).is_file()],  # the whole run's capture
        kill_matrix=table_from_devices(devices),
    )


def write_run_reports(
    report: RunReport, out_dir: Path, baseline: Path | None = None
) -> dict[str, Path]:
    """Write the run's reports; returns what was written (name -> path)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        from harness.report.write import write_reports
    except ImportError:
        write_reports = None
    if write_reports is not None:
        written = write_reports(report, out_dir, baseline=baseline)
        if isinstance(written, Mapping):
            return {str(k): Path(v) for k, v in written.items()}
        return {p.name: Path(p) for p in (written or [])}
    from harness.report.json_report import build_report, dumps

    findings = [f for d in report.devices for f in d.attributed_findings()]
    observations = [o for d in report.devices for o in d.observations]
    data = build_report(captures=[], observations=observations, findings=findings, meta=report.meta)
    path = out_dir / "report.json"
    path.write_text(dumps(data))
    return {"report.json": path}
