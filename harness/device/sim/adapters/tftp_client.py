"""TFTP read client of the simulated phone (RFC 1350, options RFC 2347/2348/2349).

`tftp_get(host, port, filename)` sends an RRQ with blksize and tsize, follows
the server's transfer ID, acknowledges each block, retransmits on silence and
answers packets from a foreign TID with ERROR 5. Returns a `TftpResult`; no
provisioning logic here (the engine decides what "not found" means). Packets are
built and read by `harness.wire.tftp` (lenient mode: a phone takes what it can).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from harness.device.sim.adapters.source import local_bind
from harness.wire import tftp as wire

ERR_NOT_FOUND, ERR_UNKNOWN_TID = wire.ErrorCode.FILE_NOT_FOUND, wire.ErrorCode.UNKNOWN_TID
MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TftpResult:
    outcome: str  # complete | not-found | error | timeout | connection-error
    data: bytes = b""
    error_code: int | None = None
    error: str = ""


class _Proto(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.refused = False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.refused = True
        self.queue.put_nowait((b"", ("", 0)))


def _rrq(filename: str, blksize: int) -> bytes:
    return wire.encode(wire.ReadRequest(filename, "octet", {"blksize": str(blksize), "tsize": "0"}))


def _error(code: int, text: str) -> bytes:
    return wire.encode_error(code, text)


async def tftp_get(
    host: str,
    port: int,
    filename: str,
    *,
    blksize: int = 1024,
    timeout: float = 1.0,
    retries: int = 4,
    local: str | None = None,
) -> TftpResult:
    loop = asyncio.get_running_loop()
    try:
        transport, proto = await loop.create_datagram_endpoint(
            _Proto, local_addr=local_bind(local, host) or ("0.0.0.0", 0), family=socket.AF_INET
        )
    except OSError as exc:
        return TftpResult("connection-error", error=f"cannot open a UDP socket: {exc}")
    server: tuple[str, int] | None = None
    last = _rrq(filename.lstrip("/"), blksize)
    last_to: tuple[str, int] = (host, port)
    size = 512
    expected = 1
    data = bytearray()
    try:
        transport.sendto(last, last_to)
        tries = 0
        while True:
            try:
                packet, addr = await asyncio.wait_for(proto.queue.get(), timeout)
            except TimeoutError:
                tries += 1
                if tries > retries:
                    return TftpResult("timeout", bytes(data), error=f"no answer from {host}:{port}")
                transport.sendto(last, last_to)
                continue
            if proto.refused and not packet:
                return TftpResult("connection-error", error=f"{host}:{port} refused (ICMP)")
            if len(packet) < 4:
                continue
            if server is None:
                server = addr
            elif addr != server:
                transport.sendto(_error(ERR_UNKNOWN_TID, "unknown transfer ID"), addr)
                continue
            try:
                pkt = wire.decode(packet, problems=[])
            except wire.TftpDecodeError:
                continue
            if isinstance(pkt, wire.Error):
                code = pkt.code
                outcome = "not-found" if code == ERR_NOT_FOUND else "error"
                return TftpResult(
                    outcome, error_code=code, error=f"TFTP error {code}: {pkt.message}"
                )
            if isinstance(pkt, wire.OptionAck) and expected == 1 and not data:
                size = int(pkt.options.get("blksize", "512") or 512)
                last, last_to, tries = wire.encode_ack(0), server, 0
                transport.sendto(last, last_to)
                continue
            if not isinstance(pkt, wire.Data):
                continue
            block = pkt.block
            if block == expected:
                payload = pkt.data
                data += payload
                if len(data) > MAX_BYTES:
                    transport.sendto(_error(3, "file too large"), server)
                    return TftpResult("error", error="file larger than the phone accepts")
                last, last_to, tries = wire.encode_ack(block), server, 0
                transport.sendto(last, last_to)
                if len(payload) < size:
                    return TftpResult("complete", bytes(data))
                expected = (expected + 1) & 0xFFFF
            elif block == (expected - 1) & 0xFFFF:
                transport.sendto(last, last_to)  # our ACK was lost: say it again
    finally:
        transport.close()
