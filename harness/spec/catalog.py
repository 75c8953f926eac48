"""The requirement catalog: every ID of shared/spec/requirements.md, as data.

A `Requirement` says what a phone must do, where the spec says it, and which
device families it applies to. Rules, findings, tests and reports use these IDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from harness.spec._data import load_data


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    group: str
    text: str
    source: str
    families: tuple[str, ...] = ("*",)
    # "device" (the phone must do it), "environment" (a network fact the harness
    # reproduces) or "server" (a finding about the provisioning server).
    kind: str = "device"

    def applies_to(self, family: str) -> bool:
        return "*" in self.families or family in self.families


@cache
def catalog() -> dict[str, Requirement]:
    """All requirements by ID, in the catalog's order."""
    out: dict[str, Requirement] = {}
    for entry in load_data("requirements")["requirement"]:
        req = Requirement(
            id=entry["id"],
            group=entry["group"],
            text=entry["text"],
            source=entry["source"],
            families=tuple(entry.get("families", ["*"])),
            kind=entry.get("kind", "device"),
        )
        out[req.id] = req
    return out


def requirement(req_id: str) -> Requirement:
    """The requirement with this ID; KeyError names the unknown ID."""
    try:
        return catalog()[req_id]
    except KeyError:
        raise KeyError(
            f"unknown requirement ID {req_id!r} (see harness/spec/data/requirements.toml)"
        ) from None
