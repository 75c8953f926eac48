"""A thread-safe, append-only collector of observations, with live listeners.

Endpoints record into a `Recorder`; a lab shares one between all its endpoints
so that a test (or `harness serve`) sees one ordered stream. No I/O here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from harness.observe.events import Observation

T = TypeVar("T", bound=Observation)


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Observation] = []
        self._listeners: list[Callable[[Observation], None]] = []
        self._changed = threading.Condition(self._lock)

    def record(self, observation: Observation) -> None:
        with self._lock:
            self._items.append(observation)
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            listener(observation)

    def subscribe(self, listener: Callable[[Observation], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    @property
    def observations(self) -> list[Observation]:
        with self._lock:
            return list(self._items)

    def of(self, kind: type[T]) -> list[T]:
        """Every recorded observation of one type, in recording order."""
        return [o for o in self.observations if isinstance(o, kind)]

    def wait_for(
        self, predicate: Callable[[list[Observation]], bool], timeout: float = 5.0
    ) -> bool:
        """Block until `predicate(observations)` holds (for sync tests); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(list(self._items)), timeout)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
