"""From what `harness analyze` was given to per-file results: one process, a pool, or Dask.

`read_sources(paths, ...)` expands directories and globs, orders the files by
their first timestamp, and analyzes them:

- one process (default): the files as one capture (`analyze_capture_set`), so
  flows, transfers and retry intervals crossing a file boundary are followed whole;
- `jobs > 1`, one file: the file split across `jobs` processes by device
  (`harness.analyze.split`; the same result as one process);
- `jobs > 1`, several files: one file per process of a local pool;
- `cluster`: one file per Dask worker (`"local"` for a LocalCluster on this machine).

It returns the per-file results, the gaps found between files, and notes for
the user. Gaps become the rule-context fact `capture_gaps` (timing rules that
straddle one say inconclusive). Orchestration only: no parsing, no judging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from harness.analyze.capture_set import CaptureSetResult, analyze_capture_set
from harness.analyze.engine import CaptureResult, Ports
from harness.analyze.keep import KeepOptions
from harness.analyze.tls import TlsOptions
from harness.capture.fileset import CaptureFile, Gap, expand_paths, find_gaps, order_files

DEFAULT_MAX_GAP = 300.0


@dataclass
class Sources:
    files: list[CaptureFile]
    results: list[CaptureResult]
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def gap_facts(self) -> list[tuple[float, float, str]]:
        return [(g.start, g.end, g.why) for g in self.gaps]


def read_sources(
    paths: Sequence[str],
    *,
    ports: Ports | None = None,
    profile_key: str | None = None,
    tls: TlsOptions | None = None,
    jobs: int = 1,
    cluster: str | None = None,
    max_gap: float = DEFAULT_MAX_GAP,
    progress: Callable[[int, int], None] | None = None,
    expanded: bool = False,
    keep: KeepOptions | None = None,
) -> Sources:
    """See the module docstring. Raises FileSetError, CaptureFormatError, ClusterError.

    `keep`: summarize other clients as the files are read (harness.analyze.keep); only
    where one analyzer state sees the whole set (one process, one file split): a pool or
    a cluster reads each file alone, so they keep everything for judging to sort out."""
    names = list(paths) if expanded else expand_paths(paths)
    files = order_files(names)
    if cluster:
        from harness.fleet.cluster import analyze_on_dask

        address = None if cluster == "local" else cluster
        res = analyze_on_dask(
            files, address=address, workers=jobs if jobs > 1 else None, ports=ports,
            profile_key=profile_key, tls=tls,
        )  # fmt: skip
    elif jobs > 1 and len(files) == 1:
        from harness.analyze.split import analyze_split

        res = analyze_split(
            files, jobs, ports=ports, profile_key=profile_key, tls=tls, progress=progress,
            keep=keep,
        )  # fmt: skip
    elif jobs > 1 and len(files) > 1:
        from harness.fleet.cluster import analyze_one_file

        res = CaptureSetResult([])
        n = len(files)
        with ProcessPoolExecutor(max_workers=min(jobs, n)) as pool:
            outs = list(
                pool.map(analyze_one_file, files, [ports] * n, [profile_key] * n, [tls] * n)
            )
        for f, (r, last) in zip(files, outs, strict=True):
            res.files.append(r)
            res.last_times[f.path] = last
    else:
        res = analyze_capture_set(
            files, ports=ports, profile_key=profile_key, tls=tls, progress=progress, keep=keep
        )
    gaps = find_gaps(files, res.last_times, max_gap) if len(files) > 1 else []
    notes = [f"gap in the capture set: after {g.after}: {g.why}" for g in gaps]
    empty = [f.path for f in files if f.first_time is None]
    notes.extend(f"{p}: no packet in this file" for p in empty)
    return Sources(files, res.files, gaps, notes)
