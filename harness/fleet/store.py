"""The fleet dataset: analysis runs kept as Parquet, partitioned by day and family.

Layout of a store directory (every table a hive-partitioned Parquet dataset):

    DIR/devices/day=2026-12-04/family=cisco-8831-3pcc/<run>-0.parquet
    DIR/transactions/day=…/family=…/<run>-0.parquet
    DIR/findings/day=…/family=…/<run>-0.parquet
    DIR/runs/<run>.json          what one run covered: files (path, sha256, packets), site

Columns follow the JSON report contract (shared/spec/report.schema.json: the
transaction, finding and device fields), plus `run_id`, `site`, `family`,
`day`, `firmware` (read from the User-Agent where the family's format has it),
`source_file`, `file_sha256`; a transaction's fields beyond the fixed columns
are kept as JSON text in `detail`.

Idempotence: a run is keyed by its files' content hashes. `plan_run` drops the
files whose hash a previous run already stored (say so to the user), so analyzing
the same file again adds nothing. Writing only; the questions are `fleet.query`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline
from harness.report.json_report import transaction_dict
from harness.rules.finding import Finding
from harness.spec.user_agent import identify_user_agent

TABLES = ("devices", "transactions", "findings")
PARTITIONS = ("day", "family")
# transaction fields stored as their own columns (the rest go to `detail`)
TX_COLUMNS = (
    "kind",
    "device",
    "time",
    "method",
    "url",
    "version",
    "user_agent",
    "status",
    "op",
    "filename",
    "mode",
    "outcome",
    "error_code",
    "bytes",
    "server_name",
    "chosen_cipher_suite",
    "server_cert_subject_cn",
    "message",
    "qname",
    "qtype",
)


class StoreError(ValueError):
    """The store directory cannot be used (the message says why)."""


@dataclass
class RunPlan:
    """What one `--store` run will add: the files new to the store, and the ones skipped."""

    run_id: str
    store: Path
    site: str | None
    new: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # path -> sha256
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, earlier run id)


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def stored_hashes(store: Path) -> dict[str, str]:
    """sha256 -> the run id that stored it, from every run manifest of the store."""
    out: dict[str, str] = {}
    runs = store / "runs"
    if not runs.is_dir():
        return out
    for manifest in sorted(runs.glob("*.json")):
        try:
            data = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{manifest}: unreadable run manifest: {exc}") from None
        for f in data.get("files", []):
            out.setdefault(f["sha256"], data["run_id"])
    return out


def plan_run(store: str | Path, paths: Sequence[str], site: str | None = None) -> RunPlan:
    """Hash the files and keep those the store does not hold yet."""
    root = Path(store)
    if root.exists() and not root.is_dir():
        raise StoreError(f"--store {store}: exists and is not a directory")
    known = stored_hashes(root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    plan = RunPlan(f"{stamp}-{uuid.uuid4().hex[:8]}", root, site)
    for p in paths:
        digest = file_sha256(p)
        if digest in known:
            plan.skipped.append((p, known[digest]))
        elif digest not in plan.hashes.values():
            plan.new.append(p)
            plan.hashes[p] = digest
    return plan


def _site_of(path: str, site: str | None) -> str:
    """`--site`, else the name of the file's directory."""
    return site or Path(os.path.abspath(path)).parent.name or "-"


def _day(t: float | None) -> str:
    if t is None:
        return "unknown"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def _firmware_and_family(timeline: DeviceTimeline, default_family: str) -> tuple[str | None, str]:
    for o in timeline.observations:
        ua = getattr(o, "user_agent", None)
        if ua:
            fam, parts = identify_user_agent(ua)
            if fam:
                return (parts.firmware if parts else None), fam
    return None, default_family


def _source_file(o: Observation) -> str | None:
    src = o.evidence.source
    return src.removeprefix("capture:") if src.startswith("capture:") else None


def rows_for_run(
    plan: RunPlan,
    timelines: Iterable[DeviceTimeline],
    findings: Iterable[Finding],
    family: str,
    other_clients: Mapping[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the three tables for one judged run (pure: no file is written).

    Clients in `other_clients` (no phone identity, not named by the user) are left out."""
    tables: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    dev_info: dict[str, dict[str, Any]] = {}
    for tl in timelines:
        if tl.id == "unknown" or not tl.observations or tl.id in (other_clients or {}):
            continue
        firmware, fam = _firmware_and_family(tl, family)
        files = sorted({f for o in tl.observations if (f := _source_file(o))})
        site = _site_of(files[0], plan.site) if files else (plan.site or "-")
        first, last = tl.observations[0].time, tl.observations[-1].time
        ua = next((u for o in tl.observations if (u := getattr(o, "user_agent", None))), None)
        info = {"firmware": firmware, "family": fam, "site": site, "first": first}
        dev_info[tl.id] = info
        d = tl.device
        tables["devices"].append(
            {
                "run_id": plan.run_id,
                "site": site,
                "family": fam,
                "day": _day(first),
                "id": tl.id,
                "ip": d.ip,
                "mac": d.mac,
                "serial": d.serial,
                "product": d.product,
                "firmware": firmware,
                "user_agent": ua,
                "first_seen": first,
                "last_seen": last,
                "transactions": len(tl.observations),
                "source_files": files,
            }
        )
        for o in tl.observations:
            t = transaction_dict(o)
            t["device"] = tl.id
            src = _source_file(o)
            row = {k: t.pop(k, None) for k in TX_COLUMNS}
            frames = t.pop("frames", [])
            t.pop("evidence", None)
            row.update(
                run_id=plan.run_id,
                site=site,
                family=fam,
                day=_day(o.time),
                firmware=firmware,
                source_file=src,
                file_sha256=plan.hashes.get(src or ""),
                frames=frames,
                client=_addr(getattr(o, "client", None)),
                server=_addr(getattr(o, "server", None)),
                detail=json.dumps(
                    {k: v for k, v in t.items() if k not in ("client", "server")},
                    default=str,
                    sort_keys=True,
                ),
            )
            for k in ("status", "error_code", "bytes", "chosen_cipher_suite"):
                if row[k] is not None and not isinstance(row[k], int):
                    row[k] = None
            tables["transactions"].append(row)
    for f in findings:
        info = dev_info.get(f.device or "", {})
        fam = info.get("family", family)
        src = next(
            (e.removeprefix("capture:") for e in f.evidence if e.startswith("capture:")), None
        )
        tables["findings"].append(
            {
                "run_id": plan.run_id,
                "site": info.get("site", plan.site or "-"),
                "family": fam,
                "day": _day(f.time if f.time is not None else info.get("first")),
                "firmware": info.get("firmware"),
                "rule": f.rule,
                "verdict": f.verdict.value,
                "device": f.device,
                "time": f.time,
                "why": f.why,
                "frames": list(f.frames),
                "evidence": list(f.evidence),
                "source_file": src,
            }
        )
    return tables


def _addr(a: Any) -> str | None:
    if not a:
        return None
    ip, port = a[0], a[1]
    return f"[{ip}]:{port}" if ":" in str(ip) else f"{ip}:{port}"


SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "devices": [
        ("run_id", "string"),
        ("site", "string"),
        ("id", "string"),
        ("ip", "string"),
        ("mac", "string"),
        ("serial", "string"),
        ("product", "string"),
        ("firmware", "string"),
        ("user_agent", "string"),
        ("first_seen", "float64"),
        ("last_seen", "float64"),
        ("transactions", "int64"),
        ("source_files", "list<string>"),
        ("day", "string"),
        ("family", "string"),
    ],
    "transactions": [
        ("run_id", "string"),
        ("site", "string"),
        ("device", "string"),
        ("firmware", "string"),
        ("kind", "string"),
        ("time", "float64"),
        ("method", "string"),
        ("url", "string"),
        ("version", "string"),
        ("user_agent", "string"),
        ("status", "int64"),
        ("op", "string"),
        ("filename", "string"),
        ("mode", "string"),
        ("outcome", "string"),
        ("error_code", "int64"),
        ("bytes", "int64"),
        ("server_name", "string"),
        ("chosen_cipher_suite", "int64"),
        ("server_cert_subject_cn", "string"),
        ("message", "string"),
        ("qname", "string"),
        ("qtype", "string"),
        ("client", "string"),
        ("server", "string"),
        ("frames", "list<int64>"),
        ("source_file", "string"),
        ("file_sha256", "string"),
        ("detail", "string"),
        ("day", "string"),
        ("family", "string"),
    ],
    "findings": [
        ("run_id", "string"),
        ("site", "string"),
        ("firmware", "string"),
        ("rule", "string"),
        ("verdict", "string"),
        ("device", "string"),
        ("time", "float64"),
        ("why", "string"),
        ("frames", "list<int64>"),
        ("evidence", "list<string>"),
        ("source_file", "string"),
        ("day", "string"),
        ("family", "string"),
    ],
}


def _arrow_schema(table: str):  # noqa: ANN202 - pyarrow.Schema (imported lazily)
    import pyarrow as pa

    kinds = {
        "string": pa.string(),
        "float64": pa.float64(),
        "int64": pa.int64(),
        "list<string>": pa.list_(pa.string()),
        "list<int64>": pa.list_(pa.int64()),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in SCHEMAS[table]])


def write_run(
    plan: RunPlan,
    tables: Mapping[str, list[dict[str, Any]]],
    files: Sequence[tuple[str, int]],
    meta: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Append one run's rows to the store and write its manifest; rows written per table.

    `files` is (path, packets) for every file the run covered (all of `plan.new`).
    The manifest is written last: a run that failed half-way is not taken as stored.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    counts: dict[str, int] = {}
    for name in TABLES:
        rows = tables.get(name, [])
        counts[name] = len(rows)
        if not rows:
            continue
        schema = _arrow_schema(name)
        table = pa.Table.from_pylist(rows, schema=schema)
        ds.write_dataset(
            table,
            plan.store / name,
            format="parquet",
            partitioning=ds.partitioning(
                pa.schema([("day", pa.string()), ("family", pa.string())]), flavor="hive"
            ),
            basename_template=f"{plan.run_id}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
    runs = plan.store / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    manifest = {
        "run_id": plan.run_id,
        "written": time.time(),
        "site": plan.site,
        "files": [
            {"path": os.path.abspath(p), "sha256": plan.hashes[p], "packets": n}
            for p, n in files
            if p in plan.hashes
        ],
        "rows": counts,
        **dict(meta or {}),
    }
    tmp = runs / f".{plan.run_id}.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, default=str), "utf-8")
    tmp.replace(runs / f"{plan.run_id}.json")
    return counts
