"""The common shape of every endpoint: start/stop (sync and async), address, records.

Subclasses implement `_serve()` (bind and start serving, return what to close)
and record observations through `self.record()`. Problems with hostile input
are noted with `self.note_problem()` and never stop the server; listeners
(`on_problem`) see each one as it happens, and only the latest `MAX_PROBLEMS` are
kept (`problem_count` counts them all) so a hostile client cannot grow memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar, Self, TypeVar

from harness.clock import REAL_CLOCK, Clock
from harness.endpoints.loop import run_sync
from harness.endpoints.settle import (
    DEFAULT_QUIET,
    DEFAULT_TIMEOUT,
    datagram_waiting,
    settle,
    settle_async,
)
from harness.observe.events import Evidence, Observation
from harness.observe.recorder import Recorder

T = TypeVar("T", bound=Observation)
log = logging.getLogger("harness.endpoints")
MAX_PROBLEMS = 1000  # problems kept per endpoint (the oldest are dropped beyond)


class Service:
    """Something started and stopped from sync code (on the background loop) or async code.

    Subclasses implement `start_async` and `stop_async`; the rest follows.
    """

    async def start_async(self) -> Self:
        raise NotImplementedError

    async def stop_async(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Start on the shared background loop (for sync code)."""
        return run_sync(self.start_async())

    def stop(self) -> None:
        run_sync(self.stop_async())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()


class Endpoint(Service):
    name: ClassVar[str] = "endpoint"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.clock: Clock = clock or REAL_CLOCK
        self.recorder = recorder if recorder is not None else Recorder()
        self.problems: list[str] = []
        self.problem_count = 0
        self.problem_listeners: list[Callable[[str], None]] = []
        self._closers: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._datagram_transports: list[asyncio.BaseTransport] = []  # settling looks at these

    # -- life cycle ---------------------------------------------------------------
    async def _serve(self) -> None:
        """Bind and start serving; set self.port to the bound port; add closers."""
        raise NotImplementedError

    async def start_async(self) -> Self:
        if self._started:
            return self
        self._loop = asyncio.get_running_loop()
        await self._serve()
        self._started = True
        return self

    async def stop_async(self) -> None:
        if not self._started:
            return
        self._started = False
        for closer in reversed(self._closers):
            try:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:  # stopping must always finish
                log.debug("closing %s: %s", self.name, exc)
        self._closers.clear()

    def stop(self) -> None:
        if self._started:
            run_sync(self.stop_async())

    # -- records ------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def evidence(self) -> Evidence:
        return Evidence(f"endpoint:{self.name}:{self.host}:{self.port}")

    def record(self, observation: Observation) -> None:
        self.recorder.record(observation)

    def records(self, kind: type[T]) -> list[T]:
        return self.recorder.of(kind)

    # -- settling (harness.endpoints.settle) ---------------------------------------
    def _watch_datagrams(self, transport: asyncio.BaseTransport) -> asyncio.BaseTransport:
        """Let settling see datagrams still queued in this UDP transport's socket."""
        self._datagram_transports.append(transport)
        return transport

    def _busy(self) -> bool:
        """True while something that arrived is not recorded yet (runs on the endpoint's loop).

        Here: a datagram waiting in a watched socket. Endpoints with transactions add
        theirs (a request being answered, a transfer, a TLS connection)."""
        return any(datagram_waiting(t) for t in self._datagram_transports)

    async def settle_async(
        self, *, quiet: float = DEFAULT_QUIET, timeout: float = DEFAULT_TIMEOUT
    ) -> bool:
        """Await until this endpoint has recorded what reached it (False after `timeout` s)."""
        return await settle_async([self], quiet=quiet, timeout=timeout)

    def settle(self, *, quiet: float = DEFAULT_QUIET, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """Block until this endpoint has recorded what reached it (False after `timeout` s)."""
        return settle([self], quiet=quiet, timeout=timeout)

    def note_problem(self, text: str) -> None:
        """Record that a client sent something broken; the server keeps serving."""
        self.problems.append(text)
        self.problem_count += 1
        if len(self.problems) > 2 * MAX_PROBLEMS:
            del self.problems[:-MAX_PROBLEMS]
        log.info("%s: %s", self.name, text)
        for listener in list(self.problem_listeners):
            listener(text)
