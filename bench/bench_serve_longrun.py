"""Long-run memory of `harness serve`: 200,000 mixed requests, the server's RSS curve.

Starts `harness serve` as a subprocess on loopback (ephemeral ports, its own temp
root) and drives REQUESTS requests through it: of every 20, 14 HTTP GETs (over 4
keep-alive connections), 2 DNS queries, 2 syslog datagrams and 2 TFTP reads
(lock-step, a 600-byte file: 2 blocks). After every STEP requests it prints the
server's RSS (VmRSS of /proc/PID/status) and the rate; at the end, the growth from
the first sample past WARMUP requests to the last one. Bounded by count and by
MAX_SECONDS (it stops early, and says so). Registered like every bench: `python -m
bench serve_longrun` (bench/__main__.py runs every bench_*.py `main()`);
BENCH_LONGRUN_REQUESTS overrides the count. Only measuring and printing here.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUESTS = int(os.environ.get("BENCH_LONGRUN_REQUESTS", "200000"))
STEP = 10_000
WARMUP = 20_000
MAX_SECONDS = 1800.0
HTTP_CONNECTIONS = 4
PROFILE = b"<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>\n"
TFTP_FILE = bytes(range(200)) * 3  # 600 bytes: two DATA blocks


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_serve(base: Path) -> tuple[subprocess.Popen[str], dict[str, int]]:
    root = base / "root"
    root.mkdir()
    (root / "CP-8831-3PCC.cfg").write_bytes(PROFILE)
    (root / "boot.bin").write_bytes(TFTP_FILE)
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(root),
         "--duration", str(MAX_SECONDS + 120)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    ports: dict[str, int] = {}
    assert proc.stdout is not None
    while len(ports) < 5:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("harness serve exited before printing its URLs")
        if m := re.match(r"\s+(tftp|http|https|syslog|dns)\s+\S+://\S+:(\d+)", line):
            ports[m.group(1)] = int(m.group(2))
    return proc, ports


async def drain_output(proc: subprocess.Popen[str]) -> None:
    """Read the server's one-line-per-request output so its pipe never fills."""
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, proc.stdout.readline):
        pass


class Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.queue.put_nowait((data, addr))


async def udp_endpoint() -> tuple[asyncio.DatagramTransport, Udp]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
    return transport, proto  # type: ignore[return-value]


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov.example.test\r\n"
        b"User-Agent: Cisco-CP-8831-3PCC/12.0 (00562b043615)\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)


async def http_gets(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
    for _ in range(n):  # one connection serves its requests in order
        await http_get(reader, writer)


async def dns_query(transport: asyncio.DatagramTransport, proto: Udp, port: int, n: int) -> None:
    qid = n & 0xFFFF
    name = b"".join(bytes([len(p)]) + p for p in b"prov.example.test".split(b".")) + b"\x00"
    transport.sendto(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01",
                     ("127.0.0.1", port))  # fmt: skip
    await asyncio.wait_for(proto.queue.get(), 5)


async def tftp_read(port: int) -> None:
    transport, proto = await udp_endpoint()
    try:
        transport.sendto(b"\x00\x01boot.bin\x00octet\x00", ("127.0.0.1", port))
        got = 0
        while True:
            data, addr = await asyncio.wait_for(proto.queue.get(), 5)
            if data[:2] != b"\x00\x03":
                raise RuntimeError(f"TFTP: unexpected packet {data[:4]!r}")
            transport.sendto(b"\x00\x04" + data[2:4], addr)
            got += len(data) - 4
            if len(data) - 4 < 512:
                return
    finally:
        transport.close()


async def drive(proc: subprocess.Popen[str], ports: dict[str, int]) -> list[tuple[int, int, float]]:
    conns = [
        await asyncio.open_connection("127.0.0.1", ports["http"]) for _ in range(HTTP_CONNECTIONS)
    ]
    dns_t, dns_p = await udp_endpoint()
    syslog_t, _ = await udp_endpoint()
    curve: list[tuple[int, int, float]] = [(0, rss_kib(proc.pid), 0.0)]
    start = time.monotonic()
    done = 0
    pattern = "HHHHHHHDSTHHHHHHHDST"  # per 20: 14 HTTP, 2 DNS, 2 syslog, 2 TFTP
    print(f"{'requests':>9} {'RSS MiB':>8} {'req/s':>7}", flush=True)
    print(f"{0:>9} {curve[0][1] / 1024:8.1f} {'-':>7}", flush=True)
    while done < REQUESTS:
        http_share = [0] * HTTP_CONNECTIONS
        tftp_reads = []
        for i in range(20):
            kind = pattern[i]
            if kind == "H":
                http_share[i % HTTP_CONNECTIONS] += 1
            elif kind == "D":
                await dns_query(dns_t, dns_p, ports["dns"], done + i)
            elif kind == "S":
                message = f"<134>bench message {done + i}".encode()
                syslog_t.sendto(message, ("127.0.0.1", ports["syslog"]))
            else:
                tftp_reads.append(tftp_read(ports["tftp"]))
        await asyncio.gather(
            *(http_gets(*conns[c], http_share[c]) for c in range(HTTP_CONNECTIONS)), *tftp_reads
        )
        done += 20
        elapsed = time.monotonic() - start
        if done % STEP == 0:
            curve.append((done, rss_kib(proc.pid), elapsed))
            print(f"{done:>9} {curve[-1][1] / 1024:8.1f} {done / elapsed:7.0f}", flush=True)
        if elapsed > MAX_SECONDS:
            print(f"stopped at {done} requests: the {MAX_SECONDS:.0f} s bound", flush=True)
            break
    for _, w in conns:
        w.close()
    dns_t.close()
    syslog_t.close()
    return curve


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-longrun-") as tmp:
        proc, ports = start_serve(Path(tmp))
        try:

            async def run() -> list[tuple[int, int, float]]:
                reader = asyncio.ensure_future(drain_output(proc))
                curve = await drive(proc, ports)
                proc.send_signal(signal.SIGTERM)
                await reader
                return curve

            curve = asyncio.run(run())
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
        after_warmup = [c for c in curve if c[0] >= WARMUP] or curve
        first, last = after_warmup[0], curve[-1]
        if last[0] > first[0]:
            per_10k = (last[1] - first[1]) / 1024 / ((last[0] - first[0]) / 10_000)
            print(
                f"RSS {first[1] / 1024:.1f} MiB at {first[0]} -> {last[1] / 1024:.1f} MiB at "
                f"{last[0]} requests: {per_10k:+.2f} MiB per 10k requests after warm-up"
            )
        journal = sum(p.stat().st_size for p in (Path(tmp) / "journal").glob("*.jsonl"))
        print(f"journal on disk: {journal / 1024**2:.1f} MiB")


if __name__ == "__main__":
    main()
