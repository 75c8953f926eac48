"""RFC 7440 windows against a client that ACKs every block: no Sorcerer's Apprentice re-sends.

RFC 7440 asks for one ACK per window but allows more; an ACK of block n inside the
window slides the window to n+1 (RFC 1123 4.2.3.1: a duplicate or early ACK must not
make the sender re-send what is already in flight).
"""

from __future__ import annotations

import socket

import pytest

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import Ack, Data, OptionAck, ReadRequest, decode, encode

SIZE = 102_400


def _read_acking_every_block(
    server: TftpServer, window: int, duplicate_acks: bool
) -> tuple[bytes, int]:
    """Fetch /big.bin ACKing each block (twice with `duplicate_acks`); (data, payload bytes sent)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    sent_payload, received, expected = 0, bytearray(), 1
    try:
        sock.sendto(
            encode(ReadRequest("big.bin", "octet", {"windowsize": str(window)})), server.address
        )
        packet_raw, tid = sock.recvfrom(70000)
        assert isinstance(decode(packet_raw), OptionAck)
        sock.sendto(encode(Ack(0)), tid)
        while True:
            raw, addr = sock.recvfrom(70000)
            packet = decode(raw)
            assert isinstance(packet, Data) and addr == tid
            sent_payload += len(packet.data)
            if packet.block == expected & 0xFFFF:
                received += packet.data
                expected += 1
            ack = encode(Ack((expected - 1) & 0xFFFF))
            sock.sendto(ack, tid)
            if duplicate_acks:
                sock.sendto(ack, tid)
            if len(received) == SIZE and packet.block == expected - 1 and len(packet.data) < 512:
                break
        sock.settimeout(0.3)  # whatever is still coming is a re-send
        try:
            while True:
                raw, _ = sock.recvfrom(70000)
                if isinstance(p := decode(raw), Data):
                    sent_payload += len(p.data)
        except TimeoutError:
            pass
    finally:
        sock.close()
    return bytes(received), sent_payload


@pytest.mark.parametrize("window", [4, 8, 64])
@pytest.mark.parametrize("duplicate_acks", [False, True])
def test_acking_every_block_sends_the_file_once(tftp_server, window, duplicate_acks) -> None:
    content = bytes(i % 251 for i in range(SIZE))
    tftp_server.add_file("big.bin", content)
    data, sent = _read_acking_every_block(tftp_server, window, duplicate_acks)
    assert data == content
    assert sent == SIZE  # every payload byte exactly once
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.outcome == "complete" and transfer.retransmissions == 0
