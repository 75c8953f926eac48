"""Sets of capture files taken as one capture: expansion, ordering, ring-buffer gaps.

`expand_paths(args)` turns what a user typed (files, directories, glob patterns)
into capture files; `order_files(paths)` reads each file's first record and
orders the set by first timestamp (a file with no record goes last), noting the
ring-buffer sequence number and start time that dumpcap puts in a name
(`prefix_00007_20261204093000.pcapng`); `find_gaps(files, max_gap)` says where
the set has a hole: a missing ring-buffer sequence number, or more than
`max_gap` seconds between one file's last packet and the next one's first.

File names and headers only: no packet decoding (that is `harness.analyze`),
no judging, no output.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.capture.reader import CaptureFormatError, CaptureReader

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
# dumpcap -b: <prefix>_<5+ digit sequence>_<YYYYmmddHHMMSS>.<ext>
RING_NAME = re.compile(r"^(?P<prefix>.*?)_(?P<seq>\d{5,})_(?P<stamp>\d{14})\.")


class FileSetError(ValueError):
    """A path or pattern that names no capture file (the message says which)."""


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """One file of a set: its first timestamp and, for a ring-buffer name, its place."""

    path: str
    first_time: float | None  # None: the file holds no record
    ring_prefix: str | None = None
    ring_seq: int | None = None
    name_time: float | None = None  # the start time written in a ring-buffer name (UTC)


@dataclass(frozen=True, slots=True)
class Gap:
    """A hole between two consecutive files of a set."""

    after: str  # the file before the hole
    before: str  # the file after it
    start: float  # last packet before the hole (or the earlier file's first, if unknown)
    end: float  # first packet after it
    why: str

    def to_dict(self) -> dict[str, object]:
        return {
            "after": self.after,
            "before": self.before,
            "start": self.start,
            "end": self.end,
            "why": self.why,
        }


def is_capture_name(name: str) -> bool:
    return name.lower().endswith(CAPTURE_SUFFIXES)


def expand_paths(args: Iterable[str]) -> list[str]:
    """Files, directories (every capture file below them) and glob patterns -> file paths.

    Raises FileSetError naming an argument that matches nothing.
    """
    out: list[str] = []
    for arg in args:
        if os.path.isdir(arg):
            found = sorted(
                str(Path(root) / name)
                for root, _dirs, names in os.walk(arg)
                for name in names
                if is_capture_name(name)
            )
            if not found:
                raise FileSetError(f"{arg}: a directory with no capture file (*.pcap, *.pcapng)")
            out.extend(found)
        elif os.path.exists(arg):
            out.append(arg)
        elif glob.has_magic(arg):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not found:
                raise FileSetError(f"{arg}: no file matches this pattern")
            out.extend(found)
        else:
            raise FileSetError(f"{arg}: no such file")
    seen: set[str] = set()
    return [p for p in out if not (p in seen or seen.add(p))]


def ring_place(path: str) -> tuple[str | None, int | None, float | None]:
    """(prefix, sequence number, start time) from a dumpcap ring-buffer name, else Nones."""
    m = RING_NAME.match(os.path.basename(path))
    if not m:
        return None, None, None
    try:
        stamp = datetime.strptime(m["stamp"], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        stamp = None
    return m["prefix"], int(m["seq"]), stamp


def first_time(path: str) -> float | None:
    """The timestamp of a capture's first record (None when it has none).

    Raises CaptureFormatError for a file that is not a capture.
    """
    with CaptureReader(path) as reader:
        for ts, _lt, _data in reader:
            return ts
    return None


def describe(path: str) -> CaptureFile:
    prefix, seq, stamp = ring_place(path)
    return CaptureFile(path, first_time(path), prefix, seq, stamp)


def order_files(paths: Iterable[str]) -> list[CaptureFile]:
    """The files ordered by first timestamp (ring sequence, then name, break ties)."""
    files = [describe(p) for p in paths]
    return sorted(
        files,
        key=lambda f: (
            f.first_time is None,
            f.first_time if f.first_time is not None else 0.0,
            f.ring_seq if f.ring_seq is not None else -1,
            f.path,
        ),
    )


def find_gaps(
    files: list[CaptureFile], last_times: dict[str, float | None], max_gap: float
) -> list[Gap]:
    """Holes between consecutive files (files in capture order; `last_times` per path)."""
    gaps: list[Gap] = []
    timed = [f for f in files if f.first_time is not None]
    for prev, nxt in zip(timed, timed[1:], strict=False):
        assert nxt.first_time is not None and prev.first_time is not None
        last = last_times.get(prev.path)
        start = last if last is not None else prev.first_time
        why = ""
        if (
            prev.ring_seq is not None
            and nxt.ring_seq is not None
            and prev.ring_prefix == nxt.ring_prefix
            and nxt.ring_seq > prev.ring_seq + 1
        ):
            missing = nxt.ring_seq - prev.ring_seq - 1
            why = (
                f"{missing} ring-buffer file(s) missing between sequence numbers "
                f"{prev.ring_seq} and {nxt.ring_seq}"
            )
        elif nxt.first_time - start > max_gap:
            why = (
                f"{nxt.first_time - start:.0f} s without a packet between the two files "
                f"(more than --max-gap {max_gap:g} s)"
            )
        if why:
            gaps.append(Gap(prev.path, nxt.path, start, nxt.first_time, why))
    return gaps


def check_readable(paths: Iterable[str]) -> list[str]:
    """Problems of files that are not captures (message per file); the rest are fine."""
    problems = []
    for p in paths:
        try:
            first_time(p)
        except CaptureFormatError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{p}: {exc.strerror}")
    return problems
