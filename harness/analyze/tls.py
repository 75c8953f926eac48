"""TLS handshake dissection of a reassembled TCP connection into `TlsHandshake` records.

The parsing is `harness.tls.TlsConversation` (the project's TLS parser, shared
with the live HTTPS endpoint); this module only feeds it a connection's two
byte streams, keeps the frame numbers, and emits the observation at close.
Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.observe.events import (
    Address,
    DeviceKey,
    Evidence,
    TlsHandshake,
)
from harness.tls import TlsConversation

MAX_FRAMES = 64
MAX_BUFFER = 256 * 1024


def looks_like_tls(first: bytes) -> bool:
    """Does a stream's first payload start a TLS handshake record (or SSLv2 hello)?"""
    if len(first) < 3:
        return False
    return (first[0] == 22 and first[1] == 3) or (first[0] & 0x80 != 0 and first[2] == 1)


class TlsConnection:
    """One TLS connection seen in a capture; emits one TlsHandshake at close."""

    def __init__(
        self,
        client: Address,
        server: Address,
        device: DeviceKey,
        source: str,
        emit: Callable[[TlsHandshake], None],
        problem: Callable[[int, str], None],
        time: float,
    ) -> None:
        self.client, self.server, self.device, self.source = client, server, device, source
        self.emit, self.problem = emit, problem
        self.time = time
        self.conv = TlsConversation()
        self.frames: list[int] = []
        self.fed = 0
        self.broken = False

    def _frame(self, frame: int) -> None:
        if len(self.frames) < MAX_FRAMES and (not self.frames or self.frames[-1] != frame):
            self.frames.append(frame)

    def client_data(self, data: bytes, frame: int, ts: float) -> None:
        self._feed(self.conv.feed_client, data, frame)

    def server_data(self, data: bytes, frame: int, ts: float) -> None:
        self._feed(self.conv.feed_server, data, frame)

    def _feed(self, fn: Callable[[bytes], Any], data: bytes, frame: int) -> None:
        if self.broken or self.fed > MAX_BUFFER * 4:
            return  # past the handshake: application data is not inspected
        self._frame(frame)
        self.fed += len(data)
        try:
            fn(data)
        except Exception as exc:
            self.broken = True
            self.problem(frame, f"TLS stream does not parse: {type(exc).__name__}: {exc}")

    def close(self, ts: float) -> None:
        try:
            obs = self.conv.to_observation(
                time=self.time,
                client=self.client,
                server=self.server,
                device=self.device,
                evidence=Evidence(self.source, tuple(self.frames)),
            )
        except Exception as exc:
            self.problem(self.frames[0] if self.frames else 0, f"TLS summary failed: {exc}")
            return
        self.emit(obs)
