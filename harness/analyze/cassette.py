"""Cassettes: the responses recorded in a capture, served again by the harness's endpoints.

`Cassette.from_pcap(path, device=None, strict=True)` walks the capture once
with the analyzer's public pieces (reader, packet decoder, TCP reassembly,
`HttpConnection`, `TftpTracker`) and keeps, per request, the recorded answer:
HTTP status, headers and body; TFTP file bytes or error. `install(http_server)`
scripts an `HttpServer` (`expect(url, method=).respond(...).then(...)`, one
step per recorded answer, in order; the last repeats) and
`install_tftp(tftp_server)` gives a `TftpServer` the files (or the recorded
ERROR as a fault), so a field capture becomes a reproducible test.

Limits, said out loud: bodies are kept up to the analyzer's `BODY_KEEP`
(256 KiB); a longer body is marked `complete=False` and not installed (strict
raises). HTTPS bodies are not in a capture. A truncated or corrupt capture is a
`CassetteError` when `strict` (else its problems are listed in `.problems`).
No sockets here (the servers given to install() do the serving).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.analyze.http import HttpConnection, looks_like_http
from harness.analyze.tcp import TcpDirection
from harness.analyze.tftp import TftpTracker, parse_request
from harness.capture.packets import ICMP_UNREACHABLE, PacketDecoder, ip_text
from harness.capture.reader import CaptureFormatError, CaptureReader
from harness.observe.events import DeviceKey, HttpExchange, Observation, TftpTransfer
from harness.spec.user_agent import identify_user_agent

DROP_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "proxy-connection"}
)
TFTP_PORT = 69


class CassetteError(ValueError):
    """The capture cannot become a cassette (message says where and why)."""


@dataclass(frozen=True)
class RecordedHttp:
    """One HTTP request and the answer recorded for it."""

    exchange: HttpExchange
    body: bytes

    @property
    def complete(self) -> bool:
        """The whole response body is here (not cut at BODY_KEEP, not cut by the capture)."""
        ex = self.exchange
        return ex.outcome == "answered" and (ex.response_bytes or 0) == len(self.body)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The recorded response headers a server may send again (framing ones dropped)."""
        return tuple(
            (k, v) for k, v in self.exchange.response_headers if k.lower() not in DROP_HEADERS
        )


@dataclass(frozen=True)
class RecordedTftp:
    """One TFTP transfer and the file bytes (or error) recorded for it."""

    transfer: TftpTransfer
    body: bytes


@dataclass
class Cassette:
    path: str
    http: list[RecordedHttp] = field(default_factory=list)
    tftp: list[RecordedTftp] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    # -- building -------------------------------------------------------------------
    @classmethod
    def from_pcap(
        cls, path: str | Path, *, device: str | None = None, strict: bool = True
    ) -> Cassette:
        """Read a capture (see the module docstring); `device` keeps one device's requests."""
        try:
            records, problems = _record(Path(path))
        except CaptureFormatError as exc:
            raise CassetteError(str(exc)) from None
        except OSError as exc:
            raise CassetteError(f"{path}: {exc.strerror or exc}") from None
        if problems and strict:
            raise CassetteError(
                f"{path}: the capture is damaged ({'; '.join(problems[:3])}); a cassette from it "
                "would serve partial answers. Use strict=False to keep what came before."
            )
        cassette = cls(str(path), problems=list(problems))
        for obs, body in records:
            if device is not None and not device_matches(obs.device, device):
                continue
            if isinstance(obs, HttpExchange):
                cassette.http.append(RecordedHttp(obs, body))
            elif isinstance(obs, TftpTransfer) and obs.op == "RRQ":
                cassette.tftp.append(RecordedTftp(obs, body))
        cassette.http.sort(key=lambda r: r.exchange.time)
        cassette.tftp.sort(key=lambda r: r.transfer.time)
        return cassette

    # -- serving ----------------------------------------------------------------------
    def install(self, http_server, *, strict: bool = True) -> int:  # noqa: ANN001 - HttpServer
        """Script `http_server` with the recorded answers; the number of steps added.

        Requests are grouped by (method, request target) in first-seen order; each
        group's answers become successive steps. A request without a recorded
        answer becomes a `close()` step. A body not kept whole is a CassetteError
        when `strict`, else that answer is left out (listed in `.problems`).
        """
        groups: dict[tuple[str, str], list[RecordedHttp]] = {}
        for rec in self.http:
            ex = rec.exchange
            if not ex.url.startswith("/") and not ex.url.lower().startswith("http"):
                self.problems.append(f"frame {_first(ex)}: request target {ex.url!r} not served")
                continue
            groups.setdefault((ex.method, ex.url), []).append(rec)
        steps = 0
        for (method, url), recs in groups.items():
            expectation = None
            for rec in recs:
                ex = rec.exchange
                if ex.status is not None and not self._servable(rec, strict):
                    continue
                if expectation is None:
                    expectation = http_server.expect(url, method=method)
                if ex.status is None:
                    expectation.close()
                else:
                    expectation.respond(
                        ex.status, rec.body, headers=rec.headers(), reason=ex.reason or None
                    )
                steps += 1
        return steps

    def _servable(self, rec: RecordedHttp, strict: bool) -> bool:
        ex = rec.exchange
        if rec.complete or ex.method == "HEAD" or ex.status in (204, 304):
            return True
        why = (
            f"frame {_first(ex)}: {ex.method} {ex.url} answered {ex.status} with "
            f"{ex.response_bytes} body bytes, {len(rec.body)} kept ({ex.outcome})"
        )
        if strict:
            raise CassetteError(why + "; install(strict=False) leaves it out")
        self.problems.append(why + ": left out")
        return False

    def install_tftp(self, tftp_server, *, strict: bool = True) -> int:  # noqa: ANN001
        """Give `tftp_server` the recorded files (ERRORs as faults); the number of names."""
        done: set[str] = set()
        for rec in self.tftp:
            t = rec.transfer
            name = t.filename
            if name in done:
                continue
            if t.outcome == "complete":
                tftp_server.add_file(name, rec.body)
            elif t.outcome == "error" and t.error_code is not None:
                tftp_server.fault(name).error(t.error_code, t.error_message or "")
            else:
                why = f"frame {_first(t)}: TFTP {name!r} ended {t.outcome}: nothing to serve"
                if strict:
                    raise CassetteError(why + "; install_tftp(strict=False) leaves it out")
                self.problems.append(why)
                continue
            done.add(name)
        return len(done)


def _first(obs: Observation) -> int | str:
    return obs.evidence.frames[0] if obs.evidence.frames else "?"


def device_matches(key: DeviceKey, wanted: str) -> bool:
    """Does a device key answer to `wanted` (IP, MAC with or without separators, serial)?"""
    w = wanted.strip().lower()
    mac = w.replace(":", "").replace("-", "").replace(".", "")
    return (
        w == (key.ip or "").lower()
        or (bool(key.mac) and mac == key.mac.lower())
        or w == (key.serial or "").lower()
    )


# -- one pass over the capture, keeping bodies --------------------------------------------
class _Flow:
    """One TCP connection: reassembly per direction feeding one HttpConnection."""

    def __init__(self, client: tuple, conn: HttpConnection, clock: _BodyPass) -> None:
        self.client = client
        self.conn = conn
        self.typed = False
        self.c2s = TcpDirection(lambda data, frame: self.deliver(True, data, frame))
        self.s2c = TcpDirection(lambda data, frame: self.deliver(False, data, frame))
        self.clock = clock
        self.dead = False

    def deliver(self, from_client: bool, data: bytes, frame: int) -> None:
        if self.dead:
            return
        if not self.typed:
            if not looks_like_http(data):
                self.dead = True  # not HTTP (TLS, SSH...): nothing for a cassette
                return
            self.typed = True
        if from_client:
            self.conn.client_data(data, frame, self.clock.now)
        else:
            self.conn.server_data(data, frame, self.clock.now)


class _BodyPass:
    """Walk a capture once; collect (observation, response body) pairs and problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = f"capture:{path}"
        self.out: list[tuple[Observation, bytes]] = []
        self.problems: list[str] = []
        self.now = 0.0

    def emit(self, obs: Observation, body: bytes) -> None:
        ua = getattr(obs, "user_agent", None)
        parts = identify_user_agent(ua)[1] if ua else None
        if parts is not None:
            d = obs.device
            key = DeviceKey(d.ip, parts.mac or d.mac, parts.serial or d.serial, parts.product)
            obs = dataclasses.replace(obs, device=key)
        self.out.append((obs, body))

    def problem(self, frame: int, why: str) -> None:
        self.problems.append(f"frame {frame}: {why}")

    def run(self) -> tuple[list[tuple[Observation, bytes]], list[str]]:
        tftp = TftpTracker(self.source, self.emit, lambda frame, why: None)
        decoder = PacketDecoder()
        flows: dict[tuple, _Flow] = {}
        ignored: set[tuple] = set()
        with CaptureReader(self.path) as reader:
            for ts, lt, data in reader:
                self.now = ts
                pkt = decoder.decode(reader.records, ts, lt, data)
                if pkt is None or pkt.proto == ICMP_UNREACHABLE:
                    continue
                src, dst = (ip_text(pkt.src), pkt.sport), (ip_text(pkt.dst), pkt.dport)
                if pkt.proto == 17:
                    if not tftp.packet(pkt.frame, ts, src, dst, pkt.payload) and parse_request(
                        pkt.payload
                    ):
                        tftp.request(pkt.frame, ts, src, dst, DeviceKey(ip=src[0]), pkt.payload)
                    continue
                key = (src, dst)
                if key in ignored:
                    continue
                fl = flows.get(key) or flows.get((dst, src))
                if fl is None:
                    fl = self._new_flow(pkt, src, dst)
                    if fl is None:
                        if pkt.payload:
                            ignored.update({key, (dst, src)})
                        continue
                    flows[key] = fl
                d = fl.c2s if src == fl.client else fl.s2c
                if pkt.flags & 0x02:
                    d.syn(pkt.seq)
                if pkt.payload:
                    d.segment(pkt.seq, pkt.payload, pkt.frame)
            self.problems[:0] = [f"file: {p}" for p in reader.problems]
        for fl in flows.values():
            fl.c2s.close()
            fl.s2c.close()
            fl.conn.close(self.now)
        tftp.finish()
        return self.out, self.problems

    def _new_flow(self, pkt, src: tuple, dst: tuple) -> _Flow | None:  # noqa: ANN001 - Packet
        if pkt.flags & 0x12 == 0x02:  # SYN: the sender is the client
            client, server = src, dst
        elif pkt.payload and looks_like_http(pkt.payload):
            client, server = (dst, src) if pkt.payload.startswith(b"HTTP/1.") else (src, dst)
        else:
            return None
        conn = HttpConnection(
            client, server, DeviceKey(ip=client[0]), self.source, self.emit, self.problem
        )
        return _Flow(client, conn, self)


def _record(path: Path) -> tuple[list[tuple[Observation, bytes]], list[str]]:
    return _BodyPass(path).run()


def describe(records: Iterable[RecordedHttp | RecordedTftp]) -> list[str]:
    """One line per recorded answer (for error messages and the docs)."""
    lines = []
    for r in records:
        if isinstance(r, RecordedHttp):
            ex = r.exchange
            lines.append(f"{ex.method} {ex.url} -> {ex.status} ({len(r.body)} bytes)")
        else:
            t = r.transfer
            lines.append(f"TFTP {t.filename} -> {t.outcome} ({len(r.body)} bytes)")
    return lines
