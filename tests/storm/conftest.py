"""Servers a storm aims at: nginx serving a directory of profiles (plain or HTTPS with client
certificates), and the harness HTTP endpoint scripted to shed load above a concurrency limit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.endpoints.http import HttpServer
from harness.endpoints.http_script import Response
from harness.spec.family import load_family

PROFILE = b"<flat-profile>\n  <Station_Name>storm</Station_Name>\n</flat-profile>\n"
FAMILY = "cisco-8831-3pcc"

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port}{ssl};
        root {root};
        {tls}
    }}
}}
"""
TLS = """
        ssl_certificate {pki}/server.pem;
        ssl_certificate_key {pki}/server.key;
        ssl_client_certificate {pki}/device-ca.pem;
        ssl_verify_client on;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mac_of(number: int) -> str:
    """The MAC `Identity.for_family` gives phone number `number` (its $MA)."""
    return f"0200{number:08x}"


def write_profiles(root: Path, numbers: range | list[int]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (root / f"{mac_of(n)}.cfg").write_bytes(PROFILE)
    return root


class Nginx:
    def __init__(self, workdir: Path, root: Path, pki: Path | None = None) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "nginx.conf"
        tls = TLS.format(pki=pki) if pki else ""
        ssl = " ssl" if pki else ""
        conf.write_text(NGINX_CONF.format(d=workdir, port=self.port, root=root, tls=tls, ssl=ssl))
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(250):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("nginx did not listen within 5 s")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator:
    if not shutil.which("nginx"):
        pytest.skip("nginx not installed")
    started: list[Nginx] = []

    def start(root: Path, pki: Path | None = None) -> Nginx:
        n = Nginx(tmp_path / f"nginx{len(started)}", root, pki)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


class Shedder:
    """Load shedding as a provisioning server does it: at most `limit` requests are served
    at once (each takes `hold` seconds); any request above that gets 503 at once."""

    def __init__(self, limit: int, hold: float) -> None:
        self.limit, self.hold = limit, hold
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()
        self.shed = 0
        self.served = 0

    def __call__(self, request: object) -> Response:
        now = time.monotonic()
        with self._lock:
            while self._admitted and now - self._admitted[0] >= self.hold:
                self._admitted.popleft()
            if len(self._admitted) >= self.limit:
                self.shed += 1
                return Response(status=503, body=b"overloaded, try later\n")
            self._admitted.append(now)
            self.served += 1
        return Response(status=200, body=PROFILE, content_type="text/xml", delay=self.hold)


@pytest.fixture
def shedding_server() -> Iterator:
    """`harness serve`'s HTTP endpoint scripted to shed load: the family's /$PN.cfg paths."""

    def start(limit: int, hold: float) -> tuple[HttpServer, Shedder]:
        shedder = Shedder(limit, hold)
        server = HttpServer()
        for product in load_family(FAMILY).products:
            server.expect(f"/{product}.cfg").respond_with(shedder)
        servers.append(server.start())
        return server, shedder

    servers: list[HttpServer] = []
    yield start
    for s in servers:
        s.stop()
