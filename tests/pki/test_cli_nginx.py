"""`harness pki init` output used by real servers and clients: nginx with client certs, curl."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.cli import main

FQDN = "prov.example.test"
DEVICE = "CP-8831-3PCC,88012BA01234,000e08abcdef"

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 16; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {fqdn};
        ssl_certificate {pki}/server.pem;
        ssl_certificate_key {pki}/server.key;
        ssl_client_certificate {pki}/device-ca.pem;
        ssl_verify_client on;
        location / {{ return 200 "serial=$ssl_client_s_dn\\n"; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_init_writes_the_pki(tmp_path, capsys):
    out = tmp_path / "pki"
    rc = main(["pki", "init", str(out), "--fqdn", FQDN, "--device", DEVICE, "--variants", "all"])
    assert rc == 0
    printed = capsys.readouterr().out
    for name in ("server-ca.pem", "device-ca.key", "server.pem", "variants/md5.pem",
                 "clients/88012BA01234.key", "clients/generic.pem"):  # fmt: skip
        assert (out / name).exists(), name
        assert str(out / name) in printed
    keys = list(out.rglob("*.key"))
    assert len(keys) == 2 + 1 + 14 + 2
    assert all(k.stat().st_mode & 0o777 == 0o600 for k in keys)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "CP-8831-3PCC,88012BA01234"], "PRODUCT,SERIAL,MAC"),
        (["--device", "CP-8831-3PCC,88012BA01234,zz0e08abcdef"], "not 12 hex digits"),
        (["--variants", "valid,bogus"], "unknown bogus"),
    ],
)
def test_init_rejects_bad_arguments(tmp_path, capsys, argv, message):
    rc = main(["pki", "init", str(tmp_path / "x"), "--fqdn", FQDN, *argv])
    assert rc == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")
def test_nginx_and_curl_accept_the_generated_pki(tmp_path):
    pki = tmp_path / "pki"
    assert main(["pki", "init", str(pki), "--fqdn", FQDN, "--device", DEVICE]) == 0
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=tmp_path, port=port, fqdn=FQDN, pki=pki))
    nginx = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):  # wait until it listens (or died)
            if nginx.poll() is not None:
                pytest.fail(f"nginx exited: {nginx.stderr.read().decode()}")  # type: ignore[union-attr]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        curl = ["curl", "-sS", "--cacert", str(pki / "server-ca.pem"),
                "--resolve", f"{FQDN}:{port}:127.0.0.1", "-o", "-", "-w", "\\n%{http_code}"]  # fmt: skip
        url = f"https://{FQDN}:{port}/"
        ok = subprocess.run(
            [*curl, "--cert", str(pki / "clients/88012BA01234.pem"),
             "--key", str(pki / "clients/88012BA01234.key"), url],  # fmt: skip
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert ok.stdout.strip().endswith("200"), ok.stdout + ok.stderr
        assert "OU=CP-8831-3PCC" in ok.stdout and "L=88012BA01234" in ok.stdout
        # without a client certificate nginx refuses (400: no required SSL certificate)
        no_cert = subprocess.run([*curl, url], capture_output=True, text=True, timeout=30)
        assert no_cert.stdout.strip().endswith("400"), no_cert.stdout + no_cert.stderr
        # a server CA the client does not trust: curl refuses
        other = Path(pki / "device-ca.pem")
        bad = subprocess.run(
            ["curl", "-sS", "--cacert", str(other), "--resolve", f"{FQDN}:{port}:127.0.0.1", url],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert bad.returncode == 60, bad.stderr
    finally:
        nginx.kill()
        nginx.wait(timeout=10)
