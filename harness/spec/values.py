"""Parameter value grammars of the provisioning spec, as pure functions.

Delay values (`3600`, back-off lists `60,120,240` whose last step repeats,
`N+R` for N seconds plus a random 0..R) and boolean spellings (`Yes`/`No`,
`Enable`/`Disable`, `1`/`0`). Used by the simulated phone, the timing rules and
the report's timelines alike. No I/O here.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# The guide's boolean spellings (SPA provisioning guide, plain-text profile section).
_TRUE = frozenset({"Yes", "yes", "Enable", "enable", "1", "True", "true"})
_FALSE = frozenset({"No", "no", "Disable", "disable", "0", "False", "false"})


@dataclass(frozen=True)
class DelaySchedule:
    """A parsed delay value: steps of (seconds, random extra up to seconds)."""

    steps: tuple[tuple[float, float], ...]
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.steps

    def bounds(self, attempt_index: int) -> tuple[float, float]:
        """(shortest, longest) delay for attempt `attempt_index` (0-based)."""
        base, extra = self._step(attempt_index)
        return base, base + extra

    def delay(self, attempt_index: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt_index` (0 = first); last step repeats."""
        base, extra = self._step(attempt_index)
        if not extra:
            return base
        return base + (rng or random.Random()).uniform(0, extra)

    def _step(self, attempt_index: int) -> tuple[float, float]:
        if not self.steps:
            raise ValueError(f"delay {self.text!r} is empty: no delay to take")
        if attempt_index < 0:
            raise ValueError(f"attempt index must be >= 0, got {attempt_index}")
        return self.steps[min(attempt_index, len(self.steps) - 1)]


_STEP = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:\+\s*(\d+(?:\.\d+)?)\s*)?")


def parse_delay_schedule(text: str, name: str = "delay") -> DelaySchedule:
    """Parse `3600`, `60,120,240`, `N+R` or `1800+300,3600+600`; ValueError says where."""
    if not text.strip():
        return DelaySchedule((), text)
    steps: list[tuple[float, float]] = []
    pos = 0
    for part in text.split(","):
        m = _STEP.fullmatch(part)
        if not m:
            raise ValueError(
                f"{name} = {text!r}: character {pos + 1}: {part.strip()!r} is not seconds "
                "(N) or seconds plus random extra (N+R)"
            )
        steps.append((float(m.group(1)), float(m.group(2) or 0)))
        pos += len(part) + 1
    return DelaySchedule(tuple(steps), text)


def parse_bool(text: str, name: str = "value") -> bool:
    """`Yes`/`No` (and Enable/Disable, 1/0, the guide's lower-case forms) -> bool."""
    value = text.strip()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} = {text!r}: not a boolean (Yes/No, Enable/Disable, 1/0)")
