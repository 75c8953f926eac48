"""The storm on Locust: the Locust file runs reference phones under Locust's local runner and
under a master with 2 worker processes on this machine, with the same totals.

Locust (and gevent's monkey-patching) runs in subprocesses only: this test process never
imports it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storm.conftest import free_port, write_profiles

LOCUSTFILE = Path(__file__).resolve().parents[2] / "harness" / "storm" / "locustfile.py"
USERS = 8
pytestmark = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import locust"], capture_output=True).returncode,
    reason="locust not installed (pip install '.[storm]')",
)


def _locust(*args: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(LOCUSTFILE.parents[2]))
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _totals(prefix: Path) -> tuple[int, int]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return int(row["Request Count"]), int(row["Failure Count"])


def test_master_with_two_workers_gives_the_local_totals(tmp_path, nginx_factory):
    # even-numbered phones have a profile (200), odd ones get 404 (class B, retried only
    # after an hour): one request each; each worker numbers its phones from an even base
    # and Locust gives each of the 2 workers USERS/2 (even) users, so the totals match
    evens = [n for n in (*range(USERS), *range(10**6, 10**6 + USERS)) if n % 2 == 0]
    root = write_profiles(tmp_path / "www", evens)
    nginx = nginx_factory(root)
    base = f"http://127.0.0.1:{nginx.port}"
    storm = [
        "--storm-server", f"{base}/$MA.cfg",
        "--storm-set", "Resync_Random_Delay=0;Resync_Error_Retry_Delay=3600",
    ]  # fmt: skip
    run = ["--headless", "-u", str(USERS), "-r", str(USERS), "-t", "3s", "--only-summary"]

    local = _locust(*run, *storm, "--csv", str(tmp_path / "local"), cwd=tmp_path)
    port = free_port()
    master = _locust(
        *run, "--master", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", str(port), "--csv", str(tmp_path / "dist"), *storm,
        "--storm-out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    workers = [
        _locust(
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
            cwd=tmp_path,
        )  # fmt: skip
        for _ in range(2)
    ]
    procs = [local, master, *workers]
    try:
        outputs = [p.communicate(timeout=90)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert _totals(tmp_path / "local") == (USERS, USERS // 2), outputs[0]
    assert _totals(tmp_path / "dist") == _totals(tmp_path / "local"), outputs[1]
    # the master handed its --storm-* options to the workers; each judged its own phones: distinct identities, all provisioned, spec followed
    reports = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").glob("*/storm.json"))]
    assert len(reports) == 2, outputs[2:]
    assert sum(r["provisioned"]["provisioned"] for r in reports) == USERS // 2
    assert all(r["spec_check"]["passed"] and r["storm"]["runner"] == "locust" for r in reports)
    assert sum(r["answers"]["by_answer"].get("404", 0) for r in reports) == USERS // 2
