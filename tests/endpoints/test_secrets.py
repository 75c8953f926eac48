"""Secrets stay secret: key log and PKI file modes, and no key or key log is ever served."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from harness.endpoints.secrets import secret_kind
from tests.clients import free_udp_port, tftp_get

KEYLOG = b"# SSL/TLS secrets log file\nCLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_tls_key_log_is_written_0600(provisioning_lab, tmp_path):
    provisioning_lab.put("a.cfg", "<flat-profile/>")
    subprocess.run(
        ["curl", "-skf", "--resolve", f"{provisioning_lab.fqdn}:{provisioning_lab.https.port}:127.0.0.1",
         f"https://{provisioning_lab.fqdn}:{provisioning_lab.https.port}/a.cfg"],
        check=True, capture_output=True, timeout=20,
    )  # fmt: skip
    keylog = tmp_path / "tls-keys.log"
    assert keylog.stat().st_size > 0
    assert _mode(keylog) == 0o600


def test_pki_init_under_umask_000(tmp_path):
    out = tmp_path / "a" / "pki"
    subprocess.run(
        [sys.executable, "-m", "harness.cli", "pki", "init", str(out), "--fqdn", "prov.example.test",
         "--device", "CP-8831-3PCC,88012BA01234,000e08abcdef", "--variants", "all"],
        check=True, capture_output=True, timeout=120, preexec_fn=lambda: os.umask(0),
    )  # fmt: skip
    files = [p for p in (tmp_path / "a").rglob("*") if p.is_file()]
    dirs = [tmp_path / "a", *(p for p in (tmp_path / "a").rglob("*") if p.is_dir())]
    assert any(p.suffix == ".key" for p in files) and any("withheld" in p.name for p in files)
    for p in files:
        assert _mode(p) == (0o600 if p.suffix == ".key" else 0o644), p
    for d in dirs:
        assert _mode(d) & ~0o755 == 0, d


@pytest.mark.parametrize("name", ["device-ca.key", "keys/tls-keys.log", "bundle.pem"])
def test_no_key_or_key_log_is_served_over_http_https_tftp(provisioning_lab, tmp_path, name):
    lab = provisioning_lab
    if name.endswith(".key"):
        data = lab.device_ca.private_key_pem.bytes()
    elif name.endswith(".pem"):  # a certificate and its key in one file
        data = lab.server_ca.cert_pem.bytes() + lab.server_ca.private_key_pem.bytes()
    else:
        data = KEYLOG
    lab.put(name, data)
    http = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{lab.http.url}/{name}"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    https = subprocess.run(
        ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
         "--resolve", f"{lab.fqdn}:{lab.https.port}:127.0.0.1",
         f"https://{lab.fqdn}:{lab.https.port}/{name}"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    got = tftp_get(lab.tftp.port, name, tmp_path / "got", free_udp_port())
    assert (http.stdout, https.stdout) == ("403", "403")
    assert "Error code 2" in got.stdout + got.stderr
    assert not (tmp_path / "got").exists() or (tmp_path / "got").read_bytes() == b""
    assert sum("never served" in p for p in lab.problems) == 3


def test_serve_refuses_a_pki_dir_inside_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "serve", "--root", str(root),
         "--pki-dir", str(root / "pki"), "--duration", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "--pki-dir" in out.stderr and "inside --root" in out.stderr
    assert not (root / "pki" / "device-ca.key").exists()


def test_secret_kind_recognises_keys_and_key_logs_only():
    assert secret_kind(b"-----BEGIN EC PRIVATE KEY-----\nabc") == "a private key"
    assert secret_kind(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n") == "a private key"
    assert secret_kind(KEYLOG) == "a TLS key log"
    assert secret_kind(b"SERVER_TRAFFIC_SECRET_0 aa bb\n") == "a TLS key log"
    assert (
        secret_kind(b"<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>") is None
    )
    assert secret_kind(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n") is None
    assert secret_kind(b"") is None
