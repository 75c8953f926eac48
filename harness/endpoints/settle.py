"""Settling: wait until endpoints have recorded everything that reached them.

Endpoints answer first and record after, on their own event loop (usually the
shared background loop of `harness.endpoints.loop`). A test that reads the
records right after its client got an answer can therefore look a moment too
early. `settle_async()` / `settle()` return once every endpoint reports itself
idle (no request, transfer or handshake in progress, no datagram waiting in a
UDP socket's receive queue) for a short quiet window.

The idle check runs ON the endpoints' loop, between its callbacks, so a datagram
is either still queued in the kernel (seen through SIOCINQ/FIONREAD) or already
recorded. Only the waiting logic lives here; each endpoint says what "busy"
means for it through `Endpoint._busy()`.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import termios
from collections.abc import Iterable, Sequence
from typing import Protocol

DEFAULT_QUIET = 0.05  # seconds every endpoint must stay idle
DEFAULT_TIMEOUT = 5.0  # seconds before settling gives up (returns False)
_POLL = 0.005


class Settleable(Protocol):
    _loop: asyncio.AbstractEventLoop | None

    def _busy(self) -> bool: ...


def datagram_waiting(transport: asyncio.BaseTransport) -> bool:
    """True when the transport's socket has a datagram the loop has not read yet."""
    sock = transport.get_extra_info("socket")
    if sock is None or transport.is_closing():
        return False
    try:
        buf = array.array("i", [0])
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, buf, True)
    except (OSError, ValueError):
        return False
    return buf[0] > 0


async def _settle_here(endpoints: Sequence[Settleable], quiet: float, timeout: float) -> bool:
    """On the endpoints' loop: True once all are idle for `quiet` s, False after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle_since: float | None = None
    while True:
        now = loop.time()
        if any(ep._busy() for ep in endpoints):
            idle_since = None
        elif idle_since is None:
            idle_since = now
        if idle_since is not None and now - idle_since >= quiet:
            return True
        if now >= deadline:
            return False
        await asyncio.sleep(_POLL)


def _loops(endpoints: Iterable[Settleable]) -> dict[asyncio.AbstractEventLoop, list[Settleable]]:
    by_loop: dict[asyncio.AbstractEventLoop, list[Settleable]] = {}
    for ep in endpoints:
        if ep._loop is not None and not ep._loop.is_closed():
            by_loop.setdefault(ep._loop, []).append(ep)
    return by_loop


def _running() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def settle_async(
    endpoints: Iterable[Settleable],
    *,
    quiet: float = DEFAULT_QUIET,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """Await until every endpoint has recorded what arrived; False if `timeout` passed first."""
    here = _running()
    waits = []
    for loop, group in _loops(endpoints).items():
        coro = _settle_here(group, quiet, timeout)
        if loop is here:
            waits.append(asyncio.ensure_future(coro))
        else:
            waits.append(asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop)))
    results = await asyncio.gather(*waits) if waits else []
    return all(results)


def settle(
    endpoints: Iterable[Settleable],
    *,
    quiet: float = DEFAULT_QUIET,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """Block until every endpoint has recorded what arrived; False if `timeout` passed first.

    Called from the thread that runs the endpoints' own loop (a lab started with
    `async with` in an async test), it cannot wait without stopping that loop: it
    then only reports whether they are idle right now; await `settle_async()` there.
    """
    here = _running()
    ok = True
    for loop, group in _loops(endpoints).items():
        if loop is here:
            ok = ok and not any(ep._busy() for ep in group)
            continue
        future = asyncio.run_coroutine_threadsafe(_settle_here(group, quiet, timeout), loop)
        ok = future.result(timeout + 5.0) and ok
    return ok
