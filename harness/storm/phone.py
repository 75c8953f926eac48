"""`StormPhone`: one reference phone of a storm, as a sans-I/O driver over the sim's `Engine`.

The engine decides everything (when to fetch, what, how to read the answer, how long
to wait after each Table 3-1 class); this driver only keeps what the engine asked
for: its timers (deadlines), the one request it waits on (`pending`), and what the
phone saw, as the observation types `harness analyze` judges (`HttpExchange`,
`TftpTransfer`). A runner (asyncio crowd, Locust user) asks `next_deadline()`,
calls `fire(now)` when it is due, carries out `pending` and hands the answer back
with `complete(...)`. No sockets, no clock reads, no provisioning logic here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.device.sim.adapters.http_client import request_target
from harness.device.sim.engine import Engine
from harness.device.sim.engine_table import (
    ApplyProfile,
    AttemptDone,
    CancelTimer,
    DnsResult,
    Event,
    Fetch,
    FetchResult,
    PowerUp,
    Resolve,
    SendSyslog,
    SetTimer,
    TimerFired,
)
from harness.device.sim.identity import Identity
from harness.device.sim.parameters import Parameters
from harness.device.sim.quirks import behaviour_for
from harness.observe.events import DeviceKey, Evidence, HttpExchange, Observation, TftpTransfer
from harness.profiles.classify import classify_profile_body
from harness.spec.family import Family
from harness.spec.status_table import Action, status_row, transport_row

# FetchResult.outcome of an exchange without an HTTP answer -> HttpExchange.outcome
_NO_ANSWER = {"timeout": "no-response", "connection-error": "client-closed"}
# FetchResult.outcome of a TFTP read -> TftpTransfer.outcome
_TFTP_OUTCOME = {"complete": "complete", "not-found": "error", "timeout": "timeout"}
_TFTP_FILE_NOT_FOUND = 1  # RFC 1350 error code 1
EVIDENCE = Evidence("storm:phone-view")

Io = Fetch | Resolve


def answer_class(status: int | None, outcome: str) -> str:
    """Table 3-1 class ("A", "B", "C") of one answer as the phone saw it; a follow-up
    row (401, 302) counts as the class it ends in when not followed."""
    row = status_row(status) if status is not None else transport_row(outcome)
    return row.action.value if row.action.is_outcome_class else (row.then or Action.C).value


def static_dns_answer(names: dict[str, str], action: Resolve) -> DnsResult:
    """The phones' DNS in a storm: a fixed name -> IPv4 map (`--resolve NAME=IP`)."""
    ip = names.get(action.name.lower().rstrip("."))
    if action.qtype == "A" and ip:
        return DnsResult(name=action.name, qtype=action.qtype, addresses=(ip,))
    return DnsResult(name=action.name, qtype=action.qtype, error="NXDOMAIN (not in --resolve)")


@dataclass
class Request:
    """One request the phone made, as the storm's report counts it."""

    start: float
    end: float
    url: str
    status: int | None
    outcome: str  # answered | timeout | connection-error | complete | not-found
    bytes: int
    error: str = ""


@dataclass
class StormPhone:
    family: Family
    identity: Identity
    parameters: dict[str, str] = field(default_factory=dict)
    quirks: tuple[str, ...] = ()
    seed: int = 0
    # what happened (the report reads these)
    powered_at: float | None = None
    provisioned_at: float | None = None
    attempts: list[AttemptDone] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    syslog_sent: int = 0
    timers: dict[str, float] = field(default_factory=dict)
    pending: Io | None = None

    def __post_init__(self) -> None:
        self.params = Parameters(self.family, self.parameters)
        self.engine = Engine(
            self.family,
            self.identity,
            self.params,
            behaviour=behaviour_for(self.quirks),
            rng=random.Random(self.seed),
        )
        self.device = DeviceKey(
            ip=self.identity.ip,
            mac=self.identity.mac,
            serial=self.identity.serial,
            product=self.identity.product,
        )

    # -- what a runner calls -------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.identity.serial

    def power_up(self, now: float) -> Io | None:
        self.powered_at = now
        self._feed(PowerUp(at=now), now)
        return self.pending

    def next_deadline(self) -> float | None:
        """When the phone next wants to act (None: never, or it waits on a request)."""
        if self.pending is not None or not self.timers:
            return None
        return min(self.timers.values())

    def fire(self, now: float) -> Io | None:
        """Fire every timer due at `now` (earliest first); the request the phone then makes."""
        while self.pending is None and self.timers:
            reason, deadline = min(self.timers.items(), key=lambda kv: kv[1])
            if deadline > now:
                break
            del self.timers[reason]
            self._feed(TimerFired(reason=reason, at=now), now)
        return self.pending

    def complete(self, result: FetchResult | DnsResult, start: float, now: float) -> Io | None:
        """The answer to `pending` (asked at `start`, answered at `now`); the next request."""
        io, self.pending = self.pending, None
        if isinstance(io, Fetch) and isinstance(result, FetchResult):
            self._record(io, result, start, now)
        self._feed(result, now)
        return self.pending

    # -- inside ----------------------------------------------------------------------------
    def _feed(self, event: Event, now: float) -> None:
        try:
            actions = self.engine.handle(event)
        except Exception as exc:  # a bug or a hostile value must not stop the crowd
            self.errors.append(f"{type(event).__name__} at {now:.3f}: {exc}")
            return
        for action in actions:
            if isinstance(action, SetTimer):
                self.timers[action.reason] = now + action.delay
            elif isinstance(action, CancelTimer):
                self.timers.pop(action.reason, None)
            elif isinstance(action, Fetch | Resolve):
                self.pending = action
            elif isinstance(action, AttemptDone):
                self.attempts.append(action)
            elif isinstance(action, ApplyProfile):
                if self.provisioned_at is None:
                    self.provisioned_at = now
            elif isinstance(action, SendSyslog):
                self.syslog_sent += 1

    def _record(self, fetch: Fetch, result: FetchResult, start: float, now: float) -> None:
        size = len(result.body)
        self.requests.append(
            Request(start, now, fetch.url, result.status, result.outcome, size, result.error)
        )
        if fetch.scheme == "tftp":
            code = _TFTP_FILE_NOT_FOUND if result.outcome == "not-found" else None
            self.observations.append(
                TftpTransfer(
                    time=start,
                    server=(fetch.address, fetch.port),
                    device=self.device,
                    evidence=EVIDENCE,
                    op="RRQ",
                    filename=fetch.path,
                    outcome=_TFTP_OUTCOME.get(result.outcome, "error"),
                    error_code=code,
                    error_message=result.error or None,
                    bytes=size,
                    duration=now - start,
                )
            )
            return
        facts: dict[str, object] = {}
        status = result.status
        if status is not None and 200 <= status < 300 and status != 204 and result.body:
            c = classify_profile_body(result.body, None, self.family.aes_kdf_digest)
            facts = {
                "response_body_sha256": c.sha256,
                "response_content_kind": c.content_kind,
                "profile_valid": c.valid,
                "profile_gzipped": c.gzipped,
            }
        headers = dict(fetch.headers)
        self.observations.append(
            HttpExchange(
                time=start,
                server=(fetch.address, fetch.port),
                device=self.device,
                evidence=EVIDENCE,
                method=fetch.method,
                url=request_target(fetch.path),
                host=fetch.host,
                user_agent=headers.get("User-Agent"),
                headers=fetch.headers,
                request_body=fetch.body,
                status=status,
                reason=result.reason or None,
                response_headers=result.headers,
                response_bytes=size if status is not None else None,
                scheme=fetch.scheme,
                outcome="answered"
                if status is not None
                else _NO_ANSWER.get(result.outcome, "no-response"),
                note=result.error,
                **facts,  # type: ignore[arg-type]
            )
        )
