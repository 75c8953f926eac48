"""The observation journal: every observation as one JSON line, in size-rotated files.

A long-running lab (`harness serve` for a week) keeps only a window of recent
observations in memory (`Recorder(window=...)`) and streams every observation
here: `observations.jsonl` is written, rotated to `observations.1.jsonl`, `.2`...
past `max_bytes`, and the oldest beyond `keep` files is deleted, so disk is
bounded too. Lines are lossless (`encode`/`decode` round-trip every field of every
observation type), so rules judge what `read_journal()` reads back exactly as they
judge the live recorder. File I/O and the record codec only; no judging here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harness.observe.events import (
    OBSERVATION_TYPES,
    DeviceKey,
    Evidence,
    Observation,
    TlsAlert,
    TlsCertificate,
)

JOURNAL_NAME = "observations"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one journal file, before it is rotated
DEFAULT_KEEP = 8  # rotated files kept beside the live one


def encode(o: Observation) -> str:
    """One JSON line (no newline) holding every field of `o`."""
    d: dict[str, Any] = {"kind": o.kind}
    for f in dataclasses.fields(o):
        value = getattr(o, f.name)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        elif dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)  # type: ignore[arg-type]
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            value = [dataclasses.asdict(v) for v in value]
        d[f.name] = value
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _field(type_name: str, value: Any) -> Any:
    if value is None:
        return None
    if type_name == "DeviceKey":
        return DeviceKey(**value)
    if type_name == "Evidence":
        return Evidence(value["source"], tuple(value.get("frames", ())), value.get("detail", ""))
    if type_name.startswith("TlsAlert"):
        return TlsAlert(**value)
    if type_name.startswith("tuple[TlsCertificate"):
        return tuple(TlsCertificate(**{**c, "san_dns": tuple(c["san_dns"])}) for c in value)
    if type_name == "bytes":
        return value.encode("latin-1")
    if type_name.startswith("dict[int"):
        return {int(k): v for k, v in value.items()}
    return _tuples(value)


def decode(line: str) -> Observation:
    """The observation of one journal line; ValueError (with why) for a line it cannot read."""
    try:
        d = json.loads(line)
        cls = OBSERVATION_TYPES[d.pop("kind")]
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        return cls(**{k: _field(types[k], v) for k, v in d.items() if k in types})
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a journal record: {type(exc).__name__}: {exc}") from exc


class Journal:
    """Appends observations to `directory/observations.jsonl`, rotating by size."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.keep = int(keep)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._size = 0

    @property
    def path(self) -> Path:
        return self.directory / f"{JOURNAL_NAME}.jsonl"

    def _open(self) -> IO[str]:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close)
            self._size = self._file.tell()
        return self._file

    def write(self, o: Observation) -> None:
        line = encode(o) + "\n"
        with self._lock:
            fp = self._open()
            fp.write(line)
            fp.flush()
            self._size += len(line.encode("utf-8"))
            if self._size >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for n in range(self.keep, 0, -1):
            older = self.directory / f"{JOURNAL_NAME}.{n}.jsonl"
            if n == self.keep:
                older.unlink(missing_ok=True)
            elif older.exists():
                older.rename(self.directory / f"{JOURNAL_NAME}.{n + 1}.jsonl")
        if self.keep > 0:
            self.path.rename(self.directory / f"{JOURNAL_NAME}.1.jsonl")
        else:
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def journal_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The journal's files, oldest first."""
    base = Path(directory)
    rotated = []
    for p in base.glob(f"{JOURNAL_NAME}.*.jsonl"):
        middle = p.name[len(JOURNAL_NAME) + 1 : -len(".jsonl")]
        if middle.isdigit():
            rotated.append((int(middle), p))
    files = [p for _, p in sorted(rotated, reverse=True)]
    live = base / f"{JOURNAL_NAME}.jsonl"
    return files + ([live] if live.exists() else [])


def read_journal(
    directory: str | os.PathLike[str], problems: list[str] | None = None
) -> Iterator[Observation]:
    """Every observation of the journal in `directory`, oldest first (one at a time).

    A line that cannot be read (a torn last line after a crash, an edited file) is
    skipped and, with `problems`, said there with its file and line number.
    """
    for path in journal_files(directory):
        with open(path, encoding="utf-8", errors="replace") as fp:
            for number, line in enumerate(fp, 1):
                if not line.strip():
                    continue
                try:
                    yield decode(line)
                except ValueError as exc:
                    if problems is not None:
                        problems.append(f"{path}:{number}: {exc}")


__all__ = ["Journal", "decode", "encode", "journal_files", "read_journal"]
