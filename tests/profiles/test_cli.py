"""`harness profile ...` through the installed console script, against openssl and gzip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.profiles import render_xml_profile

HARNESS = str(Path(sys.executable).with_name("harness"))
PARAMS = {"Resync_Periodic": "30", "GPP_A": "hello world"}


def harness(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([HARNESS, "profile", *args], input=stdin, capture_output=True, timeout=60)


@pytest.fixture
def profile_xml(tmp_path: Path) -> Path:
    path = tmp_path / "p.xml"
    path.write_bytes(render_xml_profile(PARAMS))
    return path


@pytest.mark.requirement("PROFILE-AES")
@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
@pytest.mark.parametrize("digest", ["md5", "sha256"])
def test_compress_encrypt_show_decrypt_decompress(
    tmp_path: Path, profile_xml: Path, digest: str
) -> None:
    gz, enc, back_gz, back = (tmp_path / n for n in ("p.gz", "p.enc", "b.gz", "b.xml"))
    assert harness("compress", "-i", str(profile_xml), "-o", str(gz)).returncode == 0
    r = harness("encrypt", "-i", str(gz), "-o", str(enc), "--key", "pw", "--digest", digest)
    assert r.returncode == 0, r.stderr
    # openssl reads what harness wrote
    out = subprocess.run(
        ["openssl", "enc", "-d", "-aes-256-cbc", "-md", digest, "-k", "pw", "-in", str(enc)],
        capture_output=True,
        check=True,
    ).stdout
    assert subprocess.run(["gzip", "-dc"], input=out, capture_output=True).stdout == (
        profile_xml.read_bytes()
    )
    shown = harness("show", "-i", str(enc), "--key", "pw", "--digest", digest)
    assert shown.returncode == 0, shown.stderr
    assert b"Resync_Periodic" in shown.stdout and b"hello world" in shown.stdout
    r = harness("decrypt", "-i", str(enc), "-o", str(back_gz), "-k", "pw", "--digest", digest)
    assert r.returncode == 0, r.stderr
    assert harness("decompress", "-i", str(back_gz), "-o", str(back)).returncode == 0
    assert back.read_bytes() == profile_xml.read_bytes()


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_decrypts_what_openssl_wrote_via_pipes(tmp_path: Path, profile_xml: Path) -> None:
    enc = subprocess.run(
        ["openssl", "enc", "-aes-256-cbc", "-md", "sha256", "-k", "K", "-in", str(profile_xml)],
        capture_output=True,
        check=True,
    ).stdout
    r = harness("decrypt", "--key", "K", "--digest", "sha256", stdin=enc)
    assert r.returncode == 0, r.stderr
    assert r.stdout == profile_xml.read_bytes()


def test_errors_are_one_line_and_exit_1(tmp_path: Path, profile_xml: Path) -> None:
    enc = tmp_path / "p.enc"
    assert harness("encrypt", "-i", str(profile_xml), "-o", str(enc), "-k", "a").returncode == 0
    wrong = harness("show", "-i", str(enc), "-k", "b")
    assert wrong.returncode == 1 and b"wrong key" in wrong.stderr
    no_key = harness("show", "-i", str(enc))
    assert no_key.returncode == 1 and b"give --key" in no_key.stderr
    missing = harness("decompress", "-i", str(tmp_path / "nope"))
    assert missing.returncode == 1 and b"No such file" in missing.stderr
    assert harness("encrypt", "-i", str(profile_xml)).returncode == 2  # --key required
