"""A decompression bomb (a small gzip expanding to millions of empty records) in bounded memory.

Peak memory is measured in a child process (VmHWM, the peak resident set, before and
after the work): tracemalloc would slow millions of records down a hundredfold.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.capture.reader import uncompressed_size

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
EMPTY_RECORD = struct.pack("<IIII", 1_700_000_000, 0, 0, 0)  # 16 bytes, no packet data
BOUND_KIB = 24 * 1024  # peak growth allowed, whatever the expansion

MEASURE = textwrap.dedent(
    """
    import sys
    from harness.analyze.engine import analyze_capture
    from harness.capture.reader import CaptureReader

    def hwm():
        with open("/proc/self/status") as fp:
            return next(int(l.split()[1]) for l in fp if l.startswith("VmHWM:"))

    path, what = sys.argv[1], sys.argv[2]
    base = hwm()
    if what == "read":
        with CaptureReader(path) as reader:
            count = sum(1 for _ in reader)
            position = reader.position
    else:
        positions = []
        result = analyze_capture(path, progress=lambda pos, records: positions.append(pos))
        count, position = result.packets, max(positions)
    print(hwm() - base, count, position)
    """
)


def bomb(path: Path, records: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(PCAP_HEADER)
        block = EMPTY_RECORD * 100_000
        for _ in range(records // 100_000):
            f.write(block)
    return path


def measure(path: Path, what: str) -> tuple[int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), what],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    growth, count, position = map(int, out.stdout.split())
    return growth, count, position


@pytest.mark.parametrize(("what", "records"), [("read", 4_000_000), ("analyze", 2_000_000)])
def test_a_bomb_is_read_in_bounded_memory(tmp_path, what, records):
    path = bomb(tmp_path / "bomb.pcap.gz", records)
    size = 24 + 16 * records
    assert path.stat().st_size * 500 < size  # a real bomb: > 500 to 1
    assert uncompressed_size(path) == size  # what the progress bar counts to
    growth_kib, count, position = measure(path, what)
    assert count == records
    assert position == size  # progress in uncompressed bytes, not file bytes
    assert growth_kib < BOUND_KIB, f"peak memory grew {growth_kib} KiB for {size} bytes"
