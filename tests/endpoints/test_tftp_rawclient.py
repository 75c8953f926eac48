"""A tiny raw-socket TFTP client for the TFTP endpoint's tests, and its windowsize tests.

The client logs every packet it receives (with the sender's address) so that
fault tests can see exactly what went over the wire. The other test_tftp_*
modules import `RawClient` from here.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import (
    Ack,
    Data,
    Error,
    OptionAck,
    Packet,
    ReadRequest,
    WriteRequest,
    decode,
    encode,
)


@dataclass
class ReadResult:
    data: bytes = b""
    error: Error | None = None
    oack: dict[str, str] | None = None
    tid: tuple[str, int] | None = None
    log: list[tuple[Packet, tuple[str, int]]] = field(default_factory=list)
    acks_sent: list[int] = field(default_factory=list)

    def data_blocks(self) -> list[int]:
        return [p.block for p, _ in self.log if isinstance(p, Data)]


class RawClient:
    def __init__(self, server: tuple[str, int], timeout: float = 2.0) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout)

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, packet: Packet | bytes, to: tuple[str, int] | None = None) -> None:
        raw = packet if isinstance(packet, bytes) else encode(packet)
        self.sock.sendto(raw, to or self.server)

    def recv(self) -> tuple[Packet, tuple[str, int]]:
        raw, addr = self.sock.recvfrom(70000)
        return decode(raw), addr

    def read(
        self,
        filename: str,
        *,
        mode: str = "octet",
        options: dict[str, str] | None = None,
        max_timeouts: int = 3,
    ) -> ReadResult:
        """Fetch a file (RFC 1350 + options + RFC 7440 windows); log what arrives."""
        result = ReadResult()
        self.send(ReadRequest(filename, mode, options or {}))
        blksize, window = 512, 1
        expected, since_ack, timeouts = 1, 0, 0
        received = bytearray()
        last_sent: Packet = ReadRequest(filename, mode, options or {})
        while True:
            try:
                packet, addr = self.recv()
            except TimeoutError:
                timeouts += 1
                if timeouts > max_timeouts:
                    raise
                self.send(last_sent, result.tid)
                continue
            result.log.append((packet, addr))
            if result.tid is None:
                result.tid = addr
            elif addr != result.tid:
                continue
            if isinstance(packet, Error):
                result.error = packet
                break
            if isinstance(packet, OptionAck):
                result.oack = packet.options
                blksize = int(packet.options.get("blksize", 512))
                window = int(packet.options.get("windowsize", 1))
                last_sent = Ack(0)
                self.send(last_sent, result.tid)
                continue
            assert isinstance(packet, Data), packet
            if packet.block != expected & 0xFFFF:
                last_sent = Ack((expected - 1) & 0xFFFF)
                self.send(last_sent, result.tid)
                result.acks_sent.append(last_sent.block)
                since_ack = 0
                continue
            received += packet.data
            expected += 1
            since_ack += 1
            last = len(packet.data) < blksize
            if last or since_ack >= window:
                last_sent = Ack(packet.block)
                self.send(last_sent, result.tid)
                result.acks_sent.append(packet.block)
                since_ack = 0
            if last:
                break
        result.data = bytes(received)
        return result

    def write(self, filename: str, data: bytes, *, options: dict[str, str] | None = None) -> Packet:
        """Upload (lock-step, no retries); returns the server's last packet."""
        self.send(WriteRequest(filename, "octet", options or {}))
        packet, tid = self.recv()
        blksize = 512
        if isinstance(packet, OptionAck):
            blksize = int(packet.options.get("blksize", 512))
        elif not isinstance(packet, Ack):
            return packet
        block = 1
        while True:
            chunk = data[(block - 1) * blksize : block * blksize]
            self.send(Data(block & 0xFFFF, chunk), tid)
            packet, _ = self.recv()
            if not isinstance(packet, Ack) or len(chunk) < blksize:
                return packet
            block += 1


def test_windowsize_sends_a_window_before_waiting(tftp_server: TftpServer) -> None:
    content = bytes(range(256)) * 20  # 5120 bytes: 10 full blocks + an empty last block
    tftp_server.add_file("/win.bin", content)
    with RawClient(tftp_server.address) as client:
        result = client.read("/win.bin", options={"windowsize": "4", "blksize": "512"})
    assert result.data == content
    assert result.oack == {"windowsize": "4", "blksize": "512"}
    assert result.acks_sent == [4, 8, 11]
    assert result.data_blocks() == list(range(1, 12))
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.outcome == "complete"
    assert transfer.accepted_options == {"windowsize": "4", "blksize": "512"}
    assert transfer.blocks == 11 and transfer.bytes == len(content)


def test_windowsize_recovers_from_a_lost_block(tftp_server: TftpServer) -> None:
    content = bytes(range(256)) * 10
    tftp_server.add_file("/win.bin", content)
    tftp_server.fault("/win.bin").drop_block(2)
    with RawClient(tftp_server.address) as client:
        result = client.read("/win.bin", options={"windowsize": "4"})
    assert result.data == content
    blocks = result.data_blocks()
    assert blocks[:3] == [1, 3, 4]  # block 2 never went out the first time
    assert 1 in result.acks_sent  # the client reported the gap
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.outcome == "complete" and transfer.retransmissions >= 1


def test_windowsize_above_the_server_maximum_is_clamped(tftp_server: TftpServer) -> None:
    tftp_server.add_file("a.bin", b"x" * 2000)
    with RawClient(tftp_server.address) as client:
        result = client.read("a.bin", options={"windowsize": "65535"})
    assert result.oack == {"windowsize": str(tftp_server.max_windowsize)}
    assert result.data == b"x" * 2000


def test_records_take_time_from_the_injected_clock() -> None:
    from harness.clock import VirtualClock
    from harness.observe.recorder import Recorder

    recorder = Recorder()
    with TftpServer(files={"a": b"1"}, clock=VirtualClock(start=1000.0), recorder=recorder) as srv:
        with RawClient(srv.address) as client:
            assert client.read("/a").data == b"1"
        (transfer,) = srv.wait_transfers(1)
    assert 1000.0 <= transfer.time < 1010.0
    assert recorder.observations == [transfer]
    assert transfer.to_dict()["kind"] == "tftp"
