"""TCP stream reassembly, per connection and direction, with frame numbers kept.

`TcpDirection` takes segments (seq, payload, frame) in capture order and
delivers in-order bytes to a sink as `(data, frame)` chunks. Out-of-order
segments wait (bounded); retransmissions and overlaps are counted and their
new bytes only delivered once; a hole that never fills is skipped and marked
as a gap (the sink is told, so a dissector can resynchronise or give up).
`StreamBuffer` keeps undelivered application bytes with the frames that
carried them, so every message a dissector cuts out names its frames.
Pure: no sockets, no protocol knowledge.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_PENDING_BYTES = 256 * 1024  # out-of-order bytes held per direction before a gap is declared
MAX_PENDING_SEGMENTS = 512
MOD = 1 << 32

Sink = Callable[[bytes, int], None]
GapSink = Callable[[int, int], None]


class TcpDirection:
    """One direction of a TCP connection."""

    __slots__ = (
        "next_seq",
        "pending",
        "pending_bytes",
        "sink",
        "on_gap",
        "retransmissions",
        "overlaps",
        "gaps",
        "gap_bytes",
        "delivered",
        "fin",
    )

    def __init__(self, sink: Sink, on_gap: GapSink | None = None) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, tuple[bytes, int]] = {}
        self.pending_bytes = 0
        self.sink = sink
        self.on_gap = on_gap
        self.retransmissions = 0
        self.overlaps = 0
        self.gaps = 0
        self.gap_bytes = 0
        self.delivered = 0
        self.fin = False

    def syn(self, seq: int) -> None:
        """A SYN fixes the initial sequence number (data starts at seq + 1)."""
        if self.next_seq is None or not self.delivered:
            self.next_seq = (seq + 1) % MOD

    def segment(self, seq: int, data: bytes, frame: int) -> None:
        if not data:
            return
        if self.next_seq is None:
            self.next_seq = seq  # joined mid-stream
        rel = (seq - self.next_seq) % MOD
        if rel == 0:
            self._deliver(data, frame)
            if self.pending:
                self._drain()
        elif rel >= MOD // 2:  # starts before next_seq: retransmission or overlap
            behind = MOD - rel
            if behind >= len(data):
                self.retransmissions += 1
                return
            self.overlaps += 1
            self._deliver(data[behind:], frame)
            if self.pending:
                self._drain()
        else:  # ahead: out of order
            if seq in self.pending:
                if len(self.pending[seq][0]) >= len(data):
                    self.retransmissions += 1
                    return
                self.pending_bytes -= len(self.pending[seq][0])
            self.pending[seq] = (data, frame)
            self.pending_bytes += len(data)
            if self.pending_bytes > MAX_PENDING_BYTES or len(self.pending) > MAX_PENDING_SEGMENTS:
                self.skip_gap()

    def _deliver(self, data: bytes, frame: int) -> None:
        self.next_seq = (self.next_seq + len(data)) % MOD  # type: ignore[operator]
        self.delivered += len(data)
        self.sink(data, frame)

    def _drain(self) -> None:
        while self.pending:
            progressed = False
            for seq in list(self.pending):
                rel = (seq - self.next_seq) % MOD  # type: ignore[operator]
                if rel == 0 or rel >= MOD // 2:
                    data, frame = self.pending.pop(seq)
                    self.pending_bytes -= len(data)
                    behind = 0 if rel == 0 else MOD - rel
                    if behind < len(data):
                        if behind:
                            self.overlaps += 1
                        self._deliver(data[behind:], frame)
                    else:
                        self.retransmissions += 1
                    progressed = True
            if not progressed:
                return

    def skip_gap(self) -> None:
        """Give up on the hole before the earliest pending segment; mark it as a gap."""
        if not self.pending or self.next_seq is None:
            return
        first = min(self.pending, key=lambda s: (s - self.next_seq) % MOD)  # type: ignore[operator]
        size = (first - self.next_seq) % MOD
        self.gaps += 1
        self.gap_bytes += size
        if self.on_gap is not None:
            self.on_gap(self.next_seq, size)
        self.next_seq = first
        self._drain()

    def close(self) -> None:
        """End of connection or capture: deliver what waits behind holes, marking the gaps."""
        while self.pending:
            self.skip_gap()


class StreamBuffer:
    """Application bytes not yet consumed by a dissector, with the frames that carried them."""

    __slots__ = ("data", "frames", "limit", "dropped")

    def __init__(self, limit: int = 1 << 20) -> None:
        self.data = bytearray()
        self.frames: list[tuple[int, int]] = []  # (end offset in data, frame)
        self.limit = limit
        self.dropped = 0

    def feed(self, data: bytes, frame: int) -> None:
        if len(self.data) + len(data) > self.limit:
            self.dropped += len(data)
            return
        self.data += data
        self.frames.append((len(self.data), frame))

    def take(self, n: int) -> tuple[bytes, tuple[int, ...]]:
        """Consume the first n bytes; return them and the frames that carried any of them."""
        out = bytes(self.data[:n])
        used: list[int] = []
        keep: list[tuple[int, int]] = []
        start = 0
        for end, frame in self.frames:
            if start < n and (not used or used[-1] != frame):
                used.append(frame)
            if end > n:
                keep.append((end - n, frame))
            start = end
        del self.data[:n]
        self.frames = keep
        return out, tuple(used)

    def clear(self) -> None:
        self.data.clear()
        self.frames.clear()
