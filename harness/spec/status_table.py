"""Table 3-1 of seed 000 (phone behaviour per HTTP status) as a lookup.

`status_row(404)` answers which requirement covers the status and what the
phone must do next (`Action`). Exact codes win over `Nxx` ranges. The rows
live in data/http_status.toml; nothing here knows a status code by heart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from harness.spec._data import load_data


class Action(StrEnum):
    REDIRECT_NOW = "redirect-now"
    AUTH_RETRY = "auth-retry"
    A = "A"
    B = "B"
    C = "C"

    @property
    def is_outcome_class(self) -> bool:
        return self in (Action.A, Action.B, Action.C)


@dataclass(frozen=True, slots=True)
class StatusRow:
    key: str  # "404", "4xx" or a transport outcome ("timeout")
    requirement: str
    action: Action
    max_retries: int = 0
    then: Action | None = None  # what follows when auth retries are used up


def _row(entry: dict, key: str) -> StatusRow:
    return StatusRow(
        key=key,
        requirement=entry["requirement"],
        action=Action(entry["action"]),
        max_retries=int(entry.get("max_retries", 0)),
        then=Action(entry["then"]) if "then" in entry else None,
    )


@cache
def _rows() -> tuple[dict[str, StatusRow], dict[str, StatusRow]]:
    data = load_data("http_status")
    by_status = {e["status"]: _row(e, e["status"]) for e in data["row"]}
    by_transport = {e["outcome"]: _row(e, e["outcome"]) for e in data["transport"]}
    return by_status, by_transport


def status_row(status: int) -> StatusRow:
    """The Table 3-1 row for an HTTP status; unknown classes (1xx, 6xx...) are C."""
    by_status, _ = _rows()
    exact = by_status.get(str(status))
    if exact is not None:
        return exact
    ranged = by_status.get(f"{status // 100}xx")
    if ranged is not None:
        return ranged
    return StatusRow(key=str(status), requirement="HTTP-4XX", action=Action.C)


def transport_row(outcome: str) -> StatusRow:
    """The row for an outcome with no status: `corrupt`, `connection-error`, `timeout`."""
    _, by_transport = _rows()
    try:
        return by_transport[outcome]
    except KeyError:
        known = ", ".join(sorted(by_transport))
        raise KeyError(f"unknown transport outcome {outcome!r}; known: {known}") from None


def all_status_rows() -> list[StatusRow]:
    """Every status row of the table, in order (for parametrized tests)."""
    by_status, _ = _rows()
    return list(by_status.values())


def all_transport_rows() -> list[StatusRow]:
    _, by_transport = _rows()
    return list(by_transport.values())
