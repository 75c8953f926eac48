"""`SimPhone`: the asyncio driver joining the sans-I/O engine, the I/O adapters and a clock.

The driver feeds the engine events (power-up, timers, I/O results, calls,
admin requests) and carries out its actions with real network I/O. Timers are
deadlines on the injected clock: with a `VirtualClock` the phone jumps from one
deadline to the next, so hour-long delays take no wall time, and it only moves
while someone waits in `run_until` (or when `free_run` is set, as `harness sim`
does). No provisioning logic here: the engine decides, the driver does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.clock import REAL_CLOCK, Clock, VirtualClock
from harness.device.sim.adapters.dns_client import resolve
from harness.device.sim.adapters.http_client import http_fetch
from harness.device.sim.adapters.syslog_client import send_syslog
from harness.device.sim.adapters.tftp_client import tftp_get
from harness.device.sim.adapters.tls_client import (
    check_negotiated,
    check_server,
    client_context,
)
from harness.device.sim.engine import Engine
from harness.device.sim.engine_table import (
    ApplyProfile,
    AttemptDone,
    CallEnded,
    CallStarted,
    CancelTimer,
    DnsResult,
    Event,
    Fetch,
    FetchResult,
    PowerUp,
    Rebooted,
    Resolve,
    SendSyslog,
    SetTimer,
    TimerFired,
    UpgradeFirmware,
)
from harness.device.sim.identity import Identity
from harness.device.sim.parameters import Parameters
from harness.device.sim.quirks import behaviour_for
from harness.spec.family import Family, load_family

Address = tuple[str, int]
SYSLOG_PORT = 514  # the syslog service port (RFC 5426), used when Syslog_Server names none


def _host_port(text: str, default_port: int) -> Address | None:
    text = text.strip()
    if not text:
        return None
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return (host, int(port)) if port.isdigit() else (text, default_port)


async def _first_of(*futures: asyncio.Future[Any]) -> set[asyncio.Future[Any]]:
    """Wait for the first of `futures`; cancel the others, also when the waiter is cancelled
    (so a stopped phone leaves no pending task behind)."""
    try:
        done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        return done
    finally:
        for f in futures:
            if not f.done():
                f.cancel()


class SimPhone:
    def __init__(
        self,
        family: Family | str = "cisco-8831-3pcc",
        *,
        identity: Identity | None = None,
        index: int = 0,
        parameters: dict[str, str] | None = None,
        quirks: tuple[str, ...] | list[str] = (),
        clock: Clock | None = None,
        dns: Address | None = None,
        dhcp_tftp_server: str | None = None,
        syslog: Address | None = None,
        ca_pem: bytes | None = None,
        seed: int = 0,
        http_timeout: float = 5.0,
        tftp_timeout: float = 0.5,
        free_run: bool | None = None,
        on_attempt: Callable[[SimPhone, AttemptDone], None] | None = None,
        source: str | None = None,
    ) -> None:
        self.family = load_family(family) if isinstance(family, str) else family
        self.clock: Clock = clock or REAL_CLOCK
        self.quirks = tuple(quirks)
        self.behaviour = behaviour_for(self.quirks)
        self.params = Parameters(self.family, parameters or {})
        self.engine = Engine(
            self.family,
            identity or Identity.for_family(self.family, index),
            self.params,
            behaviour=self.behaviour,
            rng=random.Random(seed),
            dhcp_tftp_server=dhcp_tftp_server,
        )
        self.dns, self.syslog, self.ca_pem = dns, syslog, ca_pem
        self.http_timeout, self.tftp_timeout = http_timeout, tftp_timeout
        self.free_run = free_run if free_run is not None else not isinstance(clock, VirtualClock)
        self.on_attempt = on_attempt
        self.source = source  # own loopback address (adapters.source), None: the OS picks
        # what happened, in order (the status page and tests read these)
        self.attempts: list[AttemptDone] = []
        self.fetches: list[tuple[float, Fetch, FetchResult]] = []
        self.dns_queries: list[tuple[float, Resolve, DnsResult]] = []
        self.syslog_sent: list[tuple[float, str]] = []
        self.profiles: list[ApplyProfile] = []
        self.upgrades: list[UpgradeFirmware] = []
        self.reboots = 0
        self.errors: list[str] = []
        self.timers: dict[str, float] = {}
        # the loop's machinery
        self._actions: deque[object] = deque()
        self._inbox: asyncio.Queue[Event] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limit: float | None = None
        self._until: Callable[[SimPhone], bool] | None = None
        self._changed: asyncio.Event | None = None  # the phone did something (waiters look)
        self._wake: asyncio.Event | None = None  # the limit moved (the loop looks)
        self._blocked = False
        self._ssl: ssl.SSLContext | None = None

    # -- public API -----------------------------------------------------------------
    @property
    def identity(self) -> Identity:
        return self.engine.identity

    @property
    def resync_attempts(self) -> list[AttemptDone]:
        return [a for a in self.attempts if a.kind == "resync"]

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> SimPhone:
        if self._task is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        if not self.free_run:
            self._limit = self.clock.now()
        self._task = asyncio.create_task(self._main(), name=f"sim-phone-{self.identity.serial}")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def __aenter__(self) -> SimPhone:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def post(self, event: Event) -> None:
        """Hand the phone an external event (call state, admin request); any thread."""
        if self._loop is None or self._inbox is None:
            raise RuntimeError("the phone is not started")
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, event)

    def start_call(self) -> None:
        self.post(CallStarted())

    def end_call(self) -> None:
        self.post(CallEnded())

    async def run_until(
        self,
        predicate: Callable[[SimPhone], bool] | None = None,
        *,
        attempts: int | None = None,
        timeout_virtual_seconds: float = 7 * 86400,
    ) -> bool:
        """Let the phone run until `predicate(phone)` holds (or, with `attempts`, until it has
        made that many resync attempts in all); False when `timeout_virtual_seconds` of
        clock time pass first."""
        if predicate is None:
            if attempts is None:
                raise ValueError("run_until needs a predicate or a number of attempts")
            predicate = lambda p: len(p.resync_attempts) >= attempts  # noqa: E731
        await self.start()
        assert self._changed is not None
        if predicate(self):
            return True
        self._until = predicate
        self._limit = self.clock.now() + timeout_virtual_seconds
        self._blocked = False
        assert self._wake is not None
        self._wake.set()
        try:
            while True:
                if predicate(self):
                    return True
                if self._blocked or not self.running:
                    return predicate(self)
                self._changed.clear()
                await self._changed.wait()
        finally:
            self._until = None
            if not self.free_run:
                self._limit = self.clock.now()

    def status(self) -> dict[str, Any]:
        """Identity, parameters, last attempts and outcomes (the admin status page)."""
        ident = self.identity
        return {
            "family": self.family.name,
            "identity": {
                "product": ident.product,
                "serial": ident.serial,
                "mac": ident.mac,
                "firmware": ident.firmware,
                "hardware": ident.hardware,
                "individual_cert": ident.has_individual_cert,
            },
            "user_agent": self.engine.user_agent(),
            "quirks": list(self.quirks),
            "state": self.engine.state.value,
            "in_call": self.engine.in_call,
            "time": self.clock.now(),
            "timers": {k: v - self.clock.now() for k, v in self.timers.items()},
            "parameters": self.params.as_dict(),
            "attempts": [dataclasses.asdict(a) for a in self.attempts[-20:]],
            "syslog": [text for _, text in self.syslog_sent[-20:]],
            "reboots": self.reboots,
            "errors": self.errors[-20:],
        }

    # -- the loop -------------------------------------------------------------------
    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _feed(self, event: Event) -> None:
        event = dataclasses.replace(event, at=self.clock.now())
        try:
            self._actions.extend(self.engine.handle(event))
        except Exception as exc:  # a bug or a hostile value must not kill the phone
            self.errors.append(f"{type(event).__name__}: {exc}")

    async def _main(self) -> None:
        assert self._inbox is not None and self._changed is not None
        self._feed(PowerUp())
        while True:
            while self._actions:
                await self._do(self._actions.popleft())
                self._progress()
            if not self._inbox.empty():
                self._feed(self._inbox.get_nowait())
                continue
            reason, deadline = min(self.timers.items(), key=lambda kv: kv[1], default=(None, None))
            if deadline is not None and (self._limit is None or deadline <= self._limit):
                self._blocked = False
                wait = deadline - self.clock.now()
                if wait > 0 and not await self._sleep_or_event(wait):
                    continue  # an external event came first
                del self.timers[reason]
                self._feed(TimerFired(reason=reason))
                continue
            self._blocked = True
            self._poke()
            inbox_get = asyncio.ensure_future(self._inbox.get())
            assert self._wake is not None
            done = await _first_of(inbox_get, asyncio.ensure_future(self._wake.wait()))
            if inbox_get in done:
                self._blocked = False
                self._feed(inbox_get.result())
            self._wake.clear()

    async def _sleep_or_event(self, wait: float) -> bool:
        """Sleep `wait` clock seconds; False when an external event arrives first."""
        assert self._inbox is not None
        if isinstance(self.clock, VirtualClock):
            await self.clock.sleep(wait)
            return True
        inbox = asyncio.ensure_future(self._inbox.get())
        done = await _first_of(asyncio.ensure_future(self.clock.sleep(wait)), inbox)
        if inbox in done:
            self._feed(inbox.result())
            return False
        return True

    def _progress(self) -> None:
        if self._until is not None and self._until(self):
            self._limit = self.clock.now()  # freeze: the waiter has what it asked for
        self._poke()

    async def _do(self, action: object) -> None:
        now = self.clock.now()
        if isinstance(action, SetTimer):
            self.timers[action.reason] = now + action.delay
        elif isinstance(action, CancelTimer):
            self.timers.pop(action.reason, None)
        elif isinstance(action, Fetch):
            result = await self._fetch(action)
            self.fetches.append((now, action, result))
            self._feed(result)
        elif isinstance(action, Resolve):
            answer = await self._resolve(action.name, action.qtype)
            self.dns_queries.append((now, action, answer))
            self._feed(answer)
        elif isinstance(action, SendSyslog):
            await self._syslog(action.text)
        elif isinstance(action, AttemptDone):
            self.attempts.append(action)
            if self.on_attempt is not None:
                self.on_attempt(self, action)
        elif isinstance(action, ApplyProfile):
            self.profiles.append(action)
        elif isinstance(action, UpgradeFirmware):
            self.upgrades.append(action)
        elif isinstance(action, Rebooted):
            self.reboots += 1

    async def _resolve(self, name: str, qtype: str) -> DnsResult:
        if self.dns is None:
            return DnsResult(name=name, qtype=qtype, error="no DNS server configured")
        answer = await resolve(name, qtype, self.dns, local=self.source)
        return DnsResult(name=name, qtype=qtype, addresses=answer.addresses, error=answer.error)

    async def _resolve_a(self, name: str) -> tuple[str, ...]:
        return (await self._resolve(name, "A")).addresses

    async def _fetch(self, action: Fetch) -> FetchResult:
        if action.scheme == "tftp":
            r = await tftp_get(
                action.address,
                action.port,
                action.path,
                timeout=self.tftp_timeout,
                local=self.source,
            )
            outcome = r.outcome if r.outcome != "error" else "connection-error"
            return FetchResult(outcome=outcome, body=r.data, error=r.error)
        ctx = None
        if action.scheme == "https":
            try:
                ctx = self._ssl_context()
            except (ssl.SSLError, ValueError, OSError) as exc:
                return FetchResult(outcome="connection-error", error=f"TLS set-up: {exc}")

        async def check(der: bytes | None, peer_ip: str) -> None:
            resolver = self._resolve_a if self.dns is not None else None
            await check_server(der, action.host, peer_ip, self.family, self.behaviour, resolver)

        return await http_fetch(
            action,
            timeout=self.http_timeout,
            ssl_context=ctx,
            check_server=check,
            check_cipher=lambda name: check_negotiated(name, self.behaviour),
            chunked_supported=self.behaviour.chunked_supported,
            local=self.source,
        )

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = client_context(self.family, self.identity, self.behaviour, self.ca_pem)
        return self._ssl

    async def _syslog(self, text: str) -> None:
        target = self.syslog or _host_port(self.params.get("Syslog_Server") or "", SYSLOG_PORT)
        self.syslog_sent.append((self.clock.now(), text))
        if target is not None:
            await send_syslog(text, target, local=self.source)
