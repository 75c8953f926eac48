"""`OtherClient`: a client the rules do not judge, as the report summarizes it.

`harness analyze` judges phones only; a client with no phone identity is listed
with what it did in counts (transactions per kind, first and last time), not
transaction by transaction (docs/report-json.md, `other_clients[]`). The
analyzer builds these while it reads (harness.analyze.keep) and the report from
a device timeline (`summarize`). Data only: no parsing, no judging, no output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.observe.events import DeviceKey, Observation


@dataclass(slots=True)
class OtherClient:
    """Who (the identity its observations show first) and how much it did when."""

    id: str
    ip: str | None = None
    mac: str | None = None
    serial: str | None = None
    product: str | None = None
    transactions: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None

    def count(self, kind: str, time: float) -> None:
        self.transactions += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if self.first is None or time < self.first:
            self.first = time
        if self.last is None or time > self.last:
            self.last = time

    def to_dict(self) -> dict[str, Any]:
        """The report's fields (without `why`, which the caller adds)."""
        return {
            "id": self.id,
            "ip": self.ip,
            "mac": self.mac,
            "serial": self.serial,
            "product": self.product,
            "transactions": self.transactions,
            "kinds": dict(sorted(self.kinds.items())),
            "first": self.first,
            "last": self.last,
        }


def summarize(key: DeviceKey, observations: Iterable[Observation]) -> OtherClient:
    """An `OtherClient` from a device timeline's key and observations."""
    s = OtherClient(key.id, key.ip, key.mac, key.serial, key.product)
    for o in observations:
        s.count(o.kind, o.time)
    return s
