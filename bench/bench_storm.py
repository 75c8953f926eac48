"""Reboot-storm benchmarks: how many reference phones one process drives, and the largest storm
one machine drives against nginx with the client under 50 % CPU; asyncio crowd vs Locust.

(a) phones per process at a steady 1 attempt per phone per minute: a crowd attempts at a
    steady rate (phones resync every PERIOD s, power-ups spread over PERIOD s, so attempts
    are even in time) for STEADY_S; the client's CPU seconds per attempt and memory per
    phone give the phones one process (one core) holds at 1 attempt/min, at 100 % and at
    50 % of its core. Same for Locust's LocalRunner (one user = one phone) in a subprocess.
(b) the largest storm against nginx with the client under 50 % CPU: N phones power up over
    SPREAD_S s and provision (nginx serves each its own profile); N doubles until the
    client's CPU (its CPU seconds over the storm's wall time, in % of one core) passes 50 %
    or the storm takes too long. The asyncio crowd is one process; Locust runs a master and
    2 local workers (their CPU summed, sampled from /proc while the test runs: start-up and
    shutdown excluded), users spawned at once and powered up over SPREAD_S by
    `--storm-power-up-spread`.
The ladders stop at 8000 phones in 10 s: at 16 000 this shared machine left most phones
unprovisioned after 40 s with the client at ~33 % CPU (client and nginx share 2 cores;
not analysed further). Runs in about 4 minutes. Only measuring and printing here; no assertions. nginx and
locust must be installed.
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.storm.crowd import StormConfig, run_storm

PERIOD = 10  # s between a phone's resyncs in the steady run (1/min is extrapolated)
STEADY_PHONES = 2000
STEADY_S = 15.0
SPREAD_S = 10.0
LADDER = (1000, 2000, 4000, 8000)
LOCUST_LADDER = (1000, 2000, 4000, 8000)
MAX_STORM_S = 30.0  # a storm slower than this ends the ladder (bench bound)
CPU_LIMIT = 50.0
LOCUSTFILE = Path(__file__).resolve().parents[1] / "harness" / "storm" / "locustfile.py"

NGINX_CONF = """
daemon off; master_process off; worker_processes 1; worker_rlimit_nofile 65536;
pid {d}/nginx.pid; error_log {d}/error.log crit;
events {{ worker_connections 16384; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p;
  fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {root}; }} }}
"""
PROFILE = b"<flat-profile><Station_Name>storm</Station_Name></flat-profile>\n"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx(tmp: Path, numbers: list[int]) -> tuple[subprocess.Popen, int]:
    root = tmp / "www"
    root.mkdir()
    for n in numbers:
        (root / f"0200{n:08x}.cfg").write_bytes(PROFILE)
    port = _port()
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(d=tmp, port=port, root=root))
    proc = subprocess.Popen(
        ["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-e", str(tmp / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(250):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.02)
    raise RuntimeError("nginx did not start")


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a running process, from /proc; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(procs: list[subprocess.Popen], started: Path, timeout: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) the processes spent between `started` appearing (Locust's
    stats history: the test runs) and their last sample before exiting: start-up excluded."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    t_first = t_last = None
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        running = started.exists()
        for p in procs:
            cpu = _proc_cpu(p.pid)
            if cpu is None or not running:
                continue
            first.setdefault(p.pid, cpu)
            last[p.pid] = cpu
        if running:
            now = time.monotonic()
            t_first = t_first or now
            t_last = now
        time.sleep(0.25)
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
    cpu = sum(last[pid] - first[pid] for pid in last)
    return cpu, (t_last - t_first) if t_first and t_last else 0.0


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


# -- asyncio crowd --------------------------------------------------------------------------
def crowd_steady(port: int) -> dict[str, float]:
    config = StormConfig(
        server=f"http://127.0.0.1:{port}/$MA.cfg",
        phones=STEADY_PHONES,
        power_up_spread=PERIOD,
        duration=STEADY_S,
        until_provisioned=False,
        parameters={"Resync_Random_Delay": "0", "Resync_Periodic": str(PERIOD)},
    )
    rss0 = _rss_kib()
    phones = config.build_phones()
    rss1 = _rss_kib()
    cpu0 = time.process_time()
    storm = run_storm(config, phones=phones)
    cpu = time.process_time() - cpu0
    attempts = sum(len(p.attempts) for p in storm.phones)
    return {
        "attempts": attempts,
        "cpu_per_attempt": cpu / max(1, attempts),
        "kib_per_phone": (rss1 - rss0) / STEADY_PHONES,
        "cpu_percent": 100 * cpu / ((storm.ended or 0) - storm.started),
    }


def crowd_storm(port: int, n: int) -> dict[str, float]:
    config = StormConfig(
        server=f"http://127.0.0.1:{port}/$MA.cfg",
        phones=n,
        power_up_spread=SPREAD_S,
        duration=MAX_STORM_S,
        parameters={"Resync_Random_Delay": "0", "Resync_Error_Retry_Delay": "5"},
    )
    phones = config.build_phones()
    cpu0 = time.process_time()
    storm = run_storm(config, phones=phones)
    wall = (storm.ended or 0) - storm.started
    return {
        "phones": n,
        "provisioned": storm.provisioned,
        "wall": wall,
        "cpu_percent": 100 * (time.process_time() - cpu0) / wall,
    }


# -- Locust -----------------------------------------------------------------------------------
def _locust(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(LOCUSTFILE.parents[2]))
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _requests(prefix: Path) -> int:
    with open(f"{prefix}_stats.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return int(row["Request Count"])


def locust_steady(port: int, cwd: Path) -> dict[str, float]:
    run = ["--headless", "-u", str(STEADY_PHONES), "-r", str(STEADY_PHONES / PERIOD)]
    proc = _locust(
        [*run, "-t", f"{STEADY_S:g}s", "--csv", str(cwd / "steady"),
         "--storm-server", f"http://127.0.0.1:{port}/$MA.cfg", "--storm-set",
         f"Resync_Random_Delay=0;Resync_Periodic={PERIOD}"],
        cwd,
    )  # fmt: skip
    peak = 0
    cpu, _wall = 0.0, 0.0
    history = cwd / "steady_stats_history.csv"
    first = last = None
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                rss = next(int(x.split()[1]) for x in f if x.startswith("VmRSS:"))
            peak = max(peak, rss)
        except (OSError, StopIteration):
            pass
        c = _proc_cpu(proc.pid)
        if c is not None and history.exists():
            first = c if first is None else first
            last = c
        time.sleep(0.25)
    cpu = (last or 0.0) - (first or 0.0)
    attempts = _requests(cwd / "steady")
    return {
        "attempts": attempts,
        "cpu_per_attempt": cpu / max(1, attempts),
        "kib_per_phone": peak / STEADY_PHONES,  # upper bound: the whole process
    }


def locust_storm(port: int, n: int, cwd: Path) -> dict[str, float]:
    mport = _port()
    seconds = SPREAD_S + 5
    common = ["--storm-server", f"http://127.0.0.1:{port}/$MA.cfg", "--storm-set",
              "Resync_Random_Delay=0;Resync_Error_Retry_Delay=5",
              "--storm-power-up-spread", f"{SPREAD_S:g}"]  # fmt: skip
    master = _locust(
        ["--headless", "--master", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
         "--master-bind-port", str(mport), "-u", str(n), "-r", str(n),
         "-t", f"{seconds:g}s", "--csv", str(cwd / f"storm{n}"), *common],
        cwd,
    )  # fmt: skip
    workers = [
        _locust(["--worker", "--master-host", "127.0.0.1", "--master-port", str(mport)], cwd)
        for _ in range(2)
    ]
    cpu, wall = _watch([master, *workers], cwd / f"storm{n}_stats_history.csv", seconds + 60)
    return {"phones": n, "requests": _requests(cwd / f"storm{n}"),
            "cpu_percent": 100 * cpu / max(wall, 1e-9)}  # fmt: skip


def main() -> None:
    if not shutil.which("nginx"):
        print("  nginx not installed: skipped")
        return
    _raise_nofile()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        numbers = [*range(max(LADDER)), *range(10**6, 10**6 + max(LOCUST_LADDER))]
        nginx, port = _nginx(tmp, numbers)
        try:
            _bench(port, tmp)
        finally:
            nginx.kill()
            nginx.wait()


def _bench(port: int, tmp: Path) -> None:
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    s = crowd_steady(port)
    per_min_full = 60 / s["cpu_per_attempt"]
    print(
        f"  asyncio crowd, steady: {s['attempts']:.0f} attempts, "
        f"{1000 * s['cpu_per_attempt']:.2f} ms CPU per attempt, "
        f"{s['kib_per_phone']:.1f} KiB per phone"
    )
    print(
        f"  => phones per process at 1 attempt/min: {per_min_full:,.0f} (100 % of a core), "
        f"{per_min_full / 2:,.0f} (50 %); memory: {1024 * 1024 / s['kib_per_phone']:,.0f} "
        "phones per GiB"
    )
    largest = None
    for n in LADDER:
        r = crowd_storm(port, n)
        print(
            f"  asyncio crowd storm: {n} phones over {SPREAD_S:g} s -> {r['provisioned']} "
            f"provisioned in {r['wall']:.1f} s, client CPU {r['cpu_percent']:.0f} % of a core"
        )
        if r["cpu_percent"] > CPU_LIMIT or r["provisioned"] < n:
            break
        largest = n
    print(f"  => largest asyncio storm under {CPU_LIMIT:g} % CPU: {largest} phones "
          f"over {SPREAD_S:g} s")  # fmt: skip

    try:
        import locust  # noqa: F401  (only to know it is there; it runs in subprocesses)
    except ImportError:
        print("  locust not installed: Locust figures skipped")
        return
    s = locust_steady(port, tmp)
    per_min_full = 60 / s["cpu_per_attempt"]
    print(
        f"  Locust LocalRunner, steady: {s['attempts']:.0f} attempts, "
        f"{1000 * s['cpu_per_attempt']:.2f} ms CPU per attempt, "
        f"<= {s['kib_per_phone']:.1f} KiB per phone (whole process RSS)"
    )
    print(
        f"  => phones per Locust process at 1 attempt/min: {per_min_full:,.0f} (100 %), "
        f"{per_min_full / 2:,.0f} (50 %)"
    )
    largest = None
    for n in LOCUST_LADDER:
        r = locust_storm(port, n, tmp)
        print(
            f"  Locust master + 2 workers: {n} phones over {SPREAD_S:g} s -> "
            f"{r['requests']} requests, client CPU {r['cpu_percent']:.0f} % of a core (summed)"
        )
        if r["cpu_percent"] > CPU_LIMIT or r["requests"] < n:
            break
        largest = n
    print(f"  => largest Locust storm under {CPU_LIMIT:g} % CPU: {largest} phones "
          f"over {SPREAD_S:g} s")  # fmt: skip
