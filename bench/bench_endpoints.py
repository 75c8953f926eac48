"""Endpoint benchmarks: start-up time of every endpoint class, TFTP throughput vs tftpd-hpa.

(a) median start/stop cycle of each `Endpoint` subclass found in harness.endpoints
    (imported defensively: a class that cannot start with default arguments is skipped);
(b) download of the same 8 MiB file with blksize 512 and 1468, lock-step and windowsize 8,
    from `TftpServer` and from tftpd-hpa (`in.tftpd -L`), both fetched by the same client
    (atftp), MB/s and ratio; runs alternate between the servers, best of 3 each.
    tftpd-hpa has no RFC 7440 windowsize: it leaves the option out and answers lock-step.
Only measuring and printing here; no assertions.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import harness.endpoints
from harness.endpoints.base import Endpoint
from harness.endpoints.tftp import TftpServer

CYCLES = 30
FILE_SIZE = 8 * 1024 * 1024
CASES = ((512, 1), (1468, 1), (512, 8), (1468, 8))  # (blksize, windowsize)
RUNS = 3
TFTPD = "/usr/sbin/in.tftpd"


def endpoint_classes() -> list[type[Endpoint]]:
    found: dict[str, type[Endpoint]] = {}
    for info in pkgutil.iter_modules(harness.endpoints.__path__):
        try:
            module = importlib.import_module(f"harness.endpoints.{info.name}")
        except Exception as exc:  # another area's module may be half-written
            print(f"  (skipped module {info.name}: {type(exc).__name__}: {exc})")
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Endpoint)
                and cls is not Endpoint
                and cls.__module__ == module.__name__
            ):
                found[cls.__name__] = cls
    return [found[k] for k in sorted(found)]


# Endpoints that cannot start without arguments, and the loopback arguments the bench gives them.
STARTUP_ARGS: dict[str, dict[str, object]] = {
    "DhcpServer": {
        "interface": "lo",
        "server_ip": "127.0.0.1",
        "pool": ("127.0.0.100", "127.0.0.200"),
        "subnet": "127.0.0.0/8",
        "host": "127.0.0.1",
        "port": 0,
    },
}


async def startup_median(cls: type[Endpoint], cycles: int) -> float:
    times = []
    for _ in range(cycles):
        endpoint = cls(**STARTUP_ARGS.get(cls.__name__, {}))
        started = time.perf_counter()
        await endpoint.start_async()
        times.append(time.perf_counter() - started)
        await endpoint.stop_async()
    return statistics.median(times)


def bench_startup() -> None:
    print(f"(a) start-up time, median of {CYCLES} start/stop cycles")
    print(f"  {'endpoint':<20} {'median ms':>10}")
    for cls in endpoint_classes():
        try:
            median = asyncio.run(startup_median(cls, CYCLES))
        except Exception as exc:
            print(f"  {cls.__name__:<20} {'n/a':>10}  ({type(exc).__name__}: {exc})"[:110])
            continue
        print(f"  {cls.__name__:<20} {median * 1000:>10.2f}")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_seconds(port: int, blksize: int, window: int, out: Path) -> float:
    cmd = ["atftp", "--option", f"blksize {blksize}", "-g", "-r", "big.bin", "-l", str(out)]
    if window > 1:
        cmd[1:1] = ["--option", f"windowsize {window}"]
    started = time.perf_counter()
    subprocess.run([*cmd, "127.0.0.1", str(port)], check=True, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - started
    if out.stat().st_size != FILE_SIZE:
        raise RuntimeError(f"fetched {out.stat().st_size} bytes, wanted {FILE_SIZE}")
    return elapsed


def bench_throughput() -> None:
    print(f"(b) TFTP download of {FILE_SIZE // (1024 * 1024)} MiB with atftp, best of {RUNS}")
    if not shutil.which("atftp") or not os.path.exists(TFTPD):
        print("  skipped: atftp and tftpd-hpa (in.tftpd) are needed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        os.chmod(tmp, 0o755)
        os.chmod(root, 0o755)
        (root / "big.bin").write_bytes(os.urandom(FILE_SIZE))
        (root / "big.bin").chmod(0o644)
        out = Path(tmp) / "out.bin"
        port = free_udp_port()
        tftpd = subprocess.Popen(
            [TFTPD, "-L", "-s", str(root), "-a", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = TftpServer(root, writable=False).start()
        try:
            time.sleep(0.2)  # let in.tftpd bind
            print(
                f"  {'blksize':>7} {'window':>6} {'harness MB/s':>13} {'tftpd-hpa MB/s':>15}"
                f" {'ratio':>6}"
            )
            for blksize, window in CASES:
                ours, theirs = float("inf"), float("inf")
                for _ in range(RUNS):  # alternate, so load from elsewhere hits both alike
                    ours = min(ours, fetch_seconds(server.port, blksize, window, out))
                    theirs = min(theirs, fetch_seconds(port, blksize, window, out))
                mb = FILE_SIZE / 1e6
                print(
                    f"  {blksize:>7} {window:>6} {mb / ours:>13.1f} {mb / theirs:>15.1f}"
                    f" {theirs / ours:>6.2f}"
                )
        finally:
            server.stop()
            tftpd.terminate()
            try:
                tftpd.wait(5)
            except subprocess.TimeoutExpired:
                tftpd.kill()
                tftpd.wait()


def main() -> None:
    bench_startup()
    bench_throughput()


if __name__ == "__main__":
    main()
