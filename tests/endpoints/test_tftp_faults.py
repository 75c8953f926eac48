"""Each scripted TFTP fault, observed by a raw-socket client; retries, wrong TID, vanishing client."""

from __future__ import annotations

import socket
import time

import pytest

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import Ack, Data, Error, ReadRequest, decode

from .test_tftp_rawclient import RawClient

BODY = bytes(range(256)) * 8  # 2048 bytes: blocks 1-4 full, block 5 empty


@pytest.fixture
def server(tftp_server: TftpServer) -> TftpServer:
    tftp_server.retransmit_timeout = 0.2
    tftp_server.max_retries = 2
    tftp_server.add_file("/x.cfg", BODY)
    tftp_server.add_file("/other.cfg", BODY)
    return tftp_server


def test_new_tid_per_transfer_by_default(server: TftpServer) -> None:
    with RawClient(server.address) as a, RawClient(server.address) as b:
        ra, rb = a.read("/x.cfg"), b.read("/x.cfg")
    assert ra.tid[1] != server.port and rb.tid[1] != server.port and ra.tid != rb.tid


def test_drop_block_once_is_retransmitted(server: TftpServer) -> None:
    server.fault("/x.cfg").drop_block(2)
    with RawClient(server.address) as client:
        result = client.read("/x.cfg")
    assert result.data == BODY
    assert result.data_blocks() == [1, 2, 3, 4, 5]
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "complete" and transfer.retransmissions == 1


def test_drop_block_always_ends_in_timeout(server: TftpServer) -> None:
    server.fault("/x.cfg").drop_block(2, always=True)
    with RawClient(server.address, timeout=0.3) as client, pytest.raises(TimeoutError):
        client.read("/x.cfg", max_timeouts=4)
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "timeout" and transfer.blocks == 1
    assert transfer.retransmissions == server.max_retries


def test_delay_block(server: TftpServer) -> None:
    server.fault("/x.cfg").delay_block(1, 0.3)
    with RawClient(server.address) as client:
        started = time.monotonic()
        client.send(ReadRequest("/x.cfg"))
        packet, _ = client.recv()
        waited = time.monotonic() - started
    assert isinstance(packet, Data) and packet.block == 1
    assert waited >= 0.3


def test_duplicate_block(server: TftpServer) -> None:
    server.fault("/x.cfg").duplicate_block(1)
    with RawClient(server.address) as client:
        result = client.read("/x.cfg")
    assert result.data == BODY
    assert result.data_blocks()[:2] == [1, 1]
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "complete" and transfer.retransmissions == 0


def test_same_port_answers_from_the_listening_port(server: TftpServer) -> None:
    server.fault("/x.cfg").same_port()
    with RawClient(server.address) as client:
        result = client.read("/x.cfg")
        assert result.tid == server.address
        assert result.data == BODY
        assert client.read("/other.cfg").tid != server.address  # only that file
    transfers = server.wait_transfers(2)
    assert transfers[0].server == server.address


def test_error_instead_of_the_file(server: TftpServer) -> None:
    server.fault("/x.cfg").error(1, "nope")
    with RawClient(server.address) as client:
        result = client.read("/x.cfg")
    assert result.error == Error(1, "nope")
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.error_code, transfer.error_message) == (
        "refused",
        1,
        "nope",
    )


def test_fault_for_every_file(server: TftpServer) -> None:
    server.fault().error(2, "go away")
    with RawClient(server.address) as client:
        assert client.read("/other.cfg").error == Error(2, "go away")


def test_stall_after_block(server: TftpServer) -> None:
    server.fault("x.cfg").stall_after(3)
    blocks: list[int] = []
    with RawClient(server.address, timeout=0.4) as client:
        client.send(ReadRequest("/x.cfg"))
        with pytest.raises(TimeoutError):
            while True:
                packet, tid = client.recv()
                blocks.append(packet.block)
                client.send(Ack(packet.block), tid)
    assert blocks == [1, 2, 3]
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "aborted" and "stalled after block 3" in transfer.error_message
    assert transfer.blocks == 3


def test_wrong_tid_gets_error_5_and_the_transfer_goes_on(server: TftpServer) -> None:
    with RawClient(server.address) as client, RawClient(server.address) as stranger:
        client.send(ReadRequest("/x.cfg"))
        packet, tid = client.recv()
        assert isinstance(packet, Data) and packet.block == 1
        stranger.send(Ack(1), tid)
        answer, source = stranger.recv()
        assert answer.code == 5 and source == tid
        received = packet.data
        while len(packet.data) == 512:
            client.send(Ack(packet.block), tid)
            packet, _ = client.recv()
            received += packet.data
        client.send(Ack(packet.block), tid)
    assert received == BODY
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "complete"
    assert any("wrong TID" in p for p in server.problems)


def test_vanishing_client_ends_in_timeout(server: TftpServer) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    try:
        sock.sendto(b"\x00\x01x.cfg\x00octet\x00", server.address)
        raw, _ = sock.recvfrom(1000)
        assert decode(raw) == Data(1, BODY[:512])
    finally:
        sock.close()  # gone without an ACK
    (transfer,) = server.wait_transfers(1)
    assert transfer.outcome == "timeout" and transfer.retransmissions == 2
    assert transfer.blocks == 0


def test_vanishing_uploader_ends_in_timeout(server: TftpServer) -> None:
    with RawClient(server.address) as client:
        client.send(b"\x00\x02up.log\x00octet\x00")
        packet, tid = client.recv()
        assert packet == Ack(0)
        client.send(Data(1, b"a" * 512), tid)
        assert client.recv()[0] == Ack(1)
    (transfer,) = server.wait_transfers(1)
    assert (transfer.op, transfer.outcome, transfer.blocks) == ("WRQ", "timeout", 1)
    assert "up.log" not in server.uploads


def test_client_error_aborts(server: TftpServer) -> None:
    with RawClient(server.address) as client:
        client.send(ReadRequest("/x.cfg", options={"blksize": "1024"}))
        _, tid = client.recv()
        client.send(Error(8, "no options please"), tid)
    (transfer,) = server.wait_transfers(1)
    assert (transfer.outcome, transfer.error_code) == ("aborted", 8)


def test_stop_mid_transfer_records_aborted(tftp_server: TftpServer) -> None:
    tftp_server.add_file("/x.cfg", BODY)
    with RawClient(tftp_server.address) as client:
        client.send(ReadRequest("/x.cfg"))
        client.recv()
        tftp_server.stop()
    (transfer,) = tftp_server.transfers
    assert (transfer.outcome, transfer.error_message) == ("aborted", "server stopped")
