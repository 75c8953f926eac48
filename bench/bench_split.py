"""Cutting a run capture into per-scenario pcapng files: struct-level writer vs scapy.

Builds a synthetic run capture of N loopback frames from 50 phone addresses
(the shape `harness conform` produces), then cuts it into one retimed pcapng
per address twice: with harness.capture.split (struct-level reader/writer) and
with scapy (rdpcap, one pass, set `.time`, wrpcapng per slice). Median of 3, seconds and
frames per second. Only measuring and printing here; no assertions.
"""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from pathlib import Path

from harness.capture.pcapwrite import write_pcapng
from harness.capture.retime import Retimer
from harness.capture.split import Slice, split_capture

FRAMES = 20000
PHONES = 50
RUNS = 3


def _frame(src: bytes, dst: bytes, payload: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0, src, dst)
    udp = struct.pack("!HHHH", 40000, 514, 8 + len(payload), 0)
    return b"\x00" * 12 + b"\x08\x00" + ip + udp + payload


def _phone(i: int) -> str:
    return f"127.64.{i // 200}.{i % 200 + 1}"


def make_run(path: Path) -> list[Slice]:
    t0 = 1_764_000_000.0
    recs = []
    for n in range(FRAMES):
        i = n % PHONES
        src = bytes(int(x) for x in _phone(i).split("."))
        recs.append((t0 + n * 1e-4, _frame(src, b"\x7f\x00\x00\x01", b"<134>x" * 20), 0))
    write_pcapng(path, recs)
    journal = [(t0, 1_700_000_000.0), (t0 + 0.5, 1_700_003_600.0)]
    return [
        Slice(path.parent / f"s{i}.pcapng", frozenset({_phone(i)}), t0, t0 + 10, Retimer(journal))
        for i in range(PHONES)
    ]


def with_struct(src: Path, slices: list[Slice]) -> None:
    split_capture([src], slices)


def with_scapy(src: Path, slices: list[Slice]) -> None:
    from scapy.layers.inet import IP
    from scapy.utils import rdpcap, wrpcapng

    packets = rdpcap(str(src))
    by_addr: dict[str, list[Slice]] = {}
    for sl in slices:
        for a in sl.addresses:
            by_addr.setdefault(a, []).append(sl)
    out: dict[Path, list] = {sl.path: [] for sl in slices}
    for p in packets:  # one pass, as harness.capture.split does
        if IP not in p:
            continue
        ip = p[IP]
        hits = by_addr.get(ip.src, []) + by_addr.get(ip.dst, [])
        for sl in {id(s): s for s in hits}.values():
            t = float(p.time)
            if sl.start <= t <= sl.end:
                q = p.copy()
                q.time = sl.retime(t)
                out[sl.path].append(q)
    for path, mine in out.items():
        wrpcapng(str(path), mine)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "run.pcapng"
        slices = make_run(src)
        for name, fn in (("struct (harness.capture.split)", with_struct), ("scapy", with_scapy)):
            times = []
            for _ in range(RUNS):
                slices = make_run(src)
                t = time.perf_counter()
                fn(src, slices)
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            print(
                f"{name:32} {FRAMES} frames, {PHONES} slices: {med:.3f} s ({FRAMES / med:,.0f} frames/s)"
            )


if __name__ == "__main__":
    main()
