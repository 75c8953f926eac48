"""What changed between two runs: verdicts, ClientHello fingerprints, User-Agents.

Works on two report dicts (the report.json contract, shared/spec/report.schema.json):
`summarize(report)` reduces one to a `DeviceSummary` per device (folded verdict
per requirement, the User-Agents it sent, its JA3/JA4 fingerprints), from the
`device_runs` extra that `harness.report.write` adds, else from the contract's
`findings` and `transactions` (so a `harness analyze --format json` file works as
a baseline too). `diff_reports(old, new)` pairs devices by id (or the only one of
each, when ids differ) and lists the changes. `load_baseline(path)` reads a
file with an error that says what is wrong. Pure functions apart from that read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.rules.finding import Verdict
from harness.spec.catalog import catalog

_PRECEDENCE = ("fail", "inconclusive", "pass", "skipped")


class BaselineError(ValueError):
    """The baseline report cannot be used; the message says which file and why."""


@dataclass
class DeviceSummary:
    id: str
    description: str = ""
    verdicts: dict[str, str] = field(default_factory=dict)  # requirement -> verdict
    whys: dict[str, str] = field(default_factory=dict)  # requirement -> first sentence
    user_agents: list[str] = field(default_factory=list)
    ja3: list[str] = field(default_factory=list)
    ja4: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerdictChange:
    requirement: str
    old: str | None  # None: not judged in that run
    new: str | None
    why: str = ""  # the new run's sentence (or the old one's when it disappeared)

    @property
    def worse(self) -> bool:
        return _rank(self.new) < _rank(self.old)


@dataclass
class DeviceDiff:
    device: str
    baseline_device: str | None  # None: the device is new in this run
    verdicts: list[VerdictChange] = field(default_factory=list)
    ua_added: list[str] = field(default_factory=list)
    ua_removed: list[str] = field(default_factory=list)
    ja3_added: list[str] = field(default_factory=list)
    ja3_removed: list[str] = field(default_factory=list)
    ja4_added: list[str] = field(default_factory=list)
    ja4_removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.verdicts
            or self.ua_added
            or self.ua_removed
            or self.ja3_added
            or self.ja3_removed
            or self.ja4_added
            or self.ja4_removed
        )


@dataclass
class RunDiff:
    baseline: str  # what the baseline was (a path, a tool version)
    devices: list[DeviceDiff] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # baseline devices absent from this run

    @property
    def changed(self) -> bool:
        return bool(self.missing) or any(d.changed for d in self.devices)


def _rank(verdict: str | None) -> int:
    """Higher is better: pass > skipped > inconclusive > fail > not judged."""
    order = {"pass": 4, "skipped": 3, "inconclusive": 2, "fail": 1}
    return order.get(verdict or "", 0)


def _fold(verdicts: list[str]) -> str:
    return next(v for v in _PRECEDENCE if v in verdicts)


def _uniq(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v))


def summarize(report: Mapping[str, Any]) -> dict[str, DeviceSummary]:
    """Per-device summaries of a report dict (see the module docstring)."""
    runs = report.get("device_runs")
    if isinstance(runs, list) and runs:
        out = {}
        for r in runs:
            s = DeviceSummary(
                id=str(r["id"]),
                description=str(r.get("description", "")),
                verdicts={k: v["verdict"] for k, v in r.get("requirements", {}).items()},
                whys={k: v.get("why", "") for k, v in r.get("requirements", {}).items()},
                user_agents=_uniq(r.get("user_agents", [])),
                ja3=_uniq(r.get("ja3", [])),
                ja4=_uniq(r.get("ja4", [])),
            )
            out[s.id] = s
        return out
    by_device: dict[str, DeviceSummary] = {}

    def get(dev: Any) -> DeviceSummary:
        key = str(dev) if dev else "unknown"
        return by_device.setdefault(key, DeviceSummary(key))

    collected: dict[tuple[str, str], list[str]] = {}
    for f in report.get("findings", []):
        s = get(f.get("device"))
        collected.setdefault((s.id, f["rule"]), []).append(f["verdict"])
        s.whys.setdefault(f["rule"], f.get("why", ""))
    for (dev, rule), verdicts in collected.items():
        by_device[dev].verdicts[rule] = _fold(verdicts)
    for t in report.get("transactions", []):
        s = get(t.get("device"))
        if t.get("kind") == "http" and t.get("user_agent"):
            s.user_agents = _uniq([*s.user_agents, t["user_agent"]])
        if t.get("kind") == "tls":
            s.ja3 = _uniq([*s.ja3, t.get("ja3")])
            s.ja4 = _uniq([*s.ja4, t.get("ja4")])
    return by_device


def _order(req_ids: set[str]) -> list[str]:
    known = [r for r in catalog() if r in req_ids]
    return known + sorted(req_ids - set(known))


def diff_devices(old: DeviceSummary | None, new: DeviceSummary) -> DeviceDiff:
    base = old or DeviceSummary("")
    d = DeviceDiff(new.id, old.id if old else None)
    for req in _order(set(base.verdicts) | set(new.verdicts)):
        a, b = base.verdicts.get(req), new.verdicts.get(req)
        if a != b:
            why = new.whys.get(req) if b else base.whys.get(req, "")
            d.verdicts.append(VerdictChange(req, a, b, why or ""))
    d.ua_added = [u for u in new.user_agents if u not in base.user_agents]
    d.ua_removed = [u for u in base.user_agents if u not in new.user_agents]
    d.ja3_added = [u for u in new.ja3 if u not in base.ja3]
    d.ja3_removed = [u for u in base.ja3 if u not in new.ja3]
    d.ja4_added = [u for u in new.ja4 if u not in base.ja4]
    d.ja4_removed = [u for u in base.ja4 if u not in new.ja4]
    return d


def diff_reports(
    old: Mapping[str, Any], new: Mapping[str, Any], *, baseline_name: str = "baseline"
) -> RunDiff:
    """The changes from report `old` to report `new` (both report.json dicts)."""
    a, b = summarize(old), summarize(new)
    pairs: dict[str, str | None] = {k: (k if k in a else None) for k in b}
    unpaired_old = [k for k in a if k not in b]
    unpaired_new = [k for k, v in pairs.items() if v is None]
    if len(unpaired_old) == 1 and len(unpaired_new) == 1:
        pairs[unpaired_new[0]] = unpaired_old[0]
        unpaired_old = []
    out = RunDiff(baseline_name, missing=unpaired_old)
    for key, other in pairs.items():
        out.devices.append(diff_devices(a.get(other) if other else None, b[key]))
    return out


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a baseline report.json; BaselineError says which file and what is wrong."""
    p = Path(path)
    try:
        data = json.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise BaselineError(f"baseline {p}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline {p}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(
            f"baseline {p}: not a harness report (no 'findings' list); give the report.json "
            "of an earlier `harness conform` or `harness analyze --format json` run"
        )
    for i, f in enumerate(data["findings"]):
        if (
            not isinstance(f, dict)
            or "rule" not in f
            or f.get("verdict") not in {v.value for v in Verdict}
        ):
            raise BaselineError(f"baseline {p}: findings[{i}] lacks a rule or a known verdict")
    try:
        summarize(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"baseline {p}: device_runs is malformed ({exc!r})") from None
    return data


def diff_to_dict(diff: RunDiff | None, problem: str | None = None) -> dict[str, Any]:
    """report.json's `baseline_diff`: `{baseline, changes, missing, problem}` (docs/report-json.md).

    Each change is `{device, kind, requirement, old, new, detail}`; `kind` is `verdict`,
    `user-agent`, `ja3` or `ja4` (for those, `old` is a value gone, `new` one that appeared)."""
    changes: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "baseline": diff.baseline if diff else None,
        "changes": changes,
        "missing": list(diff.missing) if diff else [],
        "problem": problem,
    }
    if diff is None:
        return out
    for d in diff.devices:
        for v in d.verdicts:
            changes.append(
                {"device": d.device, "kind": "verdict", "requirement": v.requirement,
                 "old": v.old, "new": v.new, "detail": v.why, "worse": v.worse}
            )  # fmt: skip
        for kind, added, removed in (
            ("user-agent", d.ua_added, d.ua_removed),
            ("ja3", d.ja3_added, d.ja3_removed),
            ("ja4", d.ja4_added, d.ja4_removed),
        ):
            for value in removed:
                changes.append({"device": d.device, "kind": kind, "requirement": None,
                                "old": value, "new": None, "detail": ""})  # fmt: skip
            for value in added:
                changes.append({"device": d.device, "kind": kind, "requirement": None,
                                "old": None, "new": value, "detail": ""})  # fmt: skip
    return out


def diff_lines(data: Mapping[str, Any]) -> list[str]:
    """The `baseline_diff` dict as terminal lines (one per change)."""
    if data.get("problem"):
        return [f"baseline not compared: {data['problem']}"]
    lines = []
    for c in data.get("changes") or []:
        if c["kind"] == "verdict":
            lines.append(
                f"{c['device']}: {c['requirement']}: {c['old'] or 'not judged'} -> "
                f"{c['new'] or 'not judged'}" + (f" ({c['detail']})" if c.get("detail") else "")
            )
        elif c["new"] is not None:
            lines.append(f"{c['device']}: new {c['kind']}: {c['new']}")
        else:
            lines.append(f"{c['device']}: {c['kind']} gone: {c['old']}")
    for dev in data.get("missing") or []:
        lines.append(f"{dev}: in the baseline, not in this run")
    return lines
