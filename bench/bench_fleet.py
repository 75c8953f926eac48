"""Benchmark: fleet forensics over a ring-buffer set, one process vs a Dask local cluster vs -j.

Generates (cached under bench/out/fleet-<files>x<packets>/, git-ignored) a dumpcap-style
ring-buffer set: `--files` files (default 200) of 10k-50k packets each, ~500 phones
resyncing over HTTP (some answered 404 and retrying), moving between files, the rest
RTP-like noise. Then, each in its own process, in one run:

- `harness analyze DIR` in one process (the set as one capture),
- `harness analyze DIR -j 2` (one file per process of a pool),
- `harness analyze DIR --cluster local -j 2` (one file per Dask worker process),

printing files/s, packets/s and peak memory (the process's, and its largest worker's);
then `--store` in one process: the dataset's size against the captures', and a DuckDB
query over it (firmware x requirement fail counts) timed. Run:
`python -m bench.bench_fleet [--files N] [--max-packets N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

OUT = Path(__file__).parent / "out"
T0 = 1_795_910_400.0  # 2026-11-29 00:00 UTC
FILE_SECONDS = 600.0
PHONES = 500
SERVER = ("198.51.100.1", 80)


@cache
def _attempt(index: int, status: int, sport: int) -> tuple[bytes, ...]:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    ip = f"192.0.2.{index % 250 + 1}" if index < 250 else f"203.0.113.{index % 250 + 1}"
    mac = "02:00:00:00:" + f"{index >> 8:02x}:{index & 255:02x}"
    c, s = (ip, sport), SERVER
    ua = f"cisco/CP-8831-3PCC (88012BA{index:05d})"
    req = f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov\r\nUser-Agent: {ua}\r\n\r\n".encode()
    body = b"<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>"
    body = body if status == 200 else b""
    reason = "OK" if status == 200 else "Not Found"
    resp = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body

    def seg(src, dst, seq, ack, flags, data=b""):
        e = Ether(src=mac if src == c else "02:00:00:00:01:01", dst="02:00:00:00:01:02")
        return bytes(e / IP(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1],
                                                         seq=seq, ack=ack, flags=flags) / data)  # fmt: skip

    return (
        seg(c, s, 1000, 0, "S"),
        seg(s, c, 5000, 1001, "SA"),
        seg(c, s, 1001, 5001, "PA", req),
        seg(s, c, 5001, 1001 + len(req), "PA", resp),
        seg(c, s, 1001 + len(req), 5001 + len(resp), "FA"),
        seg(s, c, 5001 + len(resp), 1002 + len(req), "FA"),
    )


@lru_cache(maxsize=1)
def _noise() -> bytes:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    return bytes(
        Ether(src="02:00:00:00:09:09", dst="02:00:00:00:09:0a")
        / IP(src="192.0.2.250", dst="192.0.2.251")
        / UDP(sport=16384, dport=16386)
        / (b"\x80" + bytes(171))
    )


def generate(files: int, max_packets: int) -> tuple[Path, int]:
    """The ring-buffer set (cached) and its packet count."""
    from harness.capture.pcapwrite import write_pcap

    d = OUT / f"fleet-{files}x{max_packets}"
    stamp = d / ".complete"
    if stamp.exists():
        return d, int(stamp.read_text())
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rng = random.Random(7)
    total = 0
    # each phone: a resync every ~50 min; 1 in 5 phones gets a 404 first, retried after
    # 3600 s (on time) or 60 s (too soon, 1 in 3 of those)
    schedule: dict[int, list[tuple[float, int]]] = {}
    span = files * FILE_SECONDS
    for p in range(PHONES):
        t = T0 + rng.uniform(0, 3000)
        while t < T0 + span:
            if rng.random() < 0.2:
                schedule.setdefault(int((t - T0) // FILE_SECONDS), []).append((t, p * 2 + 1))
                t += 60.0 if rng.random() < 0.33 else 3600.0
            schedule.setdefault(int((t - T0) // FILE_SECONDS), []).append((t, p * 2))
            t += 3000.0
    noise = _noise()
    for i in range(files):
        start = T0 + i * FILE_SECONDS
        recs: list[tuple[float, bytes]] = []
        for t, code in schedule.get(i, []):
            phone, status = code // 2, (404 if code % 2 else 200)
            sport = 40000 + int(t) % 20000
            recs.extend((t + k * 0.001, f) for k, f in enumerate(_attempt(phone, status, sport)))
        n = rng.randint(10_000, max_packets) - len(recs)
        step = FILE_SECONDS / max(n, 1)
        recs.extend((start + k * step, noise) for k in range(max(n, 0)))
        recs.sort(key=lambda r: r[0])
        name = datetime.fromtimestamp(start, UTC).strftime("%Y%m%d%H%M%S")
        write_pcap(d / f"site_{i + 1:05d}_{name}.pcap", recs)
        total += len(recs)
    stamp.write_text(str(total))
    return d, total


RUNNER = """
import json, resource, sys, time
from harness.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": code, "wall": wall, "own_mb": own, "worker_mb": kids}), file=sys.stderr)
"""


def run(args: list[str]) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, check=False
    )
    last = [ln for ln in p.stderr.splitlines() if ln.startswith("{")]
    if not last:
        raise RuntimeError(f"harness {' '.join(args)} failed:\n{p.stderr[-2000:]}")
    return json.loads(last[-1])


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(prog="bench_fleet")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--max-packets", type=int, default=50_000)
    opts, _ = ap.parse_known_args(sys.argv[1:] if __name__ == "__main__" else [])
    d, packets = generate(opts.files, opts.max_packets)
    files = len(list(d.glob("*.pcap")))
    print(
        f"ring-buffer set: {files} files, {packets:,} packets, {du(d) / 1e6:.0f} MB, {PHONES} phones"
    )
    common = ["analyze", str(d), "--format", "json", "--out", os.devnull, "--no-progress"]
    modes = [
        ("one process (one capture)", []),
        ("-j 2 process pool", ["-j", "2"]),
        ("Dask LocalCluster, 2 workers", ["--cluster", "local", "-j", "2"]),
    ]
    print(f"{'mode':32} {'s':>7} {'files/s':>8} {'packets/s':>10} {'peak MB':>8} {'worker MB':>9}")
    for label, extra in modes:
        r = run(common + extra)
        print(
            f"{label:32} {r['wall']:7.1f} {files / r['wall']:8.1f} {packets / r['wall']:10,.0f} "
            f"{r['own_mb']:8.0f} {r['worker_mb']:9.0f}"
        )
    store = OUT / "fleet-store"
    shutil.rmtree(store, ignore_errors=True)
    r = run(common + ["--store", str(store)])
    print(
        f"--store (one process): {r['wall']:.1f} s; dataset {du(store) / 1e6:.2f} MB "
        f"against {du(d) / 1e6:.0f} MB of captures ({du(store) / du(d):.2%})"
    )
    from harness.fleet.query import run_query
    from harness.fleet.report import FIRMWARE_BY_RULE

    t = time.perf_counter()
    _, rows = run_query(store, FIRMWARE_BY_RULE)
    q = time.perf_counter() - t
    _, n = run_query(store, "select count(*) from findings")
    print(
        f"DuckDB firmware x requirement query: {q * 1000:.0f} ms ({len(rows)} rows over {n[0][0]:,} findings)"
    )


if __name__ == "__main__":
    main()
