"""Byte compatibility with the openssl and gzip command lines, both directions, both digests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.profiles import (
    ProfileError,
    decrypt_profile,
    encrypt_profile,
    gunzip_profile,
    gzip_profile,
    load_profile_bytes,
    render_xml_profile,
)

pytestmark = [
    pytest.mark.requirement("PROFILE-AES"),
    pytest.mark.skipif(not shutil.which("openssl"), reason="openssl command line not installed"),
]

PARAMS = {"Resync_Periodic": "30", "Profile_Rule": "https://prov.example.test/$MA.cfg"}
DIGESTS = ["md5", "sha256"]


def openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def salted(data: bytes, salt: bytes) -> bytes:
    """OpenSSL 3 leaves out the `Salted__` header when the salt is given with -S."""
    return data if data.startswith(b"Salted__") else b"Salted__" + salt + data


@pytest.mark.parametrize("digest", DIGESTS)
def test_openssl_encrypts_harness_decrypts(tmp_path: Path, digest: str) -> None:
    plain = tmp_path / "p.xml"
    plain.write_bytes(render_xml_profile(PARAMS))
    enc = tmp_path / "p.cfg"
    openssl("enc", "-e", "-aes-256-cbc", "-md", digest, "-k", "s3cret pass", "-in", str(plain),
            "-out", str(enc))  # fmt: skip
    data = enc.read_bytes()
    assert decrypt_profile(data, "s3cret pass", digest) == plain.read_bytes()
    assert load_profile_bytes(data, "s3cret pass", digest) == PARAMS


@pytest.mark.parametrize("digest", DIGESTS)
def test_harness_encrypts_openssl_decrypts(tmp_path: Path, digest: str) -> None:
    body = render_xml_profile(PARAMS)
    enc = tmp_path / "p.cfg"
    enc.write_bytes(encrypt_profile(body, "k€y", digest))
    out = tmp_path / "p.out"
    openssl("enc", "-d", "-aes-256-cbc", "-md", digest, "-k", "k€y", "-in", str(enc),
            "-out", str(out))  # fmt: skip
    assert out.read_bytes() == body


@pytest.mark.parametrize("digest", DIGESTS)
def test_same_salt_gives_the_same_bytes_as_openssl(tmp_path: Path, digest: str) -> None:
    body = b'Resync_Periodic "30" ;\n'
    plain = tmp_path / "p.txt"
    plain.write_bytes(body)
    salt = bytes.fromhex("0102030405060708")
    enc = tmp_path / "p.cfg"
    openssl("enc", "-e", "-aes-256-cbc", "-md", digest, "-k", "pw", "-S", salt.hex(),
            "-in", str(plain), "-out", str(enc))  # fmt: skip
    assert encrypt_profile(body, "pw", digest, salt=salt) == salted(enc.read_bytes(), salt)


@pytest.mark.requirement("PROFILE-GZIP")
@pytest.mark.parametrize("digest", DIGESTS)
def test_gzip_then_openssl_is_read_by_harness(tmp_path: Path, digest: str) -> None:
    plain = tmp_path / "p.xml"
    plain.write_bytes(render_xml_profile(PARAMS))
    gz = tmp_path / "p.xml.gz"
    gz.write_bytes(subprocess.run(["gzip", "-c", str(plain)], capture_output=True,
                                  check=True).stdout)  # fmt: skip
    enc = tmp_path / "p.cfg"
    openssl("enc", "-e", "-aes-256-cbc", "-md", digest, "-k", "K", "-in", str(gz),
            "-out", str(enc))  # fmt: skip
    assert load_profile_bytes(enc.read_bytes(), "K", digest) == PARAMS


@pytest.mark.requirement("PROFILE-GZIP")
def test_harness_gzip_is_read_by_gzip(tmp_path: Path) -> None:
    body = render_xml_profile(PARAMS)
    gz = tmp_path / "p.gz"
    gz.write_bytes(gzip_profile(body))
    out = subprocess.run(["gzip", "-dc", str(gz)], capture_output=True, check=True).stdout
    assert out == body
    assert gunzip_profile(gz.read_bytes()) == body


@pytest.mark.parametrize("digest", DIGESTS)
def test_wrong_key_or_wrong_digest_is_a_profile_error(tmp_path: Path, digest: str) -> None:
    plain = tmp_path / "p.xml"
    plain.write_bytes(render_xml_profile(PARAMS))
    enc = tmp_path / "p.cfg"
    # a fixed salt keeps this deterministic (a random one gives valid-looking padding 1 in 256)
    openssl("enc", "-e", "-aes-256-cbc", "-md", digest, "-k", "right", "-S", "a1a2a3a4a5a6a7a8",
            "-in", str(plain), "-out", str(enc))  # fmt: skip
    data = salted(enc.read_bytes(), bytes.fromhex("a1a2a3a4a5a6a7a8"))
    assert load_profile_bytes(data, "right", digest) == PARAMS
    with pytest.raises(ProfileError, match="wrong key"):
        load_profile_bytes(data, "wrong", digest)
    other = "sha256" if digest == "md5" else "md5"
    with pytest.raises(ProfileError):
        load_profile_bytes(data, "right", other)
