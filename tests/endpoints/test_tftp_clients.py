"""The TFTP endpoint against real clients nobody here wrote: tftp-hpa and atftp.

Read and write, octet and netascii, empty / 512-multiple / multi-block files,
blksize and tsize (atftp) and windowsize (atftp 0.8).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import to_netascii

pytestmark = pytest.mark.skipif(
    not (shutil.which("tftp") and shutil.which("atftp")), reason="tftp-hpa and atftp needed"
)

SIZES = {"empty": 0, "small": 100, "one-block": 512, "two-blocks": 1024, "multi": 70_001}


def content(size: int) -> bytes:
    return (os.urandom(64) * (size // 64 + 1))[:size]


def run(cmd: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, f"{cmd}: rc={proc.returncode} {proc.stdout} {proc.stderr}"
    return proc


def hpa(server: TftpServer, command: str, *, mode: str = "binary", verbose: bool = False):
    args = ["tftp", "127.0.0.1", str(server.port), "-m", mode]
    if verbose:
        args.append("-v")
    return run([*args, "-c", *command.split()])


def atftp(server: TftpServer, *args: str):
    return run(["atftp", "--tftp-timeout", "2", *args, "127.0.0.1", str(server.port)])


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_tftp_hpa_get_octet(tftp_server: TftpServer, tmp_path: Path, size: int) -> None:
    body = content(size)
    (tftp_server.root / "CP-8831-3PCC.cfg").write_bytes(body)
    out = tmp_path / "out"
    hpa(tftp_server, f"get /CP-8831-3PCC.cfg {out}", verbose=True)
    assert out.read_bytes() == body
    (transfer,) = tftp_server.wait_transfers(1)
    assert (transfer.op, transfer.filename, transfer.mode) == ("RRQ", "/CP-8831-3PCC.cfg", "octet")
    assert transfer.outcome == "complete"
    assert transfer.bytes == size and transfer.blocks == size // 512 + 1
    assert transfer.device.ip == "127.0.0.1" and transfer.server == tftp_server.address
    assert transfer.evidence == tftp_server.evidence and transfer.duration is not None


def test_tftp_hpa_get_netascii(tftp_server: TftpServer, tmp_path: Path) -> None:
    text = b"line one\nline two\r\nbare cr\rend\n" * 40
    (tftp_server.root / "notes.txt").write_bytes(text)
    out = tmp_path / "out.txt"
    hpa(tftp_server, f"get notes.txt {out}", mode="ascii")
    assert out.read_bytes() == text
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.mode == "netascii" and transfer.bytes == len(to_netascii(text))


@pytest.mark.parametrize("size", [0, 1024, 70_001], ids=["empty", "two-blocks", "multi"])
@pytest.mark.parametrize("blksize", ["512", "1428"])
def test_atftp_get_with_options(
    tftp_server: TftpServer, tmp_path: Path, size: int, blksize: str
) -> None:
    body = content(size)
    tftp_server.add_file("/fw.bin", body)
    out = tmp_path / "out"
    atftp(
        tftp_server,
        *("--option", f"blksize {blksize}", "--option", "tsize 0"),
        *("-g", "-r", "/fw.bin", "-l", str(out)),
    )
    assert out.read_bytes() == body
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.options == {"blksize": blksize, "tsize": "0"}
    assert transfer.accepted_options == {"blksize": blksize, "tsize": str(size)}
    assert transfer.outcome == "complete" and transfer.blocks == size // int(blksize) + 1


def test_atftp_get_windowsize(tftp_server: TftpServer, tmp_path: Path) -> None:
    body = content(200_000)
    tftp_server.add_file("/fw.bin", body)
    out = tmp_path / "out"
    atftp(tftp_server, "--option", "windowsize 8", "-g", "-r", "fw.bin", "-l", str(out))
    assert out.read_bytes() == body
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.accepted_options.get("windowsize") == "8"
    assert transfer.outcome == "complete"


def test_atftp_get_netascii(tftp_server: TftpServer, tmp_path: Path) -> None:
    text = b"a\nb\r\nc\n" * 300
    (tftp_server.root / "t.txt").write_bytes(text)
    out = tmp_path / "out.txt"
    run(
        ["atftp", "127.0.0.1", str(tftp_server.port)],
        stdin=f"mode netascii\nget t.txt {out}\nquit\n",
    )
    assert out.read_bytes() == text
    assert tftp_server.wait_transfers(1)[0].mode == "netascii"


def test_block_numbers_roll_over(tftp_server: TftpServer, tmp_path: Path) -> None:
    body = content(16 * 65_540)  # 65541 blocks of 16 bytes: the 16-bit counter wraps
    tftp_server.add_file("big.bin", body)
    out = tmp_path / "out"
    atftp(
        tftp_server,
        *("--option", "blksize 16", "--option", "windowsize 32"),
        *("-g", "-r", "big.bin", "-l", str(out)),
    )
    assert out.read_bytes() == body
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.blocks == 65_541 and transfer.outcome == "complete"


@pytest.mark.parametrize("size", [0, 512, 3000])
def test_tftp_hpa_put_octet(tftp_server: TftpServer, tmp_path: Path, size: int) -> None:
    body = content(size)
    local = tmp_path / "report.log"
    local.write_bytes(body)
    hpa(tftp_server, f"put {local} /logs/report.log")
    (transfer,) = tftp_server.wait_transfers(1)
    assert (transfer.op, transfer.outcome, transfer.bytes) == ("WRQ", "complete", size)
    assert tftp_server.uploads["logs/report.log"] == body
    assert (tftp_server.write_dir / "logs" / "report.log").read_bytes() == body


def test_tftp_hpa_put_netascii(tftp_server: TftpServer, tmp_path: Path) -> None:
    text = b"status ok\nline 2\n" * 100
    local = tmp_path / "report.txt"
    local.write_bytes(text)
    hpa(tftp_server, f"put {local} report.txt", mode="ascii")
    tftp_server.wait_transfers(1)
    assert tftp_server.uploads["report.txt"] == text


def test_atftp_put_with_options(tftp_server: TftpServer, tmp_path: Path) -> None:
    body = content(50_000)
    local = tmp_path / "up.bin"
    local.write_bytes(body)
    atftp(
        tftp_server,
        *("--option", "blksize 1024", "--option", "tsize enable"),
        *("-p", "-l", str(local), "-r", "up.bin"),
    )
    (transfer,) = tftp_server.wait_transfers(1)
    assert transfer.outcome == "complete"
    assert transfer.accepted_options.get("blksize") == "1024"
    assert transfer.accepted_options.get("tsize") == str(len(body))
    assert tftp_server.uploads["up.bin"] == body


def test_missing_file_is_error_1(tftp_server: TftpServer, tmp_path: Path) -> None:
    proc = subprocess.run(
        ["tftp", "127.0.0.1", str(tftp_server.port), "-c", "get", "nope.cfg", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "Error code 1" in proc.stdout + proc.stderr
    (transfer,) = tftp_server.wait_transfers(1)
    assert (transfer.outcome, transfer.error_code) == ("refused", 1)


def test_provider_serves_per_device_profiles(tftp_server: TftpServer, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    def provider(filename: str, client: tuple[str, int]) -> bytes | None:
        seen.append((filename, client[0]))
        return (
            f"<flat-profile device='{client[0]}'/>".encode() if filename.endswith(".xml") else None
        )

    tftp_server.provider = provider
    out = tmp_path / "p.xml"
    hpa(tftp_server, f"get /spa.xml {out}")
    assert out.read_bytes() == b"<flat-profile device='127.0.0.1'/>"
    assert seen == [("/spa.xml", "127.0.0.1")]


async def test_fixture_works_in_async_tests(tftp_server: TftpServer, tmp_path: Path) -> None:
    tftp_server.add_file("/a.cfg", b"async\n")
    out = tmp_path / "a.out"
    proc = await asyncio.create_subprocess_exec(
        "tftp", "127.0.0.1", str(tftp_server.port), "-c", "get", "/a.cfg", str(out)
    )
    assert await asyncio.wait_for(proc.wait(), 20) == 0
    (transfer,) = await tftp_server.wait_transfers_async(1)
    assert transfer.outcome == "complete" and out.read_bytes() == b"async\n"


async def test_server_started_on_the_test_loop(tmp_path: Path) -> None:
    async with TftpServer(files={"/m.cfg": "mem"}) as server:
        assert server.url == f"tftp://127.0.0.1:{server.port}"
        proc = await asyncio.create_subprocess_exec(
            "tftp", "127.0.0.1", str(server.port), "-c", "get", "m.cfg", str(tmp_path / "m")
        )
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        await server.wait_transfers_async(1)
    assert (tmp_path / "m").read_bytes() == b"mem"
