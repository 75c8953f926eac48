"""Re-judging one conformance scenario from its own pcap (`harness analyze --scenario`).

A `harness conform` report.json lists, under `scenarios`, every scenario run
with what re-judging it needs: its capture (and key log, trusted CA), family,
parameters, the device's configured identity, the lab's UDP ports, the lab's
`facts` (what the harness itself did: what it served, when it powered the
phone up) and the live `verdicts`. `load_entry("report.json#NAME")` finds one
(`NAME` or `NAME@DEVICE`); `rejudge(entry)` analyzes the capture (its TLS with what
`--trust-ca`/`--keylog` would give, the https Profile_Rule hosts and the family's
name-check settings: `tls_options`) and runs the
scenario's rules with that context, as the live run did over its endpoints'
records. A requirement the entry lists under `not_on_wire` is inconclusive with
that reason: its evidence is not in the capture. No printing and no report
writing here (harness.analyze.cli does that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analyze.engine import Ports, analyze_capture
from harness.analyze.tls import TlsOptions, profile_rule_hosts
from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec.family import Family, load_family

NOT_ON_WIRE = "not on the wire"


class ScenarioRefError(ValueError):
    """`--scenario REPORT.json#NAME` names no readable report or no such scenario."""


@dataclass
class ScenarioEntry:
    """One `scenarios[]` entry of report.json, paths resolved against the report's folder."""

    name: str
    device: str
    requirements: list[str]
    capture: Path | None
    family: str
    params: dict[str, str]
    verdicts: dict[str, str]
    keylog: Path | None = None
    trust_ca: Path | None = None
    identity: dict[str, Any] | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    not_on_wire: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: Path) -> ScenarioEntry:
        def path(key: str) -> Path | None:
            v = d.get(key)
            return (base / v) if isinstance(v, str) and v else None

        return cls(
            name=str(d["name"]),
            device=str(d["device"]),
            requirements=[str(r) for r in d.get("requirements") or []],
            capture=path("capture"),
            family=str(d["family"]),
            params={str(k): str(v) for k, v in (d.get("params") or {}).items()},
            verdicts={str(k): str(v) for k, v in (d.get("verdicts") or {}).items()},
            keylog=path("keylog"),
            trust_ca=path("trust_ca"),
            identity=d.get("identity"),
            facts=dict(d.get("facts") or {}),
            ports={str(k): int(v) for k, v in (d.get("ports") or {}).items()},
            not_on_wire={str(k): str(v) for k, v in (d.get("not_on_wire") or {}).items()},
        )


def load_entry(ref: str) -> ScenarioEntry:
    """The entry `REPORT.json#NAME` (or `#NAME@DEVICE` when several devices ran it)."""
    report, sep, name = ref.partition("#")
    if not sep or not name:
        raise ScenarioRefError(f"--scenario {ref!r}: expected REPORT.json#NAME")
    path = Path(report)
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ScenarioRefError(f"--scenario {ref!r}: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioRefError(f"--scenario {ref!r}: {path} is not JSON: {exc}") from None
    entries = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ScenarioRefError(
            f"--scenario: {path} has no `scenarios` (not a harness conform report)"
        )
    want, _, device = name.partition("@")
    hits = [
        e
        for e in entries
        if isinstance(e, dict)
        and e.get("name") == want
        and (not device or e.get("device") == device)
    ]
    if not hits:
        known = sorted({str(e.get("name")) for e in entries if isinstance(e, dict)})
        raise ScenarioRefError(
            f"--scenario: no scenario {name!r} in {path} (known: {', '.join(known[:60])})"
        )
    if len(hits) > 1:
        devices = ", ".join(str(e.get("device")) for e in hits)
        raise ScenarioRefError(
            f"--scenario: {want!r} ran on several devices ({devices}): say {want}@DEVICE"
        )
    try:
        return ScenarioEntry.from_dict(hits[0], path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioRefError(
            f"--scenario: entry {name!r} in {path} is malformed: {exc}"
        ) from None


@dataclass
class Rejudged:
    findings: list[Finding]  # the scenario's requirements only
    verdicts: dict[str, str]  # requirement -> folded verdict
    timelines: list[DeviceTimeline]
    observations: list[Observation]
    notes: list[str]


_PRECEDENCE = (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.SKIPPED)


def fold(findings: list[Finding]) -> Verdict:
    present = {f.verdict for f in findings}
    return next((v for v in _PRECEDENCE if v in present), Verdict.INCONCLUSIVE)


def _rule_key(family, params: dict[str, str]) -> str | None:  # noqa: ANN001
    from harness.analyze.params import rule_key  # the profile key (the CLI uses it too)

    return rule_key(family, params)


def _read(path: Path | None) -> bytes:
    if path is None or not path.is_file():
        return b""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def tls_options(entry: ScenarioEntry, family: Family) -> TlsOptions:
    """What `harness analyze --trust-ca --keylog` would be given for the scenario: the CA
    the device trusted, the key log beside the capture, the hosts of its https
    Profile_Rules (the name it meant to reach) and its family's name-check settings."""
    trust = _read(entry.trust_ca)
    return TlsOptions(
        keylog_text=_read(entry.keylog).decode("utf-8", "replace"),
        trust_pem=(trust,) if trust.strip() else (),
        profile_hosts=profile_rule_hosts(entry.params),
        check_san=family.tls_check_san,
        suffix_accepted=family.tls_cn_suffix_accepted,
    )


def rejudge(entry: ScenarioEntry, capture: Path | None = None) -> Rejudged:
    """The entry's requirements judged from its capture (or `capture`), as the live run did."""
    path = capture or entry.capture
    if path is None:
        raise ScenarioRefError(f"scenario {entry.name}: the report lists no capture")
    ports = Ports().with_extra(
        {k: {v} for k, v in entry.ports.items() if k in ("dns", "tftp", "syslog")}
    )
    family = load_family(entry.family)
    tls = tls_options(entry, family)
    result = analyze_capture(
        str(path), ports=ports, profile_key=_rule_key(family, entry.params), tls=tls
    )
    ident = DeviceIdentity(
        **{
            k: v
            for k, v in (entry.identity or {}).items()
            if k in ("product", "serial", "mac", "firmware")
        }
    )
    facts = dict(entry.facts)
    if tls.trust_pem:
        facts.setdefault("trusted_ca_pem", tls.trust_pem[0].decode("utf-8", "replace"))
    ctx = RuleContext(family, ident, dict(entry.params), facts)
    timelines = [t for t in build_timelines(result.observations) if t.id != "unknown"]
    findings = evaluate(timelines, ctx, only=entry.requirements)
    notes = [f"{path}: {p}" for p in result.read_problems]
    out: list[Finding] = []
    verdicts: dict[str, str] = {}
    for req in entry.requirements:
        mine = [f for f in findings if f.rule == req]
        if req in entry.not_on_wire:
            why = f"{NOT_ON_WIRE}: {entry.not_on_wire[req]}"
            mine = [Finding(req, Verdict.INCONCLUSIVE, why, ident.serial)]
        elif not mine:
            why = "no rule judged this requirement from the capture (the device made no traffic in it?)"
            mine = [Finding(req, Verdict.INCONCLUSIVE, why, ident.serial)]
        out.extend(mine)
        verdicts[req] = fold(mine).value
    return Rejudged(out, verdicts, timelines, result.observations, notes)
