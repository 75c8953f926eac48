"""The read data phase driven from datagram_received (`_ReadPump`), seen by a raw client.

Stale and duplicate ACKs, partial-window ACKs, ACKs queued during a delay fault, the
lazily re-armed retransmission timer, bad packets mid-transfer, and a bug in the pump
ending only its own transfer.
"""

from __future__ import annotations

import time

import pytest

import harness.endpoints.tftp as tftp_module
from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import Ack, Data, Error, ReadRequest

from .test_tftp_rawclient import RawClient

BODY = bytes(range(256)) * 8  # 2048 bytes: blocks 1-4 full, block 5 empty


@pytest.fixture
def server(tftp_server: TftpServer) -> TftpServer:
    tftp_server.add_file("/x.cfg", BODY)
    return tftp_server


def drain(client: RawClient, timeout: float = 0.3) -> list[int]:
    """The DATA block numbers that arrive until `timeout` of silence."""
    client.sock.settimeout(timeout)
    blocks = []
    try:
        while True:
            packet, _ = client.recv()
            assert isinstance(packet, Data), packet
            blocks.append(packet.block)
    except TimeoutError:
        return blocks


def test_stale_ack_sends_nothing(server: TftpServer) -> None:
    server.retransmit_timeout = 5.0
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        first, tid = client.recv()
        client.send(Ack(1), tid)
        client.send(Ack(1), tid)  # duplicate: no second block 2 (no Sorcerer's Apprentice)
        client.send(Ack(0), tid)  # older still: ignored
        assert drain(client) == [2]
        client.send(Ack(2), tid)
        assert drain(client) == [3]
    assert isinstance(first, Data) and first.block == 1


def test_partial_window_ack_slides_the_window(server: TftpServer) -> None:
    """An ACK inside the window slides it (blocks in flight are not re-sent); a duplicate
    ACK sends nothing (RFC 1123 4.2.3.1); only the timeout re-sends the window."""
    server.retransmit_timeout = 0.5
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg", options={"windowsize": "3"}))
        _, tid = client.recv()  # OACK
        client.send(Ack(0), tid)
        assert drain(client, 0.2) == [1, 2, 3]
        client.send(Ack(1), tid)  # blocks 2 and 3 "lost" (or still on their way)
        assert drain(client, 0.2) == [4]
        client.send(Ack(1), tid)  # the same ACK again: ignored
        assert drain(client, 0.1) == []
        client.sock.settimeout(2.0)
        assert [client.recv()[0].block for _ in range(3)] == [2, 3, 4]  # the timeout re-sends
        client.send(Ack(4), tid)
        assert drain(client, 0.2) == [5]
        client.send(Ack(5), tid)
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "complete" and transfer.blocks == 5
    assert transfer.retransmissions == 3  # 2, 3, 4 once, on the timeout


def test_acks_during_a_delay_fault_are_handled_after_it(server: TftpServer) -> None:
    server.fault("/x.cfg").delay_block(2, 0.2)
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        _, tid = client.recv()
        client.send(Ack(1), tid)
        client.send(Ack(1), tid)  # arrives while block 2 is held; must not send it twice
        assert drain(client, 0.5) == [2]
        for block in (2, 3, 4):
            client.send(Ack(block), tid)
            assert drain(client) == [block + 1]
        client.send(Ack(5), tid)
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.retransmissions) == ("complete", 0)


def test_each_ack_moves_the_retransmission_deadline(server: TftpServer) -> None:
    server.retransmit_timeout = 1.0
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        packet, tid = client.recv()
        seen = [packet.block]
        for block in range(1, 5):  # 4 x 0.4 s > 1 s: a deadline that never moved would fire
            time.sleep(0.4)
            client.send(Ack(block), tid)
            packet, _ = client.recv()
            seen.append(packet.block)
        client.send(Ack(5), tid)
    assert seen == [1, 2, 3, 4, 5]
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.retransmissions) == ("complete", 0)


def test_silence_retransmits_then_times_out(server: TftpServer) -> None:
    server.retransmit_timeout, server.max_retries = 0.1, 2
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        _, tid = client.recv()
        client.send(Ack(1), tid)
        assert drain(client, 0.6) == [2, 2, 2]
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.blocks, transfer.retransmissions) == ("timeout", 1, 2)
    assert transfer.error_message == "no ACK for block 2 after 2 retries"


@pytest.mark.parametrize(
    "raw,outcome",
    [(b"\x00\x03\x00\x01hello", "error"), (b"\x00\x04\x00", "error"), (b"\x00\x09", "error")],
    ids=["DATA to a reader", "short ACK", "unknown opcode"],
)
def test_bad_packet_mid_read_gets_error_4(server: TftpServer, raw: bytes, outcome: str) -> None:
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        _, tid = client.recv()
        client.send(raw, tid)
        packet, _ = client.recv()
    assert isinstance(packet, Error) and packet.code == 4
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.error_code, transfer.blocks) == (outcome, 4, 0)


def test_a_bug_in_the_pump_ends_only_its_transfer(
    server: TftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tftp_module.encode_data

    def broken(block: int, payload: bytes | memoryview) -> bytes:
        if block == 3:
            raise RuntimeError("boom")
        return real(block, payload)

    monkeypatch.setattr(tftp_module, "encode_data", broken)
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        _, tid = client.recv()
        client.send(Ack(1), tid)
        client.recv()
        client.send(Ack(2), tid)  # building block 3 fails
        assert drain(client) == []
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "error" and "boom" in (transfer.error_message or "")
    assert any("boom" in p for p in server.problems)
    monkeypatch.setattr(tftp_module, "encode_data", real)
    with RawClient(server.address) as client:
        assert client.read("/x.cfg").data == BODY  # the server goes on


def test_reads_from_many_clients_at_once(server: TftpServer) -> None:
    body = bytes(range(256)) * 64  # 32 blocks
    server.add_file("/big.bin", body)
    clients = [RawClient(server.address) for _ in range(8)]
    try:
        tids = []
        for client in clients:
            client.send(ReadRequest("/big.bin", options={"windowsize": "4"}))
        for client in clients:
            _, tid = client.recv()
            tids.append(tid)
            client.send(Ack(0), tid)
        got = [bytearray() for _ in clients]
        done = [False] * len(clients)
        while not all(done):  # round-robin: every transfer advances one window at a time
            for i, client in enumerate(clients):
                if done[i]:
                    continue
                for _ in range(4):
                    packet, _ = client.recv()
                    assert isinstance(packet, Data)
                    got[i] += packet.data
                    if len(packet.data) < 512:
                        done[i] = True
                        break
                client.send(Ack(packet.block), tids[i])
    finally:
        for client in clients:
            client.close()
    assert all(bytes(g) == body for g in got)
    transfers = server.wait_transfers(len(clients))
    assert {t.outcome for t in transfers} == {"complete"}
    assert len({t.client for t in transfers}) == len(clients)
