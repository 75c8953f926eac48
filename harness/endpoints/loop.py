"""One background asyncio event loop, in a daemon thread, for sync callers.

Sync tests and the CLI start endpoints on this loop so they keep serving while
the test's own thread runs real clients (curl, tftp, dig). Only the loop's
life cycle lives here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="harness-endpoints", daemon=True).start()
            ready.wait()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
    """Run `coro` on the background loop and wait for its result."""
    loop = background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("run_sync called from the background loop itself; await the coroutine")
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
