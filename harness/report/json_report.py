"""The JSON report: the stable contract of `harness analyze --format json` and `harness conform`.

`build_report(captures=..., observations=..., findings=...)` returns a plain,
JSON-serialisable dict matching shared/spec/report.schema.json (documented in
docs/report-json.md): `captures`, `devices`, `transactions`, `findings`,
`meta`. Devices are the merged per-device timelines of
`harness.observe.build_timelines`; every transaction's `device` is the `id` of
one of them. Clients the caller names as *other clients* (not judged) are listed
apart in `other_clients`, summarized (`harness.observe.others`: counts per kind,
first and last time); their transactions are not in `transactions` unless
`list_others`. Rendering
only: no parsing, no judging, no file or socket I/O.

`build_report` pauses the cyclic garbage collector while it builds: the dicts it
makes hold no cycles, and on a large report the collector's repeated full passes
over them cost more than the building itself. `stream_report(fp, ...)` writes the
same document as `write_report(build_report(...))` without holding every transaction
and finding dict at once (for captures with millions of packets).

The large reports (`write_report`, `stream_report`) are encoded with orjson, several
times faster than the standard library's encoder: the same JSON document (equal once
parsed), compact, non-ASCII text as UTF-8 rather than `\\u` escapes. A text stream
whose encoding is not UTF-8 gets the standard library's ASCII-only text instead.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import IO, Any

import orjson

from harness.gc_pause import gc_paused
from harness.observe.events import Observation
from harness.observe.others import OtherClient, summarize
from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.rules.finding import Finding

REPORT_VERSION = 1
MAX_CAPTURE_PROBLEMS = 100


_SCALARS = (str, int, bool, type(None))
_DC_FIELDS: dict[type, tuple[str, ...] | None] = {}  # dataclass type -> field names (None: not one)
_MISSING: Any = object()


def _dc_fields(t: type) -> tuple[str, ...] | None:
    names = _DC_FIELDS.get(t, _MISSING)
    if names is _MISSING:
        names = _DC_FIELDS[t] = (
            tuple(f.name for f in dataclasses.fields(t)) if dataclasses.is_dataclass(t) else None
        )
    return names  # type: ignore[return-value]


def json_safe(value: Any) -> Any:
    """Convert a value to JSON types: bytes as latin-1 text, keys as strings, no NaN.

    Dispatches on the exact type first (the hot path of a large report); a dataclass
    becomes the dict of its fields, as `dataclasses.asdict` would give, without its deep copy.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is tuple or t is list:
        return [v if type(v) in _SCALARS else json_safe(v) for v in value]
    if t is dict:
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _SCALARS else json_safe(v))
            for k, v in value.items()
        }
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    names = _dc_fields(t)
    if names is not None:
        return {n: json_safe(getattr(value, n)) for n in names}
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
    isfinite = math.isfinite
    for name in names:
        v = getattr(o, name)
        t = type(v)
        if t is str or t is int or t is bool or v is None or t is float and isfinite(v):
            d[name] = v
        elif name == "device":
            d[name] = v.id if (v.ip or v.mac or v.serial or v.product) else None
        else:
            d[name] = json_safe(v)
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
    other_clients: Mapping[str, str] | None = None,
    other_summaries: Iterable[OtherClient] = (),
    list_others: bool = False,
) -> dict[str, Any]:
    """The report dict (see the module docstring).

    `other_clients` (id -> why): clients listed apart, in `other_clients[]`, not in
    `devices[]` (harness analyze: clients with no phone identity, not judged), with a
    summary of their transactions instead of the transactions; `other_summaries`: such
    clients already summarized (no observation of theirs is among `observations`);
    `list_others`: list the other clients' transactions too.
    """
    with gc_paused():
        return _build_report(
            captures, observations, findings, meta, other_clients, other_summaries, list_others
        )


def _device_entry(tl: DeviceTimeline, others: Mapping[str, str] | None) -> tuple[dict, bool]:
    d = tl.device
    if others is not None and tl.id in others:
        return {**summarize(d, tl.observations).to_dict(), "why": others[tl.id]}, True
    entry = {"id": tl.id, "ip": d.ip, "mac": d.mac, "serial": d.serial, "product": d.product}
    return entry, False


def _other_list(
    entries: list[dict[str, Any]],
    summaries: Iterable[OtherClient],
    others: Mapping[str, str] | None,
) -> list[dict[str, Any]]:
    """Every other client's entry, by first transaction (then id)."""
    reasons = others or {}
    entries = entries + [{**s.to_dict(), "why": reasons.get(s.id, "")} for s in summaries]
    entries.sort(key=lambda e: (e["first"] is None, e["first"] or 0.0, e["id"]))
    return json_safe(entries)


def _build_report(
    captures: Iterable[Any],
    observations: Iterable[Observation],
    findings: Iterable[Finding],
    meta: Mapping[str, Any] | None,
    others: Mapping[str, str] | None = None,
    summaries: Iterable[OtherClient] = (),
    list_others: bool = False,
) -> dict[str, Any]:
    timelines = build_timelines(observations)
    devices = []
    other_list = []
    transactions = []
    for tl in timelines:
        known = tl.id != "unknown"
        if known:
            entry, other = _device_entry(tl, others)
            (other_list if other else devices).append(entry)
            if other and not list_others:
                continue
        for o in tl.observations:
            t = transaction_dict(o)
            t["device"] = tl.id if known else None
            transactions.append(t)
    transactions.sort(key=lambda t: (t["time"], t["frames"][:1]))
    report = {
        "version": REPORT_VERSION,
        "meta": json_safe(dict(meta or {})),
        "captures": [capture_entry(c) for c in captures],
        "devices": devices,
        "transactions": transactions,
        "findings": [finding_dict(f) for f in findings],
    }
    if others is not None:
        report["other_clients"] = _other_list(other_list, summaries, others)
    return report


def finding_dict(f: Finding) -> dict[str, Any]:
    """`json_safe(f.to_dict())`, skipping the generic walk when the fields have their usual types."""
    d = f.to_dict()
    t = d["time"]
    if (
        (t is None or (type(t) is float and math.isfinite(t)))
        and type(d["why"]) is str
        and type(d["device"]) in (str, type(None))
        and all(type(x) is int for x in d["frames"])
        and all(type(x) is str for x in d["evidence"])
    ):
        return d
    return json_safe(d)


def dumps(report: Mapping[str, Any]) -> str:
    """The report as JSON text: indented when small, compact (one line) when large."""
    big = len(report.get("transactions", ())) > 5000
    return json.dumps(report, indent=None if big else 2, allow_nan=False) + "\n"


_ORJSON_OPTS = orjson.OPT_NON_STR_KEYS


def _utf8(fp: IO[str]) -> bool:
    enc = getattr(fp, "encoding", None) or "utf-8"
    return enc.lower().replace("-", "").replace("_", "") == "utf8"


def _encoder(fp: IO[str]) -> Any:
    """str of one JSON value: orjson for a UTF-8 stream, else the standard library (ASCII)."""
    if _utf8(fp):
        dumps_b = orjson.dumps
        return lambda value: dumps_b(value, option=_ORJSON_OPTS).decode()
    return lambda value: json.dumps(value, allow_nan=False)


def write_report(report: Mapping[str, Any], fp: IO[str]) -> None:
    """Stream the report to an open text file (compact: no whole-document string in memory).

    The document equals `json.loads(json.dumps(report))` once parsed (orjson's text, see
    the module docstring); long lists are encoded a slice at a time.
    """
    enc = _encoder(fp)
    fp.write("{")
    first = True
    for key, value in report.items():
        fp.write(("" if first else ",") + enc(str(key)) + ":")
        first = False
        if type(value) is list and len(value) > _SLICE:
            fp.write("[")
            for i in range(0, len(value), _SLICE):
                part = enc(value[i : i + _SLICE])
                fp.write(part[1:-1] if i == 0 else "," + part[1:-1])
            fp.write("]")
        else:
            fp.write(enc(value))
    fp.write("}\n")


_SLICE = 2000


def stream_report(
    fp: IO[str],
    *,
    captures: Iterable[Any],
    timelines: Iterable[DeviceTimeline],
    findings: Iterable[Finding],
    meta: Mapping[str, Any] | None = None,
    other_clients: Mapping[str, str] | None = None,
    other_summaries: Iterable[OtherClient] = (),
    list_others: bool = False,
) -> None:
    """Write `write_report(build_report(...))`'s document, a slice of dicts at a time.

    `timelines` must be `build_timelines(observations)` of the report's observations
    (the caller usually has them from judging already).
    """
    rows: list[tuple[Observation, str | None]] = []
    devices = []
    other_list = []
    for tl in timelines:
        known = tl.id != "unknown"
        if known:
            entry, other = _device_entry(tl, other_clients)
            (other_list if other else devices).append(entry)
            if other and not list_others:
                continue
        dev = tl.id if known else None
        rows += zip(tl.observations, repeat(dev, len(tl.observations)), strict=True)
    # stable, as build_report's sort of the dicts (a tuple of frames orders as its list)
    finite = math.isfinite
    if all(type(o.time) is float and finite(o.time) for o, _ in rows):
        rows.sort(key=lambda r: (r[0].time, r[0].evidence.frames[:1]))
    else:
        rows.sort(key=_row_order)
    head = {
        "version": REPORT_VERSION,
        "meta": json_safe(dict(meta or {})),
        "captures": [capture_entry(c) for c in captures],
        "devices": devices,
    }
    enc = _encoder(fp)
    fp.write("{")
    for i, (key, value) in enumerate(head.items()):
        fp.write(("" if i == 0 else ",") + enc(key) + ":" + enc(value))
    fp.write(',"transactions":')
    _stream_list(fp, rows, _transaction_row, enc)
    fp.write(',"findings":')
    _stream_list(fp, list(findings), finding_dict, enc)
    if other_clients is not None:
        others = _other_list(other_list, other_summaries, other_clients)
        fp.write(',"other_clients":' + enc(others))
    fp.write("}\n")


def _row_order(row: tuple[Observation, str | None]) -> tuple[Any, list[int]]:
    o = row[0]
    t = o.time
    if not (type(t) is float and math.isfinite(t)):
        t = json_safe(t)
    return t, list(o.evidence.frames[:1])


def _transaction_row(row: tuple[Observation, str | None]) -> dict[str, Any]:
    t = transaction_dict(row[0])
    t["device"] = row[1]
    return t


def _stream_list(fp: IO[str], items: list[Any], convert: Any, enc: Any) -> None:
    """`enc([convert(x) for x in items])`, converted and written a slice at a time."""
    if len(items) <= _SLICE:
        fp.write(enc([convert(x) for x in items]))
        return
    fp.write("[")
    with gc_paused():
        for i in range(0, len(items), _SLICE):
            part = enc([convert(x) for x in items[i : i + _SLICE]])
            if len(part) > 2:
                fp.write(part[1:-1] if i == 0 else "," + part[1:-1])
    fp.write("]")
