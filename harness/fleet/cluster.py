"""Per-file analysis on a Dask distributed cluster (or a local one sized to this machine).

`analyze_on_dask(paths, address=...)` sends one task per capture file to the
cluster's workers (`dask scheduler` / `dask worker` started with Dask's own
commands on other machines, with this package installed there and the capture
paths readable there: shared storage), gathers each file's observations, and
returns them for the caller to merge per device and judge once: a device whose
attempts are split across files handled by two workers is still one timeline,
and a retry across the boundary one interval. (A single TCP connection or TFTP
transfer cut by a file boundary is followed whole only when the files are read
in one process: docs/fleet.md.) With `address=None` a `distributed.LocalCluster`
with one single-threaded worker process per core runs the same code.

No judging here; the Dask import happens only when this module is used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from harness.analyze.capture_set import CaptureSetResult, analyze_capture_set
from harness.analyze.engine import CaptureResult, Ports
from harness.analyze.tls import TlsOptions
from harness.capture.fileset import CaptureFile


class ClusterError(RuntimeError):
    """The cluster could not be reached or a task failed (the message says which file)."""


def analyze_one_file(
    capture: CaptureFile,
    ports: Ports | None,
    profile_key: str | None,
    tls: TlsOptions | None = None,
) -> tuple[CaptureResult, float | None]:
    """One file's analysis as a worker runs it: its result and its last packet time."""
    res: CaptureSetResult = analyze_capture_set(
        [capture], ports=ports, profile_key=profile_key, tls=tls
    )
    return res.files[0], res.last_times.get(capture.path)


def analyze_on_dask(
    files: Sequence[CaptureFile],
    *,
    address: str | None = None,
    workers: int | None = None,
    ports: Ports | None = None,
    profile_key: str | None = None,
    tls: TlsOptions | None = None,
) -> CaptureSetResult:
    """Every file analyzed by a Dask worker; results in the order of `files`."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address:
            client = Client(address, timeout="5s")
        else:
            cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = [
            client.submit(analyze_one_file, f, ports, profile_key, tls, key=f"analyze-{i}-{f.path}")
            for i, f in enumerate(files)
        ]
        out = CaptureSetResult([])
        for f, fut in zip(files, futures, strict=True):
            try:
                result, last = fut.result()
            except Exception as exc:  # a worker's exception, re-raised here
                raise ClusterError(f"{f.path}: analysis failed on the cluster: {exc}") from exc
            out.files.append(result)
            out.last_times[f.path] = last
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
