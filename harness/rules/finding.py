"""Findings: the verdict a rule gives a device on one requirement.

Reports are rendered from findings only. Field names follow the `findings`
items of shared/spec/report.schema.json. Only data here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # a requirement ID of the catalog
    verdict: Verdict
    why: str  # one sentence a person can act on
    device: str | None = None
    time: float | None = None
    frames: tuple[int, ...] = ()
    evidence: tuple[str, ...] = ()  # evidence sources (capture paths, endpoint names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "device": self.device,
            "time": self.time,
            "why": self.why,
            "frames": list(self.frames),
            "evidence": list(self.evidence),
        }
