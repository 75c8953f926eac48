"""An asyncio event loop in a thread that lives inside a network namespace.

Linux namespaces are per thread: a thread that calls setns(2) on
/run/netns/NAME creates every later socket inside that namespace, and threads
it starts inherit it. `NamespaceLoop` starts such a thread, enters the
namespace, then runs an event loop there, so the project's asyncio endpoints
(which take host=, port=) and client coroutines can run inside a namespace
from the test process. Only the thread and loop life cycle lives here; the
system call is `harness.capture.netns.setns_net` (shared with live capture).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from harness.capture.netns import NETNS_DIR, setns_net
from harness.netsim.system import NetsimError

T = TypeVar("T")


class NamespaceLoop:
    """A daemon thread inside namespace `ns`, running its own event loop."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.loop = asyncio.new_event_loop()
        self._error: BaseException | None = None
        ready = threading.Event()

        def run() -> None:
            try:
                setns_net(os.path.join(NETNS_DIR, ns))
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                ready.set()
                return
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()
            self.loop.close()

        self.thread = threading.Thread(target=run, name=f"netns-{ns}", daemon=True)
        self.thread.start()
        ready.wait(10)
        if self._error is not None:
            raise NetsimError(f"cannot enter namespace {ns}: {self._error}") from self._error

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run `coro` on this loop (inside the namespace) and wait for its result."""
        if self.loop.is_closed() or not self.thread.is_alive():
            raise NetsimError(f"the event loop of namespace {self.ns} is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.thread.is_alive() and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
