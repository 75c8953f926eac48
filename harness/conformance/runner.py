"""Running the conformance scenarios against a device and folding their findings.

`DeviceSpec` names a device under test (the simulated phone with quirks, or a
real phone reached through `harness.device.remote`); `make_device()` builds it.
`plan(family)` lists, for every requirement of the catalog, the scenarios that
judge it. `ScenarioCache` runs each scenario once per device and hands the
findings to every requirement that asks. `fold()` turns the findings of one
requirement into one verdict (a fail wins; an inconclusive scenario keeps the
requirement from passing; skipped only when nothing judged it). No pytest and
no printing here: harness.conformance.suite and .cli use these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.conformance.scenario import Scenario, ScenarioOutcome, run_scenario, scenarios
from harness.device.base import DeviceUnderTest
from harness.rules.finding import Finding, Verdict
from harness.spec.catalog import catalog
from harness.spec.family import load_family

NO_SCENARIO = "no-scenario"
NO_SCENARIO_WHY = "no scenario yet: no registered scenario judges this requirement"


@dataclass(frozen=True)
class DeviceSpec:
    """A device under test, as named on the command line or in a devices file."""

    name: str = "sim"
    kind: str = "sim"  # sim | remote
    family: str = "cisco-8831-3pcc"
    quirks: tuple[str, ...] = ()
    address: str | None = None  # remote: the phone's admin web interface, HOST[:PORT]
    mac: str | None = None
    serial: str | None = None
    product: str | None = None
    admin_user: str | None = None
    admin_password: str | None = None
    lab_host: str = "127.0.0.1"  # remote: the address the phone reaches the lab at
    lab_ports: dict[str, int] = field(default_factory=dict)  # remote: fixed lab ports
    time_scale: float | None = None  # remote: factor applied to the spec's delays
    manual: bool = False  # remote: ask the operator for what the driver cannot do
    boot_time: float | None = None  # remote: seconds the phone takes to reboot
    min_wait: float | None = None  # remote: the shortest wait for attempts, seconds
    timing_tolerance: float | None = None  # remote: seconds (harness.rules.tolerance)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["quirks"] = list(self.quirks)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceSpec:
        data = dict(data)
        data["quirks"] = tuple(data.get("quirks") or ())
        data["lab_ports"] = dict(data.get("lab_ports") or {})
        return cls(**data)

    def describe(self) -> str:
        if self.kind == "sim":
            q = f" +{','.join(self.quirks)}" if self.quirks else " (clean)"
            return f"sim {self.family}{q}"
        return f"remote {self.product or '?'} {self.serial or '?'} at {self.address}"


def make_device(spec: DeviceSpec) -> DeviceUnderTest:
    """The DeviceUnderTest for a spec (sim: SimDevice; remote: RemoteDevice)."""
    if spec.kind == "sim":
        from harness.device.sim_device import SimDevice

        return SimDevice(spec.family, quirks=spec.quirks)
    if spec.kind == "remote":
        from harness.device.remote import RemoteDevice

        if not (spec.address and spec.mac and spec.serial and spec.product):
            raise ValueError(
                f"device {spec.name!r}: a remote device needs address, mac, serial and product"
            )
        kwargs: dict[str, Any] = {}
        for name in ("time_scale", "boot_time", "min_wait", "timing_tolerance"):
            if getattr(spec, name) is not None:
                kwargs[name] = getattr(spec, name)
        return RemoteDevice(
            spec.family,
            address=spec.address,
            mac=spec.mac,
            serial=spec.serial,
            product=spec.product,
            admin_user=spec.admin_user,
            admin_password=spec.admin_password,
            lab_host=spec.lab_host,
            lab_ports=spec.lab_ports,
            manual=spec.manual,
            **kwargs,
        )
    raise ValueError(f"device {spec.name!r}: unknown kind {spec.kind!r} (expected sim or remote)")


def plan(family: str, only: Iterable[str] | None = None) -> list[tuple[str, list[Scenario]]]:
    """Every requirement of the catalog (or `only`), with the scenarios that judge it."""
    load_family(family)  # fail early on an unknown family
    wanted = set(only) if only else None
    every = scenarios()
    out = []
    for req_id in catalog():
        if wanted is not None and req_id not in wanted:
            continue
        out.append((req_id, [s for s in every.values() if req_id in s.requirements]))
    return out


def unknown_requirements(ids: Iterable[str]) -> list[str]:
    known = catalog()
    return [i for i in ids if i not in known]


@dataclass
class RequirementResult:
    """One requirement judged by one scenario on one device."""

    requirement: str
    scenario: str
    device: str
    verdict: Verdict
    why: str
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "scenario": self.scenario,
            "device": self.device,
            "verdict": self.verdict.value,
            "why": self.why,
            "findings": [f.to_dict() for f in self.findings],
        }


def fold(findings: Iterable[Finding]) -> tuple[Verdict, str]:
    """One verdict from several findings of the same requirement, with the deciding reason."""
    items = list(findings)
    for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        hit = [f for f in items if f.verdict is verdict]
        if hit:
            return verdict, "; ".join(dict.fromkeys(f.why for f in hit))
    passed = [f for f in items if f.verdict is Verdict.PASS]
    if passed:
        return Verdict.PASS, passed[0].why
    skipped = [f.why for f in items if f.verdict is Verdict.SKIPPED]
    if skipped:
        return Verdict.SKIPPED, "; ".join(dict.fromkeys(skipped))
    return Verdict.INCONCLUSIVE, "the scenario gave no finding for this requirement"


def judge(req_id: str, outcome: ScenarioOutcome, device: str) -> RequirementResult:
    mine = [f for f in outcome.findings if f.rule == req_id]
    verdict, why = fold(mine)
    return RequirementResult(req_id, outcome.scenario.name, device, verdict, why, mine)


class ScenarioCache:
    """Runs each scenario at most once per device; later requirements reuse the outcome."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = workdir
        self._devices: dict[str, DeviceUnderTest] = {}
        self._outcomes: dict[tuple[str, str], ScenarioOutcome] = {}

    def device(self, spec: DeviceSpec) -> DeviceUnderTest:
        if spec.name not in self._devices:
            self._devices[spec.name] = make_device(spec)
        return self._devices[spec.name]

    def seen(self, spec: DeviceSpec, sc: Scenario) -> bool:
        return (spec.name, sc.name) in self._outcomes

    def outcomes(self, spec: DeviceSpec) -> list[ScenarioOutcome]:
        """Every outcome this cache holds for the device, in the order they ran."""
        return [o for (dev, _), o in self._outcomes.items() if dev == spec.name]

    def outcome(self, spec: DeviceSpec, sc: Scenario) -> ScenarioOutcome:
        key = (spec.name, sc.name)
        if key not in self._outcomes:
            workdir = None
            if self.workdir is not None:
                workdir = self.workdir / spec.name / sc.name
                workdir.mkdir(parents=True, exist_ok=True)
            self._outcomes[key] = asyncio.run(run_scenario(sc, self.device(spec), workdir=workdir))
        return self._outcomes[key]


def run_device(
    spec: DeviceSpec, only: Iterable[str] | None = None, cache: ScenarioCache | None = None
) -> list[RequirementResult]:
    """The whole suite (or `only`) against one device, without pytest (kill matrix, tools)."""
    cache = cache or ScenarioCache()
    out: list[RequirementResult] = []
    for req_id, judges in plan(spec.family, only):
        if not judges:
            out.append(
                RequirementResult(req_id, NO_SCENARIO, spec.name, Verdict.SKIPPED, NO_SCENARIO_WHY)
            )
        for sc in judges:
            out.append(judge(req_id, cache.outcome(spec, sc), spec.name))
    return out
