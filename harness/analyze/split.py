"""One capture analyzed by N processes (`harness analyze -j N` on a single capture).

`analyze_split(files, jobs, ...)` starts `jobs` worker processes (stdlib
`multiprocessing`, fork). Each reads the whole capture and dissects only the
packets of its *share*: `harness.analyze.engine.split_key` keeps every
transaction whole in one share (a DNS query and its answer by the client's
address, anything else by the pair of addresses, so a TFTP transfer whose data
come from a new server port stays with its request, and phones behind one NAT
address stay together). The parent merges the shares (`Analyzer.absorb`: the
observations, failed connections, MACs seen, profiles in capture order, counts)
and finishes once (`Analyzer.complete`: failed attempts, MAC attribution, TLS
chain naming over all observations), so the result is the one `-j 1` gives:
the same transactions, devices and findings. The per-share bounded tables
(open flows, transfers, ...) are each as large as the one-process table, so a
share hits a limit no sooner than one process would.

Progress: each worker writes the bytes and records it has read into shared
memory; the parent reports the slowest worker's, several times a second.
Orchestration only: no dissection (engine), no judging, no output here; several
files across processes are `harness.fleet.sources`'s one-file-per-process pool.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from harness.analyze.capture_set import CaptureSetResult, FilesRead, assemble, read_files
from harness.analyze.engine import Analyzer, Ports, ShareResult
from harness.analyze.keep import KeepOptions, discard
from harness.analyze.tls import TlsOptions
from harness.capture.fileset import CaptureFile
from harness.capture.reader import CaptureReader
from harness.gc_pause import gc_paused

POLL_S = 0.25  # how often the parent reports progress while the workers read
MAX_JOBS = 64


class SplitError(RuntimeError):
    """A worker failed or died (the message says which and why)."""


def analyze_split(
    files: list[CaptureFile],
    jobs: int,
    *,
    ports: Ports | None = None,
    profile_key: str | None = None,
    tls: TlsOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep: KeepOptions | None = None,
) -> CaptureSetResult:
    """`analyze_capture_set(files, ...)`'s result, computed by `jobs` processes.

    Raises CaptureFormatError (checked here, before any worker starts) and SplitError.
    """
    paths = [f.path for f in files]
    for path in paths:  # a file that is not a capture: the one-line error, from here
        CaptureReader(path).close()
    jobs = max(1, min(jobs, MAX_JOBS))
    ctx = multiprocessing.get_context("fork")
    counters = ctx.Array("q", 2 * jobs, lock=False)  # (bytes, records) read per worker
    procs, conns = [], []
    parts: list[tuple[ShareResult, FilesRead]] = []
    try:
        for i in range(jobs):
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(
                target=_worker,
                args=(paths, (i, jobs), ports, profile_key, tls, keep, counters, send),
                name=f"harness-analyze-{i + 1}/{jobs}",
                daemon=True,
            )
            p.start()
            send.close()
            procs.append(p)
            conns.append(recv)
        _collect(procs, conns, counters, progress, parts)
        read: FilesRead = parts[0][1]
        source = f"capture:{paths[0]}" if paths else "capture:"
        analyzer = Analyzer(source, ports, profile_key, tls, keep=keep)
        with gc_paused():
            analyzer.absorb([part for part, _ in parts])
            parts = []  # the analyzer owns the shares' spill files now (removed by complete)
            combined = analyzer.complete()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # only after a failure: our own workers
            p.join()
        for c in conns:
            c.close()
        for part, _ in parts:  # a failure before the merge: nobody else removes them
            if part.keeper is not None:
                discard(part.keeper)
    return assemble(paths, read, combined)


def _collect(
    procs: list,
    conns: list[Connection],
    counters,  # noqa: ANN001 - a multiprocessing shared array
    progress: Callable[[int, int], None] | None,
    into: list[tuple[ShareResult, FilesRead]],
) -> None:
    """Every worker's result, into `into` in share order; progress reported while waiting
    (what came before a failure is in `into` too)."""
    results: dict[int, tuple[ShareResult, FilesRead]] = {}
    waiting = {c: i for i, c in enumerate(conns)}
    jobs = len(conns)
    while waiting:
        for c in wait(list(waiting), timeout=POLL_S):
            i = waiting.pop(c)  # type: ignore[call-overload]
            try:
                status, payload = c.recv()  # type: ignore[union-attr]
            except EOFError:
                procs[i].join()
                raise SplitError(
                    f"worker {i + 1}/{jobs} ended without a result (exit code {procs[i].exitcode})"
                ) from None
            if status != "ok":
                raise SplitError(f"worker {i + 1}/{jobs} failed:\n{payload}")
            results[i] = payload
            into.append(payload)
        if progress is not None and waiting:
            progress(
                min(counters[2 * i] for i in range(jobs)),
                min(counters[2 * i + 1] for i in range(jobs)),
            )
    into[:] = [results[i] for i in range(jobs)]


def _worker(
    paths: list[str],
    share: tuple[int, int],
    ports: Ports | None,
    profile_key: str | None,
    tls: TlsOptions | None,
    keep: KeepOptions | None,
    counters,  # noqa: ANN001 - a multiprocessing shared array
    send: Connection,
) -> None:
    i = share[0]

    def progress(position: int, records: int) -> None:
        counters[2 * i], counters[2 * i + 1] = position, records

    analyzer: Analyzer | None = None
    try:
        source = f"capture:{paths[0]}" if paths else "capture:"
        analyzer = Analyzer(source, ports, profile_key, tls, share, keep)
        with gc_paused():
            read = read_files(analyzer, paths, progress)
            part = analyzer.share_result()
        payload: object = (part, read)
        status = "ok"
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        status, payload = "error", traceback.format_exc()
        if analyzer is not None and analyzer.keeper is not None:
            analyzer.keeper.close()  # its spill files: nobody will read them
    try:
        send.send((status, payload))
    finally:
        send.close()
