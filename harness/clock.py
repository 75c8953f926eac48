"""Clocks injected into endpoints and devices: real time, or virtual time.

`RealClock` reads the system clock and sleeps for real. `VirtualClock` starts
at a given epoch time and only moves when someone sleeps on it: `sleep(3600)`
returns at once and the clock reads an hour later, so a run with the spec's
hour-long retry delays finishes in seconds while network I/O stays real.
No other module reads `time.time()` for an observation's timestamp.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""


class RealClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Time that advances by the amounts slept on it, plus real elapsed time.

    Real elapsed time is kept so that network round trips still show up as
    (small) durations; `sleep` jumps ahead without waiting, but first lets
    I/O already in flight land (`settle` real seconds), so that a datagram sent
    just before a jump is stamped before it, as it would be in real time.
    """

    def __init__(self, start: float | None = None, *, settle: float = 0.005) -> None:
        self.settle = settle
        self._lock = threading.Lock()
        self._offset = (start if start is not None else time.time()) - time.monotonic()
        # (wall-clock time, this clock's time) at the start and after every jump: maps a
        # capture's real timestamps to the time this clock showed (harness.capture.retime)
        self.journal: list[tuple[float, float]] = [(time.time(), self.now())]

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            if seconds > 0:
                self._offset += seconds
                self.journal.append((time.time(), time.monotonic() + self._offset))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.settle)
        self.advance(seconds)
        await asyncio.sleep(0)


REAL_CLOCK = RealClock()
