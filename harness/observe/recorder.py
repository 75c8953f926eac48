"""A thread-safe collector of observations, with live listeners and an optional bound.

Endpoints record into a `Recorder`; a lab shares one between all its endpoints
so that a test (or `harness serve`) sees one ordered stream. By default every
observation stays in memory (tests read them all). With `window=N` only the N
most recent are kept, and with a `journal` (harness.observe.journal) every
observation is also streamed to disk, where `history()` reads them all back:
a lab that runs for a week stays flat in memory. No file I/O here beyond the
journal object it is given.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from harness.observe.events import Observation

if TYPE_CHECKING:
    from harness.observe.journal import Journal

T = TypeVar("T", bound=Observation)


class Recorder:
    def __init__(self, *, window: int | None = None, journal: Journal | None = None) -> None:
        self._lock = threading.Lock()
        self.window = window
        self.journal = journal
        self._items: deque[Observation] = deque(maxlen=window)
        self.count = 0  # observations recorded in all (the window may hold fewer)
        self._listeners: list[Callable[[Observation], None]] = []
        self._changed = threading.Condition(self._lock)

    def record(self, observation: Observation) -> None:
        with self._lock:
            self._items.append(observation)
            self.count += 1
            if self.journal is not None:
                self.journal.write(observation)
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            listener(observation)

    def subscribe(self, listener: Callable[[Observation], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    @property
    def observations(self) -> list[Observation]:
        """The observations in memory: all of them, or the latest `window`."""
        with self._lock:
            return list(self._items)

    def of(self, kind: type[T]) -> list[T]:
        """Every observation of one type in memory, in recording order."""
        return [o for o in self.observations if isinstance(o, kind)]

    def history(self, problems: list[str] | None = None) -> Iterator[Observation]:
        """Every observation recorded: from the journal when there is one, else from memory."""
        if self.journal is None:
            yield from self.observations
            return
        from harness.observe.journal import read_journal

        yield from read_journal(self.journal.directory, problems)

    def wait_for(
        self, predicate: Callable[[list[Observation]], bool], timeout: float = 5.0
    ) -> bool:
        """Block until `predicate(observations)` holds (for sync tests); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(list(self._items)), timeout)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def trim(self, items: list[T]) -> None:
        """Bound an endpoint's own list of records to the window (no-op without one)."""
        if self.window is not None and len(items) > 2 * self.window:
            del items[: -self.window]

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
