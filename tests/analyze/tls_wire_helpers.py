"""Stock TLS servers and clients for the TLS-from-the-wire tests: openssl s_server per
certificate variant, curl -k (accepts anything), and a spec-following Python client."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.spec.cert_name import cn_matches_host

FQDN = "prov.example.test"
UA = "cisco/CP-8831-3PCC (88012BA01234)"
PATH = "/www/CP-8831-3PCC.cfg"
TABLE_3_2_OPENSSL = "DHE-RSA-AES256-SHA:AES256-SHA:DHE-RSA-AES128-SHA:AES128-SHA"
PROFILE = b"<flat-profile><Resync_Periodic>30</Resync_Periodic></flat-profile>\n"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def s_servers(
    pki: Path, variants: list[str], root: Path, tls: str, server_args: list[str] | None = None
) -> Iterator[dict[str, int]]:
    """One `openssl s_server -WWW` per variant (serving files under `root`); variant -> port.
    `tls` "1.2" pins TLS 1.2 with AES128-SHA, "1.3" TLS 1.3; `server_args` replace both."""
    (root / "www").mkdir(parents=True, exist_ok=True)
    (root / PATH.lstrip("/")).write_bytes(PROFILE)
    procs, ports = [], {}
    extra = ["-tls1_2", "-cipher", "AES128-SHA"] if tls == "1.2" else ["-tls1_3"]
    extra = server_args if server_args is not None else extra
    try:
        for v in variants:
            port = free_tcp_port()
            stem = pki / "variants" / v
            procs.append(
                subprocess.Popen(
                    ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-WWW", "-quiet"]
                    + [
                        "-cert",
                        str(stem.with_suffix(".pem")),
                        "-key",
                        str(stem.with_suffix(".key")),
                    ]
                    + extra,
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            ports[v] = port
        for port in ports.values():
            wait_port(port)
        yield ports
    finally:
        for p in procs:
            p.kill()
            p.wait()


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type text/plain;
{servers}
}}
"""
NGINX_SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {fqdn};
        root {root};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {tls}
    }}
"""


@contextlib.contextmanager
def nginx_servers(pki: Path, variants: list[str], root: Path, tls: str) -> Iterator[dict[str, int]]:
    """One nginx, one HTTPS server block per variant on its own port; variant -> port.
    `tls` "1.2" pins TLS 1.2 with AES256-SHA (a CBC suite of Table 3-2), "1.3" TLS 1.3."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx not installed")
    (root / "www").mkdir(parents=True, exist_ok=True)
    (root / PATH.lstrip("/")).write_bytes(PROFILE)
    d = root / "nginx"
    d.mkdir(exist_ok=True)
    pins = (
        "ssl_protocols TLSv1.2; ssl_ciphers AES256-SHA;"
        if tls == "1.2"
        else "ssl_protocols TLSv1.3;"
    )
    ports = {v: free_tcp_port() for v in variants}
    blocks = "".join(
        NGINX_SERVER.format(
            port=port,
            fqdn=FQDN,
            root=root,
            tls=pins,
            cert=pki / "variants" / f"{v}.pem",
            key=pki / "variants" / f"{v}.key",
        )  # fmt: skip
        for v, port in ports.items()
    )
    conf = d / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=d, servers=blocks))
    proc = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for port in ports.values():
            wait_port(port)
        yield ports
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def curl_insecure(port: int, keylog: Path, args: tuple[str, ...] = ()) -> int:
    """curl -k: the faulty client, accepts any certificate. Returns the HTTP status (0: none)."""
    out = subprocess.run(
        ["curl", "-s", "-k", *args, "-A", UA, "--resolve", f"{FQDN}:{port}:127.0.0.1"]
        + ["-o", "/dev/null", "-w", "%{http_code}", f"https://{FQDN}:{port}{PATH}"],
        env={**os.environ, "SSLKEYLOGFILE": str(keylog)},
        capture_output=True,
        text=True,
        timeout=20,
    )
    return int(out.stdout or 0)


def spec_client(port: int, ca: Path, keylog: Path) -> bool:
    """A client that follows the spec: CA and validity checked by OpenSSL, the name by the
    spec's CN rule (FQDN or FQDN/anything); refuses by closing before any request.
    Returns whether it fetched the profile."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False  # OpenSSL compares the whole CN: the spec's rule is below
    ctx.set_ciphers(TABLE_3_2_OPENSSL)  # TLS 1.2 and below: what a phone offers
    ctx.keylog_filename = str(keylog)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            tls = ctx.wrap_socket(raw, server_hostname=FQDN)
        except ssl.SSLError:
            return False  # refused in the handshake (unknown CA, expired...): an alert
        with tls:
            cert = tls.getpeercert()
            cns = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
            if not any(cn_matches_host(cn, FQDN) for cn in cns):
                with contextlib.suppress(OSError):
                    tls.unwrap()  # close_notify
                return False  # refused after the handshake: close before any data
            tls.sendall(f"GET {PATH} HTTP/1.0\r\nHost: {FQDN}\r\nUser-Agent: {UA}\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
            return data.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]


def tshark_http(cap: Path, keylog: Path) -> list[tuple[str, str, str, int]]:
    """(method, uri, user-agent, status) per exchange as tshark decrypts them, via pyshark
    (the tshark oracle). tshark waits for the end of a body delimited by the close, so body
    desegmenting is off: the status line shows at once."""
    from harness.analyze.verify import tshark_packets

    prefs = {"tls.keylog_file": str(keylog), "http.desegment_body": "FALSE"}
    reqs, statuses = [], []
    with tshark_packets(cap, "http", prefs=prefs) as pkts:
        for pkt in pkts:
            h = pkt.http
            if hasattr(h, "request_method"):
                reqs.append((h.request_method, h.request_uri, h.user_agent))
            elif hasattr(h, "response_code"):
                statuses.append(int(h.response_code))
    return [(*r, s) for r, s in zip(reqs, statuses, strict=True)]


def s_client(port: int, ca: Path, keylog: Path, tls: str = "1.2") -> bool:
    """`openssl s_client -verify_return_error`: refuses an untrusted server with a fatal
    alert (unknown_ca), else sends a GET. Returns whether it got a 200."""
    pin = ["-tls1_2", "-cipher", "AES128-SHA"] if tls == "1.2" else ["-tls1_3"]
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", FQDN,
         "-CAfile", str(ca), "-verify_return_error", "-keylogfile", str(keylog), "-quiet", *pin],
        input=f"GET {PATH} HTTP/1.0\r\nHost: {FQDN}\r\nUser-Agent: {UA}\r\n\r\n".encode(),
        capture_output=True,
        timeout=20,
    )  # fmt: skip
    return out.stdout.startswith(b"HTTP/1.0 200")
