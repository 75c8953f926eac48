"""Provisioning attempts: a device's HTTP and TFTP requests grouped as the phone makes them.

One attempt is a request plus the immediate follow-ups Table 3-1 prescribes
(redirect-now, auth-retry). Timing and syslog rules judge attempts, not single
requests. Pure functions over observations; the table comes from harness.spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.observe.events import HttpExchange, Observation, TftpTransfer
from harness.observe.timeline import DeviceTimeline
from harness.spec.status_table import Action, status_row

# A follow-up request must come this soon after the answer that asked for it
# (a harness tolerance, not a spec fact: "immediately" in Table 3-1).
FOLLOW_UP_WINDOW = 5.0


@dataclass(frozen=True)
class Attempt:
    requests: tuple[Observation, ...]  # HttpExchange or TftpTransfer, in time order

    @property
    def start(self) -> float:
        return self.requests[0].time

    @property
    def last(self) -> Observation:
        return self.requests[-1]

    @property
    def end(self) -> float:
        last = self.last
        duration = getattr(last, "duration", None)
        return last.time + (duration or 0.0)

    @property
    def scheme(self) -> str:
        return request_scheme(self.requests[0])

    @property
    def path(self) -> str:
        return request_path(self.requests[0])


def request_scheme(req: Observation) -> str:
    return req.scheme if isinstance(req, HttpExchange) else "tftp"


def request_path(req: Observation) -> str:
    """The path a request asked for (HTTP target without query; TFTP file name with a '/')."""
    if isinstance(req, HttpExchange):
        return urlsplit(req.url).path or req.url
    name = getattr(req, "filename", "")
    return name if name.startswith("/") else "/" + name


def _asks_follow_up(obs: Observation) -> bool:
    if not isinstance(obs, HttpExchange) or obs.status is None:
        return False
    return status_row(obs.status).action in (Action.REDIRECT_NOW, Action.AUTH_RETRY)


def provisioning_requests(timeline: DeviceTimeline) -> list[Observation]:
    """The device's HTTP(S) requests and TFTP read transfers, in time order."""
    return [
        o
        for o in timeline.observations
        if isinstance(o, HttpExchange) or (isinstance(o, TftpTransfer) and o.op == "RRQ")
    ]


def group_attempts(timeline: DeviceTimeline) -> list[Attempt]:
    attempts: list[list[Observation]] = []
    for req in provisioning_requests(timeline):
        if attempts:
            prev = attempts[-1][-1]
            if _asks_follow_up(prev) and req.time - prev.time <= FOLLOW_UP_WINDOW:
                attempts[-1].append(req)
                continue
        attempts.append([req])
    return [Attempt(tuple(a)) for a in attempts]
