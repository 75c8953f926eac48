"""Several capture files analyzed as one capture: one analyzer state across file boundaries.

`analyze_capture_set(files)` feeds the files (already in capture order, see
`harness.capture.fileset.order_files`) through one `Analyzer`, so a TCP flow, a
TFTP transfer or a device's retry interval that crosses from one file into the
next is followed as one. Frame numbers run on across the set while reading;
afterwards every observation's evidence is mapped back to the file and the
frame numbers of that file (an observation whose frames spill into the next
file names its first file, and says where it continues).

Returns one `CaptureResult` per file (observations assigned to the file of their
first frame; the profiles seen, in capture order, and the other clients' summaries
(`keep=`, harness.analyze.keep) on the first), plus each file's last timestamp for
gap finding.
No judging and no output here.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.analyze.engine import Analyzer, CaptureResult, Ports
from harness.analyze.keep import KeepOptions
from harness.analyze.tls import TlsOptions
from harness.capture.fileset import CaptureFile
from harness.capture.reader import CaptureReader, uncompressed_size
from harness.gc_pause import gc_paused
from harness.observe.events import Evidence, Observation


@dataclass
class CaptureSetResult:
    files: list[CaptureResult]
    last_times: dict[str, float | None] = field(default_factory=dict)


Progress = Callable[[int, int], None]  # (bytes read, records read) so far


def _offset(progress: Progress | None, done: int) -> Progress | None:
    """The progress callback with the bytes of the files before this one added."""
    if progress is None or not done:
        return progress
    return lambda position, records: progress(done + position, records)


def analyze_capture_set(
    files: list[CaptureFile],
    *,
    ports: Ports | None = None,
    profile_key: str | None = None,
    tls: TlsOptions | None = None,
    progress: Progress | None = None,
    keep: KeepOptions | None = None,
) -> CaptureSetResult:
    """Analyze `files` in the given order as one capture (see the module docstring).

    Raises CaptureFormatError for a file that is not a capture (before anything is read
    from it); a truncated file is read up to its break and the set goes on.
    """
    paths = [f.path for f in files]
    source = f"capture:{paths[0]}" if paths else "capture:"
    analyzer = Analyzer(source, ports, profile_key, tls, keep=keep)
    with gc_paused():
        read = read_files(analyzer, paths, progress)
        combined = analyzer.finish()
    return assemble(paths, read, combined)


@dataclass
class FilesRead:
    """What reading the files gave besides the analyzer's state: one entry per file."""

    starts: list[int] = field(default_factory=list)  # first global frame number of each file
    per_file: list[CaptureResult] = field(default_factory=list)  # packets, breaks, format
    last_times: dict[str, float | None] = field(default_factory=dict)


def read_files(analyzer: Analyzer, paths: list[str], progress: Progress | None) -> FilesRead:
    """Feed every file through `analyzer` (its frame numbers running on across files)."""
    read = FilesRead()
    done = 0
    for path in paths:
        reader = CaptureReader(path)
        reader.on_secrets = analyzer.tls_wire.add_secrets
        read.starts.append(analyzer.frame + 1)
        analyzer.last_time = None
        try:  # the reader itself, not a wrapper: a generator per record costs 5% of a run
            analyzer.run(reader, _offset(progress, done))
        finally:
            reader.close()
        read.last_times[path] = analyzer.last_time
        done += uncompressed_size(path)  # what reader.position counts
        r = CaptureResult(path=path)
        r.packets = reader.records
        r.read_problems = [str(p) for p in reader.problems]
        r.malformed = len(reader.problems)
        r.problems = [(p.record, f"file: {p}") for p in reader.problems]
        r.linktypes = list(reader.linktypes)
        r.format = reader.format + (".gz" if reader.compressed else "")
        read.per_file.append(r)
    return read


def assemble(paths: list[str], read: FilesRead, combined: CaptureResult) -> CaptureSetResult:
    """The per-file results from the analyzer's combined one (see the module docstring)."""
    per_file, starts = read.per_file, read.starts
    if not per_file:
        return CaptureSetResult([], read.last_times)

    def place(frame: int) -> int:
        return max(0, bisect.bisect_right(starts, frame) - 1)

    for frame, why in combined.problems:
        if why.startswith("file: "):
            continue  # the readers' own problems are already per file
        i = place(frame)
        per_file[i].problems.append((frame - starts[i] + 1, why))
        per_file[i].malformed += 1
    for r in per_file:
        r.problems.sort()
    if len(paths) == 1:  # one file: the evidence already names it and its own frames
        per_file[0].observations = combined.observations
    else:
        for o in combined.observations:
            i = _relocate(o, starts, paths, place)
            per_file[i].observations.append(o)
    per_file[0].profiles = combined.profiles  # in capture order, which judging relies on
    per_file[0].other_clients = combined.other_clients  # of the whole set
    per_file[0].stats = dict(combined.stats)
    return CaptureSetResult(per_file, read.last_times)


def _relocate(
    o: Observation, starts: list[int], paths: list[str], place: Callable[[int], int]
) -> int:
    """Point `o`'s evidence at its own file and frame numbers; the index of that file."""
    ev = o.evidence
    if not ev.source.startswith("capture:") or not ev.frames:
        return 0
    i = place(ev.frames[0])
    local = tuple(f - starts[i] + 1 for f in ev.frames if place(f) == i)
    spill = sorted({place(f) for f in ev.frames} - {i})
    detail = ev.detail
    if spill:
        more = ", ".join(os.path.basename(paths[j]) for j in spill)
        detail = "; ".join(x for x in (detail, f"continues in {more}") if x)
    # the record was built by this analyzer and is not shared yet: set the field in place
    object.__setattr__(o, "evidence", Evidence(f"capture:{paths[i]}", local, detail))
    return i
