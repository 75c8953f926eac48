"""TFTP uploads under quotas: a flood of uploads is refused with ERROR 3 once a quota is reached.

The server side runs twice: the fixture's in-memory server (a cap on `uploads`) and
`harness serve` (read-only by default; `--allow-upload DIR` with quotas) driven by tftp-hpa.
"""

from __future__ import annotations

import re
import subprocess
import sys

from harness.endpoints.tftp import TftpServer
from harness.wire.tftp import Ack, Error
from tests.endpoints.test_tftp_rawclient import RawClient


def test_upload_flood_stops_at_the_total_quota(tftp_server: TftpServer) -> None:
    tftp_server.upload_quota = 10_000
    answers = []
    with RawClient(tftp_server.address) as client:
        for i in range(20):
            answers.append(client.write(f"flood-{i}.bin", bytes([i]) * 1500))
    transfers = tftp_server.wait_transfers(20)
    assert sum(t.error_code == 3 for t in transfers) == 14
    accepted = [a for a in answers if isinstance(a, Ack)]
    refused = [a for a in answers if isinstance(a, Error)]
    assert len(accepted) == 6 and len(refused) == 14  # 6 x 1500 <= 10,000 < 7 x 1500
    assert all(a.code == 3 for a in refused)
    assert sum(len(v) for v in tftp_server.uploads.values()) <= 10_000
    assert tftp_server.upload_bytes <= 10_000
    on_disk = sum(p.stat().st_size for p in tftp_server.write_dir.rglob("*") if p.is_file())
    assert on_disk <= 10_000
    assert not list(tftp_server.write_dir.rglob("*.part"))  # refused uploads leave nothing
    assert sum("total upload quota" in p for p in tftp_server.problems) == 14


def test_per_file_quota_is_announced_as_a_problem(tftp_server: TftpServer) -> None:
    tftp_server.max_upload = 1000
    with RawClient(tftp_server.address) as client:
        assert client.write("big", b"x" * 2000).code == 3
    tftp_server.wait_transfers(1)
    assert any("per-file quota of 1000 bytes" in p for p in tftp_server.problems)
    assert tftp_server.upload_bytes == 0


def test_read_only_refusal_is_a_problem(tftp_server: TftpServer) -> None:
    tftp_server.writable = False
    with RawClient(tftp_server.address) as client:
        answer = client.write("up.log", b"x")
    assert isinstance(answer, Error) and answer.code == 2
    assert any("read-only" in p for p in tftp_server.problems)


def _serve(tmp_path, *args):
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(root), "--duration", "60",
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.match(r"\s+tftp\s+tftp://127.0.0.1:(\d+)", line):
            return proc, m.group(1)
    raise AssertionError("harness serve printed no TFTP URL")


def _put(port: str, local, remote: str) -> str:
    got = subprocess.run(
        ["tftp", "127.0.0.1", port, "-m", "binary", "-c", "put", str(local), remote],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return got.stdout + got.stderr


def test_serve_is_read_only_by_default(tmp_path) -> None:
    proc, port = _serve(tmp_path)
    try:
        (tmp_path / "up.bin").write_bytes(b"x" * 100)
        assert "Error code 2" in _put(port, tmp_path / "up.bin", "up.bin")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "read-only" in out
    assert not (tmp_path / "root" / "up.bin").exists()


def test_serve_upload_flood_with_quotas(tmp_path) -> None:
    uploads = tmp_path / "uploads"
    proc, port = _serve(
        tmp_path, "--allow-upload", str(uploads), "--upload-max-file", "4K", "--upload-quota", "10K"
    )
    try:
        (tmp_path / "big.bin").write_bytes(b"b" * 5000)
        assert "Error code 3" in _put(port, tmp_path / "big.bin", "big.bin")
        (tmp_path / "ok.bin").write_bytes(b"o" * 3000)
        outputs = [_put(port, tmp_path / "ok.bin", f"ok-{i}.bin") for i in range(6)]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert [("Error code 3" in o) for o in outputs] == [False] * 3 + [True] * 3
    stored = sorted(p.name for p in uploads.iterdir())
    assert stored == ["ok-0.bin", "ok-1.bin", "ok-2.bin"]
    assert all((uploads / n).read_bytes() == b"o" * 3000 for n in stored)
    assert "per-file quota of 4096 bytes" in out
    assert out.count("total upload quota of 10240 bytes") == 3
