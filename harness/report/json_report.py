"""The JSON report: the stable contract of `harness analyze --format json` and `harness conform`.

`build_report(captures=..., observations=..., findings=...)` returns a plain,
JSON-serialisable dict matching shared/spec/report.schema.json (documented in
docs/report-json.md): `captures`, `devices`, `transactions`, `findings`,
`meta`. Devices are the merged per-device timelines of
`harness.observe.build_timelines`; every transaction's `device` is the `id` of
one of them. Rendering only: no parsing, no judging, no file or socket I/O.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from typing import IO, Any

from harness.observe.events import Observation
from harness.observe.timeline import build_timelines
from harness.rules.finding import Finding

REPORT_VERSION = 1
MAX_CAPTURE_PROBLEMS = 100


_SCALARS = (str, int, bool, type(None))


def json_safe(value: Any) -> Any:
    """Convert a value to JSON types: bytes as latin-1 text, keys as strings, no NaN."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


_FIELDS: dict[type, tuple[str, ...]] = {}


def transaction_dict(o: Observation) -> dict[str, Any]:
    """`o.to_dict()` made JSON-safe, without the deep copy of `dataclasses.asdict` (hot path).

    Same result as `json_safe(o.to_dict())` (a test checks it for every kind).
    """
    names = _FIELDS.get(type(o))
    if names is None:
        names = _FIELDS[type(o)] = tuple(
            f.name for f in dataclasses.fields(o) if f.name not in ("evidence",)
        )
    d: dict[str, Any] = {}
    for name in names:
        v = getattr(o, name)
        d[name] = v if type(v) in _SCALARS else json_safe(v)
    dev = o.device
    d["device"] = dev.id if (dev.ip or dev.mac or dev.serial or dev.product) else None
    d["kind"] = o.kind
    d["frames"] = list(o.evidence.frames)
    d["evidence"] = o.evidence.source
    alert = getattr(o, "alert", None)
    if alert is not None:
        d["alert"] = {
            "from": alert.sender,
            "level": alert.level,
            "description": alert.name or alert.description,
        }
    return d


def capture_entry(capture: Any) -> dict[str, Any]:
    """A `captures[]` item from a dict or an analyzer result (CaptureResult-like object)."""
    if isinstance(capture, Mapping):
        entry = dict(capture)
    else:
        entry = {
            "path": capture.path,
            "packets": capture.packets,
            "malformed": capture.malformed,
            "format": getattr(capture, "format", ""),
            "problems": [
                {"frame": f, "why": why}
                for f, why in list(getattr(capture, "problems", []))[:MAX_CAPTURE_PROBLEMS]
            ],
            "stats": dict(getattr(capture, "stats", {})),
        }
    for key in ("path", "packets", "malformed"):
        if key not in entry:
            raise ValueError(f"capture entry lacks {key!r}: {entry!r}")
    return json_safe(entry)


def build_report(
    *,
    captures: Iterable[Any],
    observations: Iterable[Observation],
    findings: Iterable[Finding],
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dict (see the module docstring)."""
    timelines = build_timelines(observations)
    devices = []
    transactions = []
    for tl in timelines:
        known = tl.id != "unknown"
        if known:
            d = tl.device
            devices.append(
                {"id": tl.id, "ip": d.ip, "mac": d.mac, "serial": d.serial, "product": d.product}
            )
        for o in tl.observations:
            t = transaction_dict(o)
            t["device"] = tl.id if known else None
            transactions.append(t)
    transactions.sort(key=lambda t: (t["time"], t["frames"][:1]))
    return {
        "version": REPORT_VERSION,
        "meta": json_safe(dict(meta or {})),
        "captures": [capture_entry(c) for c in captures],
        "devices": devices,
        "transactions": transactions,
        "findings": [json_safe(f.to_dict()) for f in findings],
    }


def dumps(report: Mapping[str, Any]) -> str:
    """The report as JSON text: indented when small, compact (one line) when large."""
    big = len(report.get("transactions", ())) > 5000
    return json.dumps(report, indent=None if big else 2, allow_nan=False) + "\n"


def write_report(report: Mapping[str, Any], fp: IO[str]) -> None:
    """Stream the report to an open text file (compact: no whole-document string in memory)."""
    json.dump(report, fp, allow_nan=False)
    fp.write("\n")
