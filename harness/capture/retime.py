"""Mapping a capture's real timestamps to the time a virtual clock showed.

A `VirtualClock` (harness.clock) keeps a journal of `(real, virtual)` pairs:
one when it starts and one after every jump. Between two entries both clocks
run at the same rate, so a frame captured at real time `t` happened at
`v_i + (t - r_i)` on the virtual clock, where `(r_i, v_i)` is the last entry
with `r_i <= t`. `Retimer(journal)` does that mapping (a frame before the first
entry is mapped back from it). Pure arithmetic: no files, no clocks read here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable


class Retimer:
    """Real epoch seconds -> the virtual clock's epoch seconds, through its journal."""

    def __init__(self, journal: Iterable[tuple[float, float]]) -> None:
        pairs = sorted(journal)
        if not pairs:
            raise ValueError("an empty clock journal maps nothing")
        self._real = [r for r, _ in pairs]
        self._virtual = [v for _, v in pairs]

    def __call__(self, real: float) -> float:
        i = max(0, bisect.bisect_right(self._real, real) - 1)
        return self._virtual[i] + (real - self._real[i])

    @property
    def jumps(self) -> int:
        return len(self._real) - 1


def identity(real: float) -> float:
    """No retiming: the capture already shows the device's (real) time."""
    return real
