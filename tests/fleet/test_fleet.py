"""Fleet forensics end to end: capture sets as one timeline, the Parquet store, SQL, Dask.

Captures are written here (scapy-built frames, `tests/fleet/frames.py`) as dumpcap
ring-buffer sets; every test runs `harness analyze` / `query` / `fleet` as a user
would and reads what they print or write.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.capture.fileset import FileSetError, expand_paths, find_gaps, order_files
from harness.capture.pcapwrite import write_pcap
from harness.cli import main
from tests.fleet.frames import Phone, attempt, noise

T0 = 1_795_910_400.0  # 2026-11-29 00:00 UTC
HOUR = 3600.0


def ring(dirpath: Path, seq: int, t: float, records) -> Path:
    """One dumpcap ring-buffer file (name carries sequence number and start time)."""
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(t, UTC).strftime("%Y%m%d%H%M%S")
    dirpath.mkdir(parents=True, exist_ok=True)
    path = dirpath / f"site_{seq:05d}_{stamp}.pcap"
    write_pcap(path, sorted(records, key=lambda r: r[0]))
    return path


def analyze(capsys, *args) -> tuple[int, dict, str]:
    code = main(["analyze", *map(str, args), "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def verdict(report: dict, rule: str, device: str) -> tuple[str, str]:
    (f,) = [f for f in report["findings"] if f["rule"] == rule and f["device"] == device]
    return f["verdict"], f["why"]


def split_retry(tmp_path: Path, retry_after: float, seqs=(1, 2)) -> list[Path]:
    """A phone gets a 404 near the end of file 1 and retries `retry_after` s later in file 2."""
    phone = Phone(1)
    first = attempt(T0 + 50, phone, 404, sport=40001)
    second = attempt(T0 + 50 + retry_after, phone, 200, sport=40002)
    a = ring(tmp_path / "site", seqs[0], T0, noise(T0, 50) + first)
    b = ring(tmp_path / "site", seqs[1], T0 + 60, noise(T0 + 60, 50) + second)
    return [a, b]


def test_retry_across_a_file_boundary_is_one_interval(tmp_path, capsys):
    files = split_retry(tmp_path, HOUR)
    sn = Phone(1).serial
    code, report, _ = analyze(capsys, tmp_path / "site")  # a directory
    assert verdict(report, "HTTP-404", sn)[0] == "pass"
    assert [c["path"] for c in report["captures"]] == [str(f) for f in files]
    (tx404,) = [t for t in report["transactions"] if t.get("status") == 404]
    assert tx404["evidence"] == f"capture:{files[0]}" and tx404["frames"][0] > 50
    # the same file alone: nothing to time
    _, alone, _ = analyze(capsys, files[0])
    assert verdict(alone, "HTTP-404", sn)[0] == "inconclusive"


def test_a_too_early_retry_across_files_fails(tmp_path, capsys):
    split_retry(tmp_path, 120.0)
    code, report, _ = analyze(capsys, str(tmp_path / "site" / "*.pcap"))  # a glob
    assert verdict(report, "HTTP-404", Phone(1).serial)[0] == "fail"
    assert code == 1


def test_a_missing_ring_file_makes_straddling_timing_inconclusive(tmp_path, capsys):
    split_retry(tmp_path, 120.0, seqs=(1, 3))  # sequence number 2 is missing
    _, report, err = analyze(capsys, tmp_path / "site")
    v, why = verdict(report, "HTTP-404", Phone(1).serial)
    assert v == "inconclusive" and "gap" in why and "missing" in why
    assert "1 ring-buffer file(s) missing" in err


def test_files_are_ordered_by_first_timestamp_not_name(tmp_path):
    late = ring(tmp_path, 1, T0 + 100, noise(T0 + 100, 3))
    early = ring(tmp_path, 2, T0, noise(T0, 3))
    assert [f.path for f in order_files([str(late), str(early)])] == [str(early), str(late)]


def test_time_gap_between_files_without_ring_names(tmp_path):
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    write_pcap(a, noise(T0, 3))
    write_pcap(b, noise(T0 + 1000, 3))
    files = order_files([str(a), str(b)])
    last = {str(a): T0 + 0.04, str(b): T0 + 1000.04}
    (gap,) = find_gaps(files, last, max_gap=300)
    assert gap.after == str(a) and "1000 s without a packet" in gap.why
    assert find_gaps(files, last, max_gap=2000) == []


def test_paths_that_name_nothing_are_clear_errors(tmp_path, capsys):
    with pytest.raises(FileSetError, match="no file matches"):
        expand_paths([str(tmp_path / "*.pcap")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileSetError, match="no capture file"):
        expand_paths([str(tmp_path / "empty")])
    assert main(["analyze", str(tmp_path / "nope.pcap")]) == 2
    assert "nope.pcap: no such file" in capsys.readouterr().err


def fleet_files(tmp_path: Path) -> list[Path]:
    """Two days, two firmware generations: phones 1-3 retry a 404 correctly, 4-5 too soon."""
    recs1, recs2 = noise(T0, 20), noise(T0 + 86400, 20)
    for i in range(1, 6):
        p = Phone(i)
        soon = 30.0 if i >= 4 else HOUR
        recs1 += attempt(T0 + i, p, 404, 41000 + i) + attempt(T0 + i + soon, p, 200, 42000 + i)
        recs2 += attempt(T0 + 86400 + i, p, 200, 43000 + i)
    return [ring(tmp_path / "siteA", 1, T0, recs1), ring(tmp_path / "siteA", 2, T0 + 86400, recs2)]


def test_store_query_and_idempotence(tmp_path, capsys):
    files = fleet_files(tmp_path)
    store = tmp_path / "store"
    code, report, err = analyze(capsys, *files, "--store", store)
    assert "stored run" in err
    day_dirs = sorted(p.name for p in (store / "transactions").iterdir())
    assert day_dirs == ["day=2026-11-29", "day=2026-11-30"]
    assert (store / "findings" / "day=2026-11-29" / "family=cisco-8831-3pcc").is_dir()
    # the same files again: nothing new is written
    assert main(["analyze", *map(str, files), "--store", str(store)]) == 0
    err2 = capsys.readouterr().err
    assert "already in the store" in err2 and "nothing new" in err2
    assert len(list((store / "runs").glob("*.json"))) == 1

    assert main(["query", str(store), "select count(*) as n from devices", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 5}]
    sql = "select device, verdict from findings where rule = 'HTTP-404' order by device"
    assert main(["query", str(store), sql, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.split()
    expected = [f"{Phone(i).serial},{'fail' if i >= 4 else 'pass'}" for i in range(1, 6)]
    assert lines == ["device,verdict", *expected]
    # every finding of the report is in the store, with the site from the directory
    assert (
        main(["query", str(store), "select distinct site from findings", "--format", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"site": "siteA"}]
    assert (
        main(["query", str(store), "select count(*) as n from findings", "--format", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": len(report["findings"])}]


def test_query_errors_exit_2(tmp_path, capsys):
    assert main(["query", str(tmp_path / "none"), "select 1"]) == 2
    assert "no such store" in capsys.readouterr().err
    files = fleet_files(tmp_path)
    analyze(capsys, *files, "--store", tmp_path / "s")
    assert main(["query", str(tmp_path / "s"), "select nonsense from findings"]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_fleet_report(tmp_path, capsys):
    files = fleet_files(tmp_path)
    analyze(capsys, *files, "--store", tmp_path / "s")
    out = tmp_path / "fleet.html"
    code = main(
        ["fleet", str(tmp_path / "s"), "--out", str(out), "--before", "2026-11-29",
         "--after", "2026-11-30"]
    )  # fmt: skip
    assert code == 0
    html = out.read_text()
    assert "<svg" in html and "HTTP-404" in html and "2/5" in html  # two of five fail
    assert Phone(4).serial in html  # among the worst devices
    assert "cisco/CP-8831-3PCC (…)" in html


def test_dask_local_cluster_gives_the_single_process_verdicts(tmp_path, capsys):
    """Per-file analysis on 2 Dask worker processes, merged per device, judged once."""
    files = fleet_files(tmp_path)
    _, one, _ = analyze(capsys, *files)
    _, dask, _ = analyze(capsys, *files, "--cluster", "local", "-j", "2")
    _, pool, _ = analyze(capsys, *files, "-j", "2")

    def judged(r):
        return sorted((f["rule"], f["device"], f["verdict"]) for f in r["findings"])

    assert judged(dask) == judged(one) == judged(pool)
    assert len(dask["transactions"]) == len(one["transactions"]) == 15


def test_a_scheduler_address_is_used_as_given(tmp_path, capsys):
    """`--cluster tcp://…`: the files go to the workers of that scheduler (a real one here)."""
    import logging

    from distributed import LocalCluster

    files = split_retry(tmp_path, 120.0)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        code, report, _ = analyze(capsys, *files, "--cluster", cluster.scheduler_address)
    assert verdict(report, "HTTP-404", Phone(1).serial)[0] == "fail"
    assert code == 1
    assert main(["analyze", str(files[0]), "--cluster", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
