"""The resync engine's vocabulary and its transition table: states, events, actions.

# Rules of this module (everything that affects the state machine lives here):
# - The engine is in exactly one `State`. An event is handled only if the pair
#   (state, event type) is a key of TRANSITIONS; the value names the engine's
#   handler and the set of states the handler may leave the engine in. Any
#   other pair is an EngineError naming the state and the event.
# - OFF is left only by PowerUp. WAITING is the only state in which a timer
#   may start work; RESOLVING and FETCHING wait for exactly one I/O result
#   (DnsResult / FetchResult) each.
# - WAITING_IDLE holds a due resync while a call is up: CallEnded or the
#   "forced-resync" timer (Forced_Resync_Delay) releases it.
# - Triggers that arrive while I/O is outstanding (timers, admin requests,
#   reboot) are deferred and replayed, in order, on the next return to WAITING.
# - Call state changes are accepted in every powered state and never start
#   I/O, except CallEnded in WAITING_IDLE.
# No sockets, no clock and no spec numbers here: events carry their time
# (`at`, from the driver's injected clock) and Table 3-1 comes from harness.spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    OFF = "off"
    WAITING = "waiting"  # nothing in flight; timers pending
    WAITING_IDLE = "waiting-idle"  # a resync is due but a call is up
    RESOLVING = "resolving"  # a Resolve action is outstanding
    FETCHING = "fetching"  # a Fetch action is outstanding


class EngineError(RuntimeError):
    """An event the engine does not accept in its current state."""


# -- events (in) -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    at: float = 0.0  # seconds since the epoch, from the driver's clock


@dataclass(frozen=True, kw_only=True)
class PowerUp(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class Reboot(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class TimerFired(Event):
    reason: str  # "resync" | "forced-resync" | "upgrade"


@dataclass(frozen=True, kw_only=True)
class DnsResult(Event):
    name: str
    qtype: str = "A"
    addresses: tuple[str, ...] = ()
    error: str = ""  # why there is no answer ("timeout", "NXDOMAIN"...)


@dataclass(frozen=True, kw_only=True)
class FetchResult(Event):
    # HTTP: the status; TFTP and failures: None and `outcome` says what happened:
    # "answered" (HTTP), "complete" / "not-found" (TFTP), "connection-error", "timeout".
    status: int | None = None
    outcome: str = "answered"
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    error: str = ""  # a person-readable cause for failures (becomes $ERR)

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class AdminResync(Event):
    url: str | None = None  # None: resync with the configured rules


@dataclass(frozen=True, kw_only=True)
class AdminUpgrade(Event):
    url: str


# -- actions (out) -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Resolve:
    name: str
    qtype: str = "A"


@dataclass(frozen=True, kw_only=True)
class Fetch:
    purpose: str  # "resync" | "upgrade"
    scheme: str  # tftp | http | https
    host: str  # the name in the URL (Host header, SNI, certificate name check)
    address: str  # the IP address to connect to
    port: int
    path: str  # path and query, as sent
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    credentials: tuple[str, str] | None = None  # (uid, pwd) to answer `challenge` with
    challenge: str | None = None  # the WWW-Authenticate / Proxy-Authenticate value
    proxy_auth: bool = False  # answer with Proxy-Authorization (407)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


@dataclass(frozen=True, kw_only=True)
class SendSyslog:
    role: str  # request | success | failure | upgrade_request | ...
    text: str


@dataclass(frozen=True, kw_only=True)
class SetTimer:
    reason: str
    delay: float


@dataclass(frozen=True, kw_only=True)
class CancelTimer:
    reason: str


@dataclass(frozen=True, kw_only=True)
class ApplyProfile:
    url: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class UpgradeFirmware:
    url: str
    version: str


@dataclass(frozen=True, kw_only=True)
class Rebooted:
    pass


@dataclass(frozen=True, kw_only=True)
class AttemptDone:
    """One finished resync or upgrade attempt, for the driver's log and the status page."""

    at: float
    kind: str  # resync | upgrade
    prvst: int
    url: str
    status: int | None
    outcome: str  # the Table 3-1 row key: "404", "4xx", "timeout", "corrupt", "complete"...
    action_class: str  # A | B | C
    requirement: str
    error: str
    next_delay: float | None  # seconds until the next attempt of this kind, None: none


# -- the transition table ----------------------------------------------------------

_BUSY = (State.RESOLVING, State.FETCHING)
_POWERED = (State.WAITING, State.WAITING_IDLE, *_BUSY)
_ANY_NEXT = frozenset(_POWERED)

# (state, event type) -> (handler name, states the handler may leave the engine in)
TRANSITIONS: dict[tuple[State, type[Event]], tuple[str, frozenset[State]]] = {
    (State.OFF, PowerUp): ("power_up", frozenset({State.WAITING})),
    (State.WAITING, TimerFired): ("timer", _ANY_NEXT),
    (State.WAITING_IDLE, TimerFired): ("timer_while_held", _ANY_NEXT),
    (State.WAITING, AdminResync): ("admin_resync", _ANY_NEXT),
    (State.WAITING_IDLE, AdminResync): ("admin_resync", _ANY_NEXT),
    (State.WAITING, AdminUpgrade): ("admin_upgrade", _ANY_NEXT),
    (State.WAITING_IDLE, AdminUpgrade): ("admin_upgrade", _ANY_NEXT),
    (State.WAITING, Reboot): ("reboot", frozenset({State.WAITING})),
    (State.WAITING_IDLE, Reboot): ("reboot", frozenset({State.WAITING})),
    (State.WAITING_IDLE, CallEnded): ("call_ended_release", _ANY_NEXT),
    (State.RESOLVING, DnsResult): ("resolved", _ANY_NEXT),
    (State.FETCHING, FetchResult): ("fetched", _ANY_NEXT),
    **{(s, CallStarted): ("call_started", frozenset({s})) for s in _POWERED},
    **{(s, CallEnded): ("call_ended", frozenset({s})) for s in (State.WAITING, *_BUSY)},
    **{
        (s, ev): ("defer", frozenset({s}))
        for s in _BUSY
        for ev in (TimerFired, AdminResync, AdminUpgrade, Reboot)
    },
}
