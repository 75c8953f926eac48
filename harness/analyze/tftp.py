"""TFTP dissection: transfers followed across the new-TID port change.

A read or write request goes from the client's port X to the server's port 69;
the server answers from a new port (its transfer ID) back to X, and the rest of
the transfer runs between those two ports. `TftpTracker` links the request to
that new port pair, follows options (RFC 2347 OACK), blocks, retransmissions
and errors, and emits one `TftpTransfer` per transfer when it ends (last block
acknowledged, error, or end of capture). The first `BODY_KEEP` bytes of a read
are passed to `on_body` (profiles seen in the capture). The packet grammar is
`harness.wire.tftp` (lenient mode); this module follows transfers. Bounded: at most
`MAX_TRANSFERS` open transfers; idle ones end as timeouts. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.observe.events import Address, DeviceKey, Evidence, TftpTransfer
from harness.wire import tftp as wire

BODY_KEEP = 256 * 1024
MAX_TRANSFERS = 4096
IDLE_TIMEOUT = 120.0
MAX_FRAMES = 64  # frames named per transfer: the first ones and the last ones
OPCODES = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}


def parse_request(
    payload: bytes, problems: list[str] | None = None
) -> tuple[str, str, str, dict[str, str]] | None:
    """(op, filename, mode, options) of a RRQ/WRQ payload, or None when it is not one.

    The grammar is `harness.wire.tftp.decode` in its lenient mode; what it
    tolerated (an option without a value, given twice...) goes to `problems`.
    """
    if len(payload) < 4 or payload[0] != 0 or payload[1] not in (1, 2) or payload[-1] != 0:
        return None  # quick refusal of what cannot be a request (most port-69 traffic is not)
    global _last
    last = _last  # one read: another thread may replace it
    if last[0] == payload:  # the engine asks, then the tracker reads: one decode
        answer, tolerated = last[1], last[2]
    else:
        answer, tolerated = _read_request(payload)
        _last = (payload, answer, tolerated)
    if answer is not None and problems is not None:
        problems.extend(tolerated)
    return answer


_Request = tuple[str, str, str, dict[str, str]]
_last: tuple[bytes, _Request | None, list[str]] = (b"", None, [])


def _read_request(payload: bytes) -> tuple[_Request | None, list[str]]:
    tolerated: list[str] = []
    try:
        pkt = wire.decode(payload, problems=tolerated)
    except wire.TftpDecodeError:
        return None, tolerated
    assert isinstance(pkt, (wire.ReadRequest, wire.WriteRequest))
    mode = pkt.mode.lower()
    if not pkt.filename or mode not in wire.RFC1350_MODES:
        return None, tolerated
    return (OPCODES[payload[1]], pkt.filename, mode, dict(pkt.options)), tolerated


@dataclass
class _Transfer:
    time: float
    op: str
    filename: str
    mode: str
    options: dict[str, str]
    client: Address
    server: Address  # the request's destination (port 69)
    device: DeviceKey
    tid: Address | None = None  # the server's transfer port
    accepted: dict[str, str] = field(default_factory=dict)
    blksize: int = 512
    blocks: set[int] = field(default_factory=set)
    highest: int = 0
    bytes: int = 0
    retransmissions: int = 0
    last_block_len: int | None = None
    last_ack: int = -1
    error_code: int | None = None
    error_message: str | None = None
    outcome: str | None = None
    frames: list[int] = field(default_factory=list)
    frames_more: bool = False
    last_time: float = 0.0
    body: bytearray = field(default_factory=bytearray)
    refused: bool = False  # an ICMP destination unreachable quoted the request

    def frame(self, f: int, ts: float) -> None:
        self.last_time = ts
        if len(self.frames) < MAX_FRAMES:
            self.frames.append(f)
        else:
            self.frames[-1] = f  # keep the first ones and the latest
            self.frames_more = True


class TftpTracker:
    """All TFTP transfers of a capture (see the module docstring)."""

    def __init__(
        self,
        source: str,
        emit: Callable[[TftpTransfer, bytes], None],
        problem: Callable[[int, str], None],
        address_text: Callable[[Any], str] = str,
    ) -> None:
        self.source = source
        self.text = address_text  # addresses are kept as given (e.g. packed) until emitted
        self.emit = emit
        self.problem = problem
        self.by_client: dict[Address, _Transfer] = {}  # awaiting the server's first answer
        self.by_pair: dict[tuple[Address, Address], _Transfer] = {}  # (client, tid)
        self.dropped = 0

    # -- packets -------------------------------------------------------------
    def request(
        self, frame: int, ts: float, client: Address, server: Address, device: DeviceKey, p: bytes
    ) -> bool:
        tolerated: list[str] = []
        req = parse_request(p, tolerated)
        if req is None:
            return False
        for why in tolerated:
            self.problem(frame, f"TFTP request: {why}")
        op, filename, mode, opts = req
        old = self.by_client.get(client)
        if old is not None and old.filename == filename and old.tid is None:
            old.retransmissions += 1  # the request again, before any answer
            old.frame(frame, ts)
            return True
        if old is not None:
            self._end(old, None)
        if len(self.by_client) + len(self.by_pair) >= MAX_TRANSFERS:
            self.expire(ts, force=True)
        t = _Transfer(ts, op, filename, mode, opts, client, server, device)
        t.frame(frame, ts)
        self.by_client[client] = t
        return True

    def packet(self, frame: int, ts: float, src: Address, dst: Address, p: bytes) -> bool:
        """Take a datagram of an open transfer; False when it belongs to none."""
        t = self.by_pair.get((src, dst))
        from_server = False
        if t is None:
            t = self.by_pair.get((dst, src))
            from_server = t is not None
        if t is None:
            t = self.by_client.get(dst)
            if t is None or src[0] != t.server[0]:
                return False
            # the server's first answer, from its new transfer port
            del self.by_client[dst]
            t.tid = src
            self.by_pair[(dst, src)] = t
            from_server = True
        t.frame(frame, ts)
        if len(p) < 4:
            self.problem(frame, f"TFTP packet of {len(p)} bytes (< 4)")
            return True
        self._packet(t, from_server, frame, p)
        return True

    def unreachable(self, frame: int, ts: float, client: Address, server: Address) -> None:
        """An ICMP destination unreachable quoting a request: the transfer was refused."""
        t = self.by_client.get(client)
        if t is None or t.tid is not None or t.server != server:
            return
        t.refused = True
        t.frame(frame, ts)

    def _packet(self, t: _Transfer, from_server: bool, frame: int, p: bytes) -> None:
        # DATA and ACK are read in place (the layout of wire.Data / wire.Ack, as the
        # codec's own encode_data fast path): they are most of a capture's TFTP packets.
        op = (p[0] << 8) | p[1]
        if op == 3:  # DATA
            block = (p[2] << 8) | p[3]
            data = p[4:]
            if (t.op == "RRQ") != from_server:
                self.problem(frame, "TFTP DATA in the wrong direction")
                return
            if block in t.blocks and block <= t.highest:
                t.retransmissions += 1
                return
            t.blocks.add(block)
            if len(t.blocks) > 4096:  # bounded: keep the recent window only
                t.blocks = {b for b in t.blocks if b > block - 64}
            t.highest = block
            t.bytes += len(data)
            t.last_block_len = len(data)
            room = BODY_KEEP - len(t.body)
            if room > 0 and t.op == "RRQ":
                t.body += data[:room]
        elif op == 4:  # ACK
            block = (p[2] << 8) | p[3]
            if block == t.last_ack:
                t.retransmissions += 1
            t.last_ack = block
            if t.last_block_len is not None and t.last_block_len < t.blksize and block == t.highest:
                self._end(t, "complete")
        elif op in (5, 6):  # ERROR, OACK: rare, read by the lenient codec
            tolerated: list[str] = []
            try:
                pkt = wire.decode(p, problems=tolerated)
            except wire.TftpDecodeError as exc:
                self.problem(frame, f"TFTP {wire.Opcode(op).name}: {exc}")
                return
            for why in tolerated:
                self.problem(frame, f"TFTP {wire.Opcode(op).name}: {why}")
            if isinstance(pkt, wire.Error):
                t.error_code, t.error_message = pkt.code, pkt.message
                self._end(t, "error")
                return
            assert isinstance(pkt, wire.OptionAck)
            t.accepted.update(pkt.options)
            try:
                t.blksize = int(t.accepted.get("blksize", "512"))
            except ValueError:
                self.problem(frame, f"TFTP OACK with bad blksize {t.accepted.get('blksize')!r}")
        elif op in (1, 2):
            t.retransmissions += 1
        else:
            self.problem(frame, f"unknown TFTP opcode {op}")

    def _end(self, t: _Transfer, outcome: str | None) -> None:
        if t.outcome is not None:
            return
        if outcome is None:
            if t.last_block_len is not None and t.last_block_len < t.blksize:
                outcome = "complete"
            elif t.tid is None:
                outcome = "refused" if t.refused else "timeout"
            else:
                outcome = "aborted"
        t.outcome = outcome
        if self.by_client.get(t.client) is t:
            del self.by_client[t.client]
        if t.tid is not None and self.by_pair.get((t.client, t.tid)) is t:
            del self.by_pair[(t.client, t.tid)]
        client = (self.text(t.client[0]), t.client[1])
        obs = TftpTransfer(
            time=t.time,
            client=client,
            server=(self.text(t.server[0]), t.server[1]),
            device=t.device if t.device.ip else DeviceKey(ip=client[0]),
            evidence=Evidence(
                self.source, tuple(t.frames), "frames truncated" if t.frames_more else ""
            ),
            op=t.op,
            filename=t.filename,
            mode=t.mode,
            options=t.options,
            accepted_options=t.accepted,
            outcome=outcome,
            error_code=t.error_code,
            error_message=t.error_message,
            bytes=t.bytes,
            blocks=t.highest,
            retransmissions=t.retransmissions,
            duration=t.last_time - t.time,
        )
        self.emit(obs, bytes(t.body) if outcome == "complete" else b"")

    def expire(self, now: float, force: bool = False) -> None:
        """End transfers idle for IDLE_TIMEOUT (or the oldest one, when over the limit)."""
        every = list(self.by_client.values()) + list(self.by_pair.values())
        every.sort(key=lambda t: t.last_time)
        for t in every:
            if force:
                self.dropped += 1
                self._end(t, None)
                return
            if now - t.last_time > IDLE_TIMEOUT:
                self._end(t, None)

    def finish(self) -> None:
        for t in list(self.by_client.values()) + list(self.by_pair.values()):
            self._end(t, None)
