"""`ProvisioningLab`: the whole endpoint set (TFTP, HTTP, HTTPS, syslog, DNS) wired together.

One recorder and one clock for all endpoints, one root directory served by
TFTP, HTTP and HTTPS, a server CA and a device CA, and the lab's own DNS name
(`prov.example.test` by default) pointing at the HTTPS server. Used by the
`provisioning_lab` fixture, `harness serve` and `harness demo`. Wiring only:
protocol code lives in each endpoint's module, judging in harness.rules.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

from harness.clock import REAL_CLOCK, Clock
from harness.endpoints.base import Endpoint, Service
from harness.endpoints.dns import DnsServer
from harness.endpoints.http import HttpServer
from harness.endpoints.https import HttpsServer
from harness.endpoints.settle import DEFAULT_QUIET, DEFAULT_TIMEOUT, settle, settle_async
from harness.endpoints.syslog import SyslogServer
from harness.endpoints.tftp import TftpServer
from harness.observe.events import Observation
from harness.observe.recorder import Recorder
from harness.observe.timeline import DeviceTimeline, build_timelines
from harness.pki import CA, DeviceCA, ServerCA
from harness.rules.finding import Finding
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec.family import load_family

DEFAULT_FQDN = "prov.example.test"


class ProvisioningLab(Service):
    def __init__(
        self,
        root: str | Path | None = None,
        *,
        fqdn: str = DEFAULT_FQDN,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        keylog_path: str | Path | None = None,
        server_ca: CA | None = None,
        device_ca: CA | None = None,
        client_cert: str = "optional",
        ports: dict[str, int] | None = None,
        tftp_options: dict[str, Any] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self._own_root = root is None
        self.root = (
            Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="harness-lab-"))
        )
        self.root.mkdir(parents=True, exist_ok=True)
        self.fqdn = fqdn
        self.host = host
        self.clock = clock or REAL_CLOCK
        self.recorder = recorder if recorder is not None else Recorder()
        self.server_ca = server_ca or ServerCA()
        self.device_ca = device_ca or DeviceCA()
        ports = ports or {}
        common: dict[str, Any] = {"host": host, "clock": self.clock, "recorder": self.recorder}
        self.tftp = TftpServer(
            self.root, port=ports.get("tftp", 0), **(tftp_options or {}), **common
        )
        self.http = HttpServer(root=self.root, port=ports.get("http", 0), **common)
        self.https = HttpsServer(
            ca=self.server_ca,
            fqdn=fqdn,
            client_cert=client_cert,
            client_ca=self.device_ca,
            keylog_path=keylog_path,
            root=self.root,
            port=ports.get("https", 0),
            **common,
        )
        self.syslog = SyslogServer(port=ports.get("syslog", 0), **common)
        self.dns = DnsServer(port=ports.get("dns", 0), **common)
        self.dns.add_a(fqdn, host)

    @property
    def endpoints(self) -> list[Endpoint]:
        return [self.tftp, self.http, self.https, self.syslog, self.dns]

    # -- life cycle ---------------------------------------------------------------
    async def start_async(self) -> Self:
        started: list[Endpoint] = []
        try:
            for ep in self.endpoints:
                wanted = ep.port
                try:
                    await ep.start_async()
                except OSError as exc:  # say which protocol and port, whatever the endpoint
                    port = wanted or "an ephemeral port"
                    raise OSError(
                        exc.errno, f"{ep.name}: cannot bind {ep.host}:{port}: {exc.strerror or exc}"
                    ) from exc
                started.append(ep)
        except BaseException:
            for ep in reversed(started):
                await ep.stop_async()
            raise
        return self

    async def stop_async(self) -> None:
        for ep in reversed(self.endpoints):
            await ep.stop_async()
        self.recorder.close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- content ------------------------------------------------------------------
    def put(self, name: str, data: bytes | str) -> Path:
        """Serve `data` as `/name` over TFTP, HTTP and HTTPS."""
        path = self.root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def urls(self) -> dict[str, str]:
        return {
            "tftp": self.tftp.url,
            "http": self.http.url,
            "https": self.https.url,
            "syslog": self.syslog.url,
            "dns": self.dns.url,
        }

    # -- records ------------------------------------------------------------------
    @property
    def observations(self) -> list[Observation]:
        """The observations in memory (all, or the recorder's recent window)."""
        return self.recorder.observations

    def subscribe_problems(self, listener: Callable[[str, str], None]) -> None:
        """Call `listener(endpoint_name, text)` for each problem as it is noted."""
        for ep in self.endpoints:
            ep.problem_listeners.append(lambda text, name=ep.name: listener(name, text))

    @property
    def problems(self) -> list[str]:
        return [f"{ep.name}: {p}" for ep in self.endpoints for p in ep.problems]

    def timelines(self) -> list[DeviceTimeline]:
        """Per-device timelines of everything recorded (read back from the journal if any)."""
        return build_timelines(list(self.recorder.history()))

    def settle(self, *, quiet: float = DEFAULT_QUIET, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """Block until every endpoint has recorded what reached it: no request, transfer or
        TLS connection in progress, no datagram queued, for `quiet` s. False after `timeout`.
        (On the endpoints' own loop it cannot wait: await `settle_async()` there.)"""
        return settle(self.endpoints, quiet=quiet, timeout=timeout)

    async def settle_async(
        self, *, quiet: float = DEFAULT_QUIET, timeout: float = DEFAULT_TIMEOUT
    ) -> bool:
        """Await until every endpoint has recorded what reached it (see `settle`)."""
        return await settle_async(self.endpoints, quiet=quiet, timeout=timeout)

    def evaluate(
        self,
        family: str = "cisco-8831-3pcc",
        *,
        identity: DeviceIdentity | None = None,
        parameters: dict[str, str] | None = None,
        only: Iterable[str] | None = None,
    ) -> list[Finding]:
        """Judge what the lab recorded with the spec rules, after `settle()`: a request
        answered a moment ago is judged too."""
        self.settle()
        return self._judge(family, identity, parameters, only)

    async def evaluate_async(
        self,
        family: str = "cisco-8831-3pcc",
        *,
        identity: DeviceIdentity | None = None,
        parameters: dict[str, str] | None = None,
        only: Iterable[str] | None = None,
    ) -> list[Finding]:
        """`evaluate()` for code running on the endpoints' own loop: awaits `settle_async()`."""
        await self.settle_async()
        return self._judge(family, identity, parameters, only)

    def _judge(
        self,
        family: str,
        identity: DeviceIdentity | None,
        parameters: dict[str, str] | None,
        only: Iterable[str] | None,
    ) -> list[Finding]:
        ctx = RuleContext(
            load_family(family),
            identity or DeviceIdentity(),
            dict(parameters or {}),
            facts={"syslog_server": self.syslog.url},
        )
        return evaluate(self.timelines(), ctx, only=only)
