"""Provisioning attempts: a device's HTTP and TFTP requests grouped as the phone makes them.

One attempt is a request plus the immediate follow-ups Table 3-1 prescribes
(redirect-now, auth-retry), and the next server tried at once after a connection
that failed before any request (failover to another address of the name). Timing and syslog rules judge attempts, not single
requests. Pure functions over observations; the table comes from harness.spec.

Every rule asks for the same timeline's attempts, so `registry.evaluate` opens
`shared_attempts(timeline)` around its rules: inside it `group_attempts` and
`provisioning_requests` compute once and hand each caller a fresh list of the
same (frozen) attempts. Outside it they compute on every call, as before.
Other per-timeline results (the status rules' outcomes) use the same block through
`shared_value(timeline, key, compute)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from harness.observe.events import HttpExchange, Observation, TftpTransfer
from harness.observe.timeline import DeviceTimeline
from harness.spec.status_table import Action, status_row

# Grouping bounds (harness choices, not spec facts, and not verdicts: whether a
# follow-up came "at once" is judged by the status rules with the timing tolerance,
# harness.rules.tolerance). Any request this soon after an answer that asks for a
# follow-up (Table 3-1 redirect-now, auth-retry) belongs to its attempt...
FOLLOW_UP_WINDOW = 5.0
# ...and so does a later request that is plainly that follow-up (the redirect's
# Location, or the same path with credentials), up to this long after, so a late
# follow-up is judged late instead of passing for a new attempt.
FOLLOW_UP_MATCH_WINDOW = 120.0


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


_CREDENTIALS = ("authorization", "proxy-authorization")


def is_follow_up(prev: Observation, req: Observation) -> bool:
    """Does `req` do what the answer to `prev` asked (go to its Location, or the same
    path with credentials)? Only for answers that ask for a follow-up."""
    if not _asks_follow_up(prev) or not isinstance(req, HttpExchange):
        return False
    assert isinstance(prev, HttpExchange) and prev.status is not None
    if status_row(prev.status).action is Action.AUTH_RETRY:
        has_credentials = any(k.lower() in _CREDENTIALS for k, _ in req.headers)
        return has_credentials and request_path(req) == request_path(prev)
    location = next((v for k, v in prev.response_headers if k.lower() == "location"), None)
    if not location:
        return False
    base = f"{prev.scheme}://{prev.host or 'server'}{prev.url}"
    return request_path(req) == (urlsplit(urljoin(base, location)).path or "/")


class _Shared:
    """The attempts of the one timeline being evaluated (see the module docstring)."""

    __slots__ = ("timeline", "observations", "size", "requests", "attempts", "values")

    def __init__(self, timeline: DeviceTimeline) -> None:
        self.timeline = timeline
        self.observations = timeline.observations
        self.size = len(timeline.observations)
        self.requests: list[Observation] | None = None
        self.attempts: list[Attempt] | None = None
        self.values: dict[Any, Any] = {}

    def valid_for(self, timeline: DeviceTimeline) -> bool:
        # the same timeline object, its observation list neither replaced nor resized
        return (
            timeline is self.timeline
            and timeline.observations is self.observations
            and len(self.observations) == self.size
        )


_shared: _Shared | None = None


@contextmanager
def shared_attempts(timeline: DeviceTimeline) -> Iterator[None]:
    """Compute the timeline's requests and attempts at most once inside this block."""
    global _shared
    before, _shared = _shared, _Shared(timeline)
    try:
        yield
    finally:
        _shared = before


_T = TypeVar("_T")


def shared_value(timeline: DeviceTimeline, key: Any, compute: Callable[[], _T]) -> _T:
    """`compute()` once per `key` inside `shared_attempts(timeline)`; every call outside it.

    The key must name everything the value depends on besides the timeline.
    """
    shared = _shared
    if shared is None or not shared.valid_for(timeline):
        return compute()
    if key not in shared.values:
        shared.values[key] = compute()
    return shared.values[key]


def _requests(timeline: DeviceTimeline) -> list[Observation]:
    return [
        o
        for o in timeline.observations
        if isinstance(o, HttpExchange) or (isinstance(o, TftpTransfer) and o.op == "RRQ")
    ]


def provisioning_requests(timeline: DeviceTimeline) -> list[Observation]:
    """The device's HTTP(S) requests and TFTP read transfers, in time order."""
    shared = _shared
    if shared is None or not shared.valid_for(timeline):
        return _requests(timeline)
    if shared.requests is None:
        shared.requests = _requests(timeline)
    return list(shared.requests)


def _room_for_retry(attempt: list[Observation], prev: Observation) -> bool:
    """False once an auth challenge has had all the retries the spec allows: a later
    request with credentials is then a new attempt (a phone may send them unasked)."""
    assert isinstance(prev, HttpExchange) and prev.status is not None
    row = status_row(prev.status)
    if row.action is not Action.AUTH_RETRY:
        return True
    retried = sum(
        1
        for r in attempt[1:]
        if isinstance(r, HttpExchange) and any(k.lower() in _CREDENTIALS for k, _ in r.headers)
    )
    return retried < (row.max_retries or 0)


def _fails_over(prev: Observation, req: Observation) -> bool:
    """A connection that failed before any request, then at once another server: the
    phone trying the next address of the name (DNS-FAILOVER), the same attempt."""
    return (
        isinstance(prev, HttpExchange)
        and not prev.request_sent
        and prev.server != req.server
        and req.time - (prev.time + (prev.duration or 0.0)) <= FOLLOW_UP_WINDOW
    )


def _soon_enough(prev: Observation, req: Observation, gap: float) -> bool:
    """Within FOLLOW_UP_WINDOW of an answer asking for a follow-up; after a credentials
    challenge only an HTTP request can be one (a TFTP fetch is the next attempt)."""
    if gap > FOLLOW_UP_WINDOW:
        return False
    if (
        isinstance(prev, HttpExchange)
        and prev.status is not None
        and status_row(prev.status).action is Action.AUTH_RETRY
    ):
        return isinstance(req, HttpExchange)
    return True


def _group(requests: list[Observation]) -> list[Attempt]:
    attempts: list[list[Observation]] = []
    for req in requests:
        if attempts:
            prev = attempts[-1][-1]
            gap = req.time - prev.time
            if (
                _asks_follow_up(prev)
                and (
                    _soon_enough(prev, req, gap)
                    or (
                        gap <= FOLLOW_UP_MATCH_WINDOW
                        and is_follow_up(prev, req)
                        and _room_for_retry(attempts[-1], prev)
                    )
                )
            ) or _fails_over(prev, req):
                attempts[-1].append(req)
                continue
        attempts.append([req])
    return [Attempt(tuple(a)) for a in attempts]


def group_attempts(timeline: DeviceTimeline) -> list[Attempt]:
    shared = _shared
    if shared is None or not shared.valid_for(timeline):
        return _group(_requests(timeline))
    if shared.attempts is None:
        shared.attempts = _group(provisioning_requests(timeline))
    return list(shared.attempts)
