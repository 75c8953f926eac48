"""The run model every report is rendered from: a `RunReport` of `DeviceRun`s.

A `DeviceRun` is one device under test in one run: what it is (description,
family, identity, quirks), the findings the rules gave it, the observations
they were judged on (optionally split into `Session`s, one per scenario, each
on its own clock and with its own parameters), and the evidence files
(captures, TLS key logs). `requirement_verdict()` folds several findings on
one requirement into the one verdict a matrix cell shows. A run of quirky
simulated phones may carry a `KillMatrixTable` (quirks x requirements). Only data and pure
folding here: no rendering, no file or socket I/O, no judging.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.observe.events import Observation
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import DeviceIdentity
from harness.spec.catalog import catalog

# How several findings on one requirement fold into one verdict: the first
# present in this order wins (one failure fails the requirement; a pass next to
# an inconclusive is inconclusive; skipped only when nothing else was said).
VERDICT_PRECEDENCE = (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.SKIPPED)


@dataclass
class Session:
    """One stretch of a device's traffic on one clock (a scenario run, a capture)."""

    name: str
    observations: list[Observation] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)  # the device's, for the bands


@dataclass
class DeviceRun:
    id: str
    description: str = ""
    family: str = ""
    identity: DeviceIdentity = field(default_factory=DeviceIdentity)
    findings: list[Finding] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    captures: list[Path] = field(default_factory=list)
    keylogs: list[Path] = field(default_factory=list)
    quirks: list[str] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)  # used when there are no sessions
    sessions: list[Session] = field(default_factory=list)

    def timeline_sessions(self) -> list[Session]:
        """The sessions to plot: the given ones, else all observations as one session."""
        if self.sessions:
            return self.sessions
        if not self.observations:
            return []
        return [Session(self.id, list(self.observations), dict(self.parameters))]

    def findings_for(self, req_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == req_id]

    def verdict(self, req_id: str) -> Verdict | None:
        """The folded verdict on a requirement, or None when no rule said anything."""
        return requirement_verdict(self.findings_for(req_id))

    def verdicts(self) -> dict[str, Verdict]:
        """Requirement ID -> folded verdict, for every requirement with a finding."""
        out: dict[str, Verdict] = {}
        for req_id in dict.fromkeys(f.rule for f in self.findings):
            v = self.verdict(req_id)
            if v is not None:
                out[req_id] = v
        return out

    def attributed_findings(self) -> list[Finding]:
        """The findings with `device` filled in (this run's id) where a rule left it empty."""
        return [f if f.device else dataclasses.replace(f, device=self.id) for f in self.findings]

    @classmethod
    def from_outcomes(
        cls,
        outcomes: Iterable[Any],
        *,
        id: str,
        description: str = "",
        family: str = "",
        identity: DeviceIdentity | None = None,
        quirks: Iterable[str] = (),
        captures: Iterable[Path] = (),
        keylogs: Iterable[Path] = (),
    ) -> DeviceRun:
        """A DeviceRun from scenario outcomes (`harness.conformance.scenario.ScenarioOutcome`):
        one session per scenario, findings and observations concatenated."""
        run = cls(
            id=id,
            description=description,
            family=family,
            identity=identity or DeviceIdentity(),
            quirks=list(quirks),
            captures=list(captures),
            keylogs=list(keylogs),
        )
        for out in outcomes:
            run.findings.extend(out.findings)
            run.observations.extend(out.observations)
            if out.observations:
                run.sessions.append(
                    Session(out.scenario.name, list(out.observations), dict(out.parameters))
                )
        return run


@dataclass
class ScenarioRecord:
    """One scenario run on one device, with what re-judging it from its own pcap needs
    (report.json `scenarios[]`, docs/report-json.md). Paths are files on disk; the report
    writes them relative to itself."""

    name: str
    device: str
    requirements: list[str]
    family: str
    params: dict[str, str]
    verdicts: dict[str, str]  # requirement -> the live verdict
    capture: Path | None = None
    keylog: Path | None = None
    trust_ca: Path | None = None
    identity: dict[str, Any] | None = None
    not_on_wire: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # JSON-ready
    ports: dict[str, int] = field(default_factory=dict)
    frames: int = 0  # frames in the capture
    pcap_verdicts: dict[str, str] = field(default_factory=dict)  # the twin check's verdicts
    pcap_frames: dict[str, list[int]] = field(default_factory=dict)  # requirement -> evidence
    note: str = ""


# The cells of the kill-matrix table (what happened to a requirement under a quirk).
KILL, SURVIVES, NOT_RUN, EXTRA_FAIL = "KILL", "SURVIVES", "not run", "EXTRA FAIL"


@dataclass
class KillRow:
    """One quirk (or one device's set of quirks) against the requirements."""

    quirk: str
    breaks: tuple[str, ...]  # the requirements the quirk names
    status: str  # killed | survives ... | over-kills ... | not run
    cells: dict[str, str] = field(default_factory=dict)  # requirement -> KILL | SURVIVES | ...
    families: list[str] = field(default_factory=list)


@dataclass
class KillMatrixTable:
    """Quirks x requirements, as the report shows it (see harness.conformance.killmatrix)."""

    requirements: list[str]
    rows: list[KillRow]
    source: str = ""  # what produced it: "harness conform" run, or a kill-matrix build

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "requirements": list(self.requirements),
            "quirks": [
                {
                    "quirk": r.quirk,
                    "breaks": list(r.breaks),
                    "status": r.status,
                    "families": list(r.families),
                    "cells": dict(r.cells),
                }
                for r in self.rows
            ],
        }


@dataclass
class RunReport:
    meta: dict[str, Any] = field(default_factory=dict)
    devices: list[DeviceRun] = field(default_factory=list)
    kill_matrix: KillMatrixTable | None = None  # when the run had quirky simulated phones
    scenarios: list[ScenarioRecord] = field(default_factory=list)  # harness conform runs
    captures: list[Path] = field(default_factory=list)  # every capture the run was made from

    def capture_files(self) -> list[Path]:
        """The captures the run was made from: the run's own list, then every device's and
        scenario's, each once, in that order."""
        seen: dict[str, Path] = {}
        for p in [*self.captures, *(p for d in self.devices for p in d.captures)]:
            seen.setdefault(str(p), Path(p))
        for s in self.scenarios:
            if s.capture is not None:
                seen.setdefault(str(s.capture), Path(s.capture))
        return list(seen.values())

    def requirement_ids(self, *, all_catalog: bool = True) -> list[str]:
        """Matrix rows: catalog order; IDs no device has a finding for are kept when
        `all_catalog` (coverage shows), and unknown IDs (not in the catalog) come last."""
        seen = dict.fromkeys(f.rule for d in self.devices for f in d.findings)
        known = [r for r in catalog() if all_catalog or r in seen]
        return known + [r for r in seen if r not in catalog()]

    def counts(self) -> dict[str, int]:
        """How many (device, requirement) cells have each verdict."""
        out = {v.value: 0 for v in Verdict}
        for d in self.devices:
            for v in d.verdicts().values():
                out[v.value] += 1
        return out


def requirement_verdict(findings: Iterable[Finding]) -> Verdict | None:
    present = {f.verdict for f in findings}
    return next((v for v in VERDICT_PRECEDENCE if v in present), None)


def identity_dict(identity: DeviceIdentity) -> dict[str, str | None]:
    return dataclasses.asdict(identity)
