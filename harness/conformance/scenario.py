"""Scenarios: how one requirement (or a few) is put to a device, and judged.

A `Scenario` arranges the lab's endpoints, makes the device provision
(`ScenarioRun.provision`) and waits for what it needs; the rules then judge
the lab's observations. `run_scenario()` gives each scenario a fresh lab on the
device's clock (virtual time for the simulated phone), so the spec's hour-long
delays take no wall time. Scenarios are registered with `@scenario(...)` in the
modules of `harness.conformance.scenarios`; the conformance suite, the kill
matrix and the rule tests all run the same scenarios. No judging here: rules.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.clock import VirtualClock
from harness.device.base import VIRTUAL_TIME, DeviceUnderTest, DeviceUnsupported
from harness.endpoints.lab import ProvisioningLab
from harness.observe.events import Observation
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, evaluate
from harness.spec.family import Family


def lab_clock_start() -> float:
    """Where a scenario's virtual clock starts: the real time, as on a phone set by NTP.

    The lab's CA dates its certificates on real time (and the TLS stacks check them on
    it), while the phone's clock is the time line of its pcap (docs/twin-check.md): a
    fixed epoch in the past made every served certificate "not yet valid" on the
    phone's own clock, so the capture contradicted what the phone accepted live."""
    return time.time()


@dataclass
class ScenarioRun:
    """What a scenario works with: the lab, the device, and what it tells the rules."""

    lab: ProvisioningLab
    device: DeviceUnderTest
    family: Family
    parameters: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    # ports of harness-internal hops (a relay in front of the lab): kept out of the pcap
    internal_ports: set[int] = field(default_factory=set)

    async def provision(self, power_up: bool = True, **parameters: str) -> None:
        """Configure the device with these parameters (kept for the rules) and start it."""
        self.parameters.update(parameters)
        applied = await self.device.provision(self.lab, dict(self.parameters), power_up=power_up)
        if applied:  # a real phone runs with shortened delays: the rules judge those
            self.parameters.update(applied)

    async def wait_attempts(self, count: int, timeout: float) -> bool:
        return await self.device.wait_attempts(count, timeout)

    def context(self) -> RuleContext:
        facts = {"syslog_server": self.lab.syslog.url, **self.facts}
        tolerance = getattr(self.device, "timing_tolerance", None)  # a real phone may set one
        return RuleContext(
            self.family, self.device.identity, dict(self.parameters), facts, tolerance
        )

    def findings(self, only: Iterable[str] | None = None) -> list[Finding]:
        return evaluate(self.lab.timelines(), self.context(), only=only)


ScenarioFn = Callable[[ScenarioRun], Awaitable[None]]


def control_ports(device: DeviceUnderTest) -> tuple[int, ...]:
    """The ports the harness drives a real phone on (its admin web interface): not evidence."""
    admin = getattr(device, "address", None)
    if not isinstance(admin, str) or getattr(device, "source_address", None):
        return ()
    parts = urlsplit(admin)
    try:
        port = parts.port
    except ValueError:
        return ()
    return (port or (443 if parts.scheme == "https" else 80),)


def device_addresses(device: DeviceUnderTest, lab: object = None) -> tuple[str, ...]:
    """The device's own IPv4 addresses as the capture sees them in `lab` (sim: its loopback
    address there; none when the scenario never provisioned the simulated phone)."""
    address_in = getattr(device, "source_address_in", None)
    if address_in is not None:
        own = address_in(lab)
        return (own,) if own else ()
    admin = getattr(device, "address", None)  # a real phone: the host of its admin interface
    host = urlsplit(admin).hostname if isinstance(admin, str) else None
    return (host,) if host else ()


@dataclass(frozen=True)
class Scenario:
    name: str
    requirements: tuple[str, ...]  # the requirement IDs this scenario's findings judge
    run: ScenarioFn
    needs: frozenset[str] = frozenset()  # device capabilities (harness.device.base)
    families: tuple[str, ...] = ("*",)
    doc: str = ""

    def applies_to(self, family: str) -> bool:
        return "*" in self.families or family in self.families


_SCENARIOS: dict[str, Scenario] = {}


def scenario(
    *requirements: str,
    name: str | None = None,
    needs: Iterable[str] = (),
    families: Iterable[str] = ("*",),
) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register `fn` as the scenario that puts `requirements` to a device."""

    def deco(fn: ScenarioFn) -> ScenarioFn:
        key = name or fn.__name__.removeprefix("scenario_").replace("_", "-")
        if key in _SCENARIOS and _SCENARIOS[key].run is not fn:
            raise ValueError(f"scenario {key!r} registered twice")
        _SCENARIOS[key] = Scenario(
            key,
            tuple(requirements),
            fn,
            frozenset(needs),
            tuple(families),
            (fn.__doc__ or "").strip(),
        )
        return fn

    return deco


def scenarios() -> dict[str, Scenario]:
    """Every registered scenario (imports the modules of harness.conformance.scenarios)."""
    import harness.conformance.scenarios as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    return dict(_SCENARIOS)


def scenarios_for(requirement: str) -> list[Scenario]:
    return [s for s in scenarios().values() if requirement in s.requirements]


@dataclass
class WireRecord:
    """What cutting the scenario's traffic out of a run's capture needs (harness.capture.split)."""

    addresses: tuple[str, ...]  # the device's IPv4 addresses during the scenario
    start: float  # real (wall-clock) epoch seconds: the lab started
    end: float  # the lab stopped
    journal: list[tuple[float, float]] | None  # the VirtualClock's (real, virtual); None: real
    keylog: str | None = None  # the lab's NSS key log file
    trust_ca_pem: bytes | None = None  # the server CA the device was told to trust
    ports: dict[str, int] = field(default_factory=dict)  # the lab's UDP ports: dns, tftp, syslog
    control_ports: tuple[int, ...] = ()  # the harness's own traffic with the device (admin UI)


@dataclass
class ScenarioOutcome:
    scenario: Scenario
    findings: list[Finding]  # only those of the scenario's requirements
    observations: list[Observation]
    parameters: dict[str, str]
    problems: list[str]
    facts: dict[str, Any] = field(default_factory=dict)  # what the lab did (the rules' facts)
    wire: WireRecord | None = None  # None: the scenario made no traffic (skipped)


async def run_scenario(
    sc: Scenario, device: DeviceUnderTest, *, workdir: Path | None = None
) -> ScenarioOutcome:
    """Run one scenario against `device` in a fresh lab; judge its requirements."""
    family = device.family
    missing = sorted(sc.needs - device.capabilities)
    if missing or not sc.applies_to(family.name):
        why = (
            f"the device cannot do what the scenario needs: {', '.join(missing)}"
            if missing
            else f"the scenario does not apply to family {family.name}"
        )
        skipped = [
            Finding(r, Verdict.SKIPPED, why, device.identity.serial) for r in sc.requirements
        ]
        return ScenarioOutcome(sc, skipped, [], {}, [])
    clock = VirtualClock(start=lab_clock_start()) if VIRTUAL_TIME in device.capabilities else None
    root = workdir / "root" if workdir else None
    keylog = workdir / "tls-keys.log" if workdir else None
    lab_options = getattr(device, "lab_options", None)  # a real phone: reachable host, fixed ports
    extra = lab_options() if lab_options else {}
    lab = ProvisioningLab(root, clock=clock, keylog_path=keylog, **extra)
    started = time.time()
    await lab.start_async()
    run = ScenarioRun(lab, device, family)

    wire_record = WireRecord(
        addresses=(),
        start=started,
        end=started,
        journal=None,
        keylog=str(keylog) if keylog else None,
        trust_ca_pem=lab.server_ca.cert_pem.bytes(),
        ports={"dns": lab.dns.port, "tftp": lab.tftp.port, "syslog": lab.syslog.port},
        control_ports=control_ports(device),
    )

    def wire() -> WireRecord:  # completed once the device has stopped (see below)
        return wire_record

    def device_stopped() -> None:
        wire_record.addresses = device_addresses(device, lab)
        wire_record.control_ports = (*wire_record.control_ports, *sorted(run.internal_ports))
        wire_record.end = time.time()
        wire_record.journal = list(clock.journal) if clock is not None else None

    try:
        try:
            await sc.run(run)
        except DeviceUnsupported as exc:
            skipped = [
                Finding(r, Verdict.SKIPPED, str(exc), device.identity.serial)
                for r in sc.requirements
            ]
            return ScenarioOutcome(
                sc,
                skipped,
                lab.observations,
                run.parameters,
                lab.problems,
                run.context().facts,
                wire(),
            )
        finally:
            await device.stop()
            device_stopped()
        findings = run.findings(only=sc.requirements)
        judged = {f.rule for f in findings}
        for r in sc.requirements:
            if r not in judged:
                why = "no rule judged this requirement (no rule registered, or the device made no traffic)"
                findings.append(Finding(r, Verdict.INCONCLUSIVE, why, device.identity.serial))
        return ScenarioOutcome(
            sc,
            findings,
            lab.observations,
            run.parameters,
            lab.problems,
            run.context().facts,
            wire(),
        )
    finally:
        await lab.stop_async()
