"""Hostile input to the TFTP endpoint: path escapes, malformed and random datagrams.

After every attack the server records the problem and still serves a real client.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import Ack, Data, Error, ReadRequest, WriteRequest, decode

from .test_tftp_rawclient import RawClient


def real_client_gets(server: TftpServer, tmp_path: Path) -> None:
    server.add_file("/alive.cfg", b"still serving\n" * 100)
    out = tmp_path / "alive.out"
    subprocess.run(
        ["tftp", "127.0.0.1", str(server.port), "-m", "binary", "-c", "get", "alive.cfg", str(out)],
        check=True,
        timeout=20,
        capture_output=True,
    )
    assert out.read_bytes() == b"still serving\n" * 100


@pytest.mark.parametrize(
    "name",
    ["../secret", "/../secret", "a/../../secret", "..\\secret", "/sub/../../secret"],
)
def test_dot_dot_is_refused_with_error_2(tftp_server: TftpServer, name: str) -> None:
    (tftp_server.root.parent / "secret").write_bytes(b"top secret")
    (tftp_server.root / "sub").mkdir()
    with RawClient(tftp_server.address) as client:
        result = client.read(name)
    assert result.error is not None and result.error.code == 2 and result.data == b""
    (transfer,) = tftp_server.wait_transfers(1)
    assert (transfer.outcome, transfer.error_code) == ("refused", 2)
    assert any("'..'" in p for p in tftp_server.problems)


def test_symlink_out_of_the_root_is_refused(tftp_server: TftpServer) -> None:
    (tftp_server.root.parent / "outside.txt").write_bytes(b"outside")
    (tftp_server.root / "link.txt").symlink_to(tftp_server.root.parent / "outside.txt")
    with RawClient(tftp_server.address) as client:
        assert client.read("/link.txt").error.code == 2
    assert any("symlink" in p for p in tftp_server.problems)


def test_absolute_path_stays_inside_the_root(tftp_server: TftpServer) -> None:
    with RawClient(tftp_server.address) as client:
        result = client.read("/etc/passwd")
    assert result.error.code == 1 and result.data == b""


def test_write_outside_the_root_is_refused(tftp_server: TftpServer) -> None:
    with RawClient(tftp_server.address) as client:
        answer = client.write("../../evil.sh", b"rm -rf /")
    assert isinstance(answer, Error) and answer.code == 2
    assert not (tftp_server.write_dir.parent / "evil.sh").exists()


def test_writes_can_be_disabled(tftp_server: TftpServer) -> None:
    tftp_server.writable = False
    with RawClient(tftp_server.address) as client:
        answer = client.write("up.log", b"x")
    assert isinstance(answer, Error) and answer.code == 2


MALFORMED = {
    "empty": (b"", True),
    "one byte": (b"\x00", True),
    "bad opcode": (b"\x00\x09hello\x00", True),
    "RRQ unterminated name": (b"\x00\x01CP-8831-3PCC.cfg", True),
    "RRQ no mode": (b"\x00\x01CP-8831-3PCC.cfg\x00", True),
    "RRQ option without value": (b"\x00\x01f\x00octet\x00blksize\x00", True),
    "RRQ duplicate option": (b"\x00\x01f\x00octet\x00tsize\x000\x00TSIZE\x000\x00", True),
    "ACK too short": (b"\x00\x04\x01", True),
    "ERROR unterminated": (b"\x00\x05\x00\x01oops", False),  # never answer an ERROR
}


@pytest.mark.parametrize("raw,answered", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_datagram_gets_error_4(
    tftp_server: TftpServer, tmp_path: Path, raw: bytes, answered: bool
) -> None:
    with RawClient(tftp_server.address, timeout=0.5) as client:
        client.send(raw)
        if answered:
            packet, _ = client.recv()
            assert isinstance(packet, Error) and packet.code == 4
        else:
            with pytest.raises(TimeoutError):
                client.recv()
    assert len(tftp_server.problems) == 1
    real_client_gets(tftp_server, tmp_path)


@pytest.mark.parametrize(
    "options,accepted",
    [
        ({"blksize": "abc"}, {}),
        ({"blksize": "4"}, {}),
        ({"blksize": "99999999999999999999999999"}, {}),
        ({"blksize": "70000"}, {"blksize": "65464"}),
        ({"timeout": "0"}, {}),
        ({"timeout": "300"}, {}),
        ({"tsize": "-1"}, {}),
    ],
)
def test_bad_option_values_are_left_out_of_the_oack(
    tftp_server: TftpServer, options: dict[str, str], accepted: dict[str, str]
) -> None:
    tftp_server.add_file("/f.bin", b"z" * 700)
    with RawClient(tftp_server.address) as client:
        result = client.read("/f.bin", options=options)
    assert result.data == b"z" * 700
    assert (result.oack or {}) == accepted
    assert tftp_server.problems and next(iter(options)) in tftp_server.problems[0]


def test_unknown_options_and_bad_mode(tftp_server: TftpServer) -> None:
    tftp_server.add_file("/f.bin", b"q")
    with RawClient(tftp_server.address) as client:
        assert client.read("/f.bin", options={"multicast": ""}).oack is None
        result = client.read("/f.bin", mode="mail")
    assert result.error.code == 4


def test_stray_ack_to_the_listening_port_gets_error_5(tftp_server: TftpServer) -> None:
    with RawClient(tftp_server.address) as client:
        client.send(Ack(3))
        packet, source = client.recv()
    assert packet.code == 5 and source == tftp_server.address


def test_oversized_upload_is_refused(tftp_server: TftpServer) -> None:
    tftp_server.max_upload = 1000
    with RawClient(tftp_server.address) as client:
        assert client.write("big", b"x" * 2000, options={"tsize": "2000"}).code == 3
        assert client.write("big", b"x" * 2000).code == 3
    assert "big" not in tftp_server.uploads


def test_upload_blocks_larger_than_blksize_are_refused(tftp_server: TftpServer) -> None:
    with RawClient(tftp_server.address) as client:
        client.send(WriteRequest("w.log"))
        _, tid = client.recv()
        client.send(Data(1, b"x" * 600), tid)
        assert client.recv()[0].code == 4


def _datagram() -> st.SearchStrategy[bytes]:
    text = st.binary(max_size=24).filter(lambda b: b"\x00" not in b)
    request = st.builds(
        lambda op, name, mode, opts: (
            struct.pack("!H", op)
            + name
            + b"\x00"
            + mode
            + b"\x00"
            + b"".join(k + b"\x00" + v + b"\x00" for k, v in opts)
        ),
        st.sampled_from([1, 2]),
        text,
        st.sampled_from([b"octet", b"netascii", b"mail", b"OCTET", b""]),
        st.lists(
            st.tuples(st.sampled_from([b"blksize", b"tsize", b"timeout", b"windowsize"]), text),
            max_size=4,
        ),
    )
    framed = st.builds(
        lambda op, rest: struct.pack("!H", op) + rest, st.integers(0, 9), st.binary(max_size=80)
    )
    return st.one_of(st.binary(max_size=64), framed, request)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=_datagram())
def test_random_datagrams_never_stop_the_server(tftp_server: TftpServer, raw: bytes) -> None:
    tftp_server.retransmit_timeout = 0.05
    tftp_server.max_retries = 0
    tftp_server.add_file("/ping", b"pong")
    fuzz = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fuzz.sendto(raw, tftp_server.address)
    finally:
        fuzz.close()
    with RawClient(tftp_server.address) as client:
        client.send(ReadRequest("/ping"))
        packet, tid = client.recv()
        assert packet == Data(1, b"pong")
        client.send(Ack(1), tid)


def test_after_the_fuzzing_a_real_client_still_works(tftp_server: TftpServer, tmp_path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fuzz:
        for _ in range(300):
            fuzz.sendto(b"\x00" + os.urandom(20), tftp_server.address)
    real_client_gets(tftp_server, tmp_path)
    assert len(tftp_server.problems) >= 250


def test_decoded_packets_of_a_clean_run_have_no_problems(tftp_server: TftpServer, tmp_path) -> None:
    real_client_gets(tftp_server, tmp_path)
    assert tftp_server.problems == []
    assert decode(b"\x00\x04\x00\x01") == Ack(1)
