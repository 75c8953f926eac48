"""Replay: re-issue a captured device's provisioning requests against a server, compare answers.

`plan(observations, target, device=None)` picks, from the analyzer's
observations (`HttpExchange` for http/https targets, `TftpTransfer` RRQs for
tftp:// targets), one device's requests in capture order, with their gaps.
`replay(requests, target, scale=1.0)` re-issues them (same method, request
target, User-Agent and POST body; TFTP: same file name, mode and options),
waiting the captured gaps times `scale` (0 = back to back; the schedule is
absolute, so slow answers do not add up), and returns one `ReplayResult` per
request: captured status and size beside the new ones. `render_table` and
`to_json` present them. The clients are plain sockets (http.client and a
small RFC 1350/2347 read client); no redirect is followed (the capture holds
the follow-ups as requests of their own). No spec judgement here.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from harness.analyze.cassette import device_matches
from harness.observe.events import DeviceKey, HttpExchange, Observation, TftpTransfer

HTTP_METHODS = ("GET", "POST", "HEAD")
TFTP_TIMEOUT = 1.0  # seconds before a TFTP packet is sent again
TFTP_RETRIES = 4
TFTP_MAX_BYTES = 64 * 1024 * 1024


class ReplayError(ValueError):
    """The replay cannot be planned or run (message says what to change)."""


@dataclass(frozen=True)
class Target:
    scheme: str  # http | https | tftp
    host: str
    port: int
    prefix: str = ""  # a base path the captured paths go under (http only)

    @classmethod
    def parse(cls, url: str) -> Target:
        u = urllib.parse.urlsplit(url)
        defaults = {"http": 80, "https": 443, "tftp": 69}
        if u.scheme not in defaults or not u.hostname:
            raise ReplayError(
                f"--target {url!r}: expected http://HOST[:PORT][/BASE], https://... or "
                "tftp://HOST[:PORT]"
            )
        try:
            port = u.port or defaults[u.scheme]
        except ValueError as exc:
            raise ReplayError(f"--target {url!r}: {exc}") from None
        return cls(u.scheme, u.hostname, port, u.path.rstrip("/") if u.scheme != "tftp" else "")

    @property
    def kind(self) -> str:
        return "tftp" if self.scheme == "tftp" else "http"


@dataclass(frozen=True)
class ReplayRequest:
    """One captured request to re-issue, with what the captured server answered."""

    kind: str  # http | tftp
    time: float  # capture time
    method: str  # GET/POST/HEAD, or RRQ
    target: str  # request target (path and query), or TFTP file name
    user_agent: str | None = None
    body: bytes = b""
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)
    captured_status: str = ""  # "200", "no answer", "complete", "error 1", "timeout"
    captured_bytes: int | None = None
    frames: tuple[int, ...] = ()
    device: DeviceKey = field(default_factory=DeviceKey)


@dataclass(frozen=True)
class ReplayResult:
    request: ReplayRequest
    status: str  # same vocabulary as captured_status
    bytes: int | None = None
    error: str = ""  # why there is no answer (connection refused, timeout...)
    elapsed: float = 0.0

    def differs(self, compare_size: bool = True) -> bool:
        if self.status != self.request.captured_status:
            return True
        return compare_size and self.bytes != self.request.captured_bytes

    def what_differs(self, compare_size: bool = True) -> str:
        what = []
        if self.status != self.request.captured_status:
            what.append("status")
        if compare_size and self.bytes != self.request.captured_bytes:
            what.append("size")
        return ", ".join(what)


# -- planning (pure) ---------------------------------------------------------------------
def _http_status(ex: HttpExchange) -> str:
    return str(ex.status) if ex.status is not None else "no answer"


def _tftp_status(outcome: str, code: int | None) -> str:
    if outcome == "error" and code is not None:
        return f"error {code}"
    return outcome


def request_target(url: str) -> str:
    """The path and query of a captured request target (absolute-form URLs included)."""
    if url.startswith("/"):
        return url
    u = urllib.parse.urlsplit(url)
    if u.scheme and u.netloc:
        return (u.path or "/") + (f"?{u.query}" if u.query else "")
    return url


def device_label(key: DeviceKey) -> str:
    parts = [key.ip or "?"]
    if key.mac:
        parts.append(f"mac {key.mac}")
    if key.serial:
        parts.append(f"serial {key.serial}")
    if key.product:
        parts.append(key.product)
    return ", ".join(parts)


def plan(
    observations: Iterable[Observation], target: Target, device: str | None = None
) -> list[ReplayRequest]:
    """The requests to re-issue (see the module docstring); ReplayError when ambiguous or none."""
    out: list[ReplayRequest] = []
    for o in observations:
        if target.kind == "http" and isinstance(o, HttpExchange):
            if o.method not in HTTP_METHODS or o.scheme != "http":
                continue
            out.append(
                ReplayRequest(
                    "http",
                    o.time,
                    o.method,
                    request_target(o.url),
                    o.user_agent,
                    o.request_body,
                    captured_status=_http_status(o),
                    captured_bytes=o.response_bytes if o.status is not None else None,
                    frames=o.evidence.frames,
                    device=o.device,
                )
            )
        elif target.kind == "tftp" and isinstance(o, TftpTransfer) and o.op == "RRQ":
            out.append(
                ReplayRequest(
                    "tftp",
                    o.time,
                    "RRQ",
                    o.filename,
                    mode=o.mode,
                    options=dict(o.options),
                    captured_status=_tftp_status(o.outcome, o.error_code),
                    captured_bytes=o.bytes if o.outcome == "complete" else None,
                    frames=o.evidence.frames,
                    device=o.device,
                )
            )
    what = "HTTP requests" if target.kind == "http" else "TFTP read requests"
    if device is not None:
        found = [r for r in out if device_matches(r.device, device)]
        if not found:
            seen = sorted({device_label(r.device) for r in out})
            raise ReplayError(
                f"no {what} from device {device!r} in the capture"
                + (f"; devices seen: {'; '.join(seen)}" if seen else "")
            )
        out = found
    else:
        # several devices: by address, or behind one address (NAT) by MAC or serial
        count = max(
            len({getattr(r.device, key) for r in out} - {None, ""})
            for key in ("ip", "mac", "serial")
        )
        if count > 1:
            seen = sorted({device_label(r.device) for r in out})
            raise ReplayError(
                f"{what} from {count} devices; pick one with --device (IP, MAC or serial): "
                + "; ".join(seen)
            )
    if not out:
        raise ReplayError(f"no {what} in the capture (plain HTTP only: HTTPS bodies are sealed)")
    out.sort(key=lambda r: r.time)
    return out


# -- running (I/O) ---------------------------------------------------------------------------
def replay(
    requests: Sequence[ReplayRequest],
    target: Target,
    *,
    scale: float = 1.0,
    timeout: float = 10.0,
    insecure: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    on_result: Callable[[ReplayResult], None] | None = None,
) -> list[ReplayResult]:
    """Re-issue `requests` against `target` on the captured schedule times `scale`."""
    if scale < 0:
        raise ReplayError(f"--scale {scale}: must be >= 0")
    results: list[ReplayResult] = []
    if not requests:
        return results
    t0, start = requests[0].time, monotonic()
    for req in requests:
        if scale:
            wait = start + (req.time - t0) * scale - monotonic()
            if wait > 0:
                sleep(wait)
        began = monotonic()
        if req.kind == "http":
            status, size, error = _http(req, target, timeout, insecure)
        else:
            status, size, error = _tftp(req, target, timeout)
        result = ReplayResult(req, status, size, error, monotonic() - began)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _http(
    req: ReplayRequest, target: Target, timeout: float, insecure: bool
) -> tuple[str, int | None, str]:
    if target.scheme == "https":
        ctx = ssl.create_default_context()
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ctx
        )
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    headers = {"User-Agent": req.user_agent} if req.user_agent is not None else {}
    try:
        conn.putrequest(req.method, target.prefix + req.target, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if req.method == "POST" or req.body:
            conn.putheader("Content-Length", str(len(req.body)))
        conn.endheaders(req.body or None)
        resp = conn.getresponse()
        body = resp.read()
        return str(resp.status), len(body), ""
    except (OSError, http.client.HTTPException) as exc:
        return "no answer", None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def _tftp(req: ReplayRequest, target: Target, timeout: float) -> tuple[str, int | None, str]:
    """A TFTP read with the captured mode and options; (status, bytes, error)."""
    opts = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in req.options.items())
    rrq = b"\0\1" + req.target.encode("latin-1") + b"\0" + req.mode.encode() + b"\0" + opts
    blksize = 512
    family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(TFTP_TIMEOUT)
        last, dest = rrq, (target.host, target.port)
        peer: tuple | None = None
        expected, size, tries = 1, 0, 0
        deadline = time.monotonic() + timeout * 6
        s.sendto(last, dest)
        while True:
            try:
                data, addr = s.recvfrom(65536 + 4)
            except TimeoutError:
                tries += 1
                if tries > TFTP_RETRIES or time.monotonic() > deadline:
                    return "timeout", None, f"no answer after {tries} tries"
                s.sendto(last, peer or dest)
                continue
            except OSError as exc:
                return "no answer", None, f"{type(exc).__name__}: {exc}"
            if peer is None:
                peer = addr
            elif addr != peer:
                s.sendto(b"\0\5\0\5unknown transfer ID\0", addr)
                continue
            tries = 0
            op = struct.unpack_from("!H", data)[0] if len(data) >= 2 else 0
            if op == 5 and len(data) >= 4:
                code = struct.unpack_from("!H", data, 2)[0]
                msg = data[4:].split(b"\0")[0].decode("latin-1", "replace")
                return f"error {code}", None, msg
            if op == 6:  # OACK
                fields = data[2:].rstrip(b"\0").split(b"\0")
                accepted = dict(zip(fields[::2], fields[1::2], strict=False))
                try:
                    blksize = int(accepted.get(b"blksize", b"512"))
                except ValueError:
                    return "malformed", None, f"OACK blksize {accepted.get(b'blksize')!r}"
                last = b"\0\4\0\0"
                s.sendto(last, peer)
                continue
            if op == 3 and len(data) >= 4:
                block = struct.unpack_from("!H", data, 2)[0]
                if block == expected & 0xFFFF:
                    size += len(data) - 4
                    expected += 1
                    if size > TFTP_MAX_BYTES:
                        return "aborted", size, f"more than {TFTP_MAX_BYTES} bytes"
                last = b"\0\4" + struct.pack("!H", block)
                s.sendto(last, peer)
                if block == (expected - 1) & 0xFFFF and len(data) - 4 < blksize:
                    return "complete", size, ""
                continue
            return "malformed", None, f"unexpected TFTP packet {data[:16]!r}"


# -- presenting ---------------------------------------------------------------------------
def render_table(results: Sequence[ReplayResult], compare_size: bool = True) -> str:
    """A plain-text diff table: one row per request, marked where the answer differs."""
    head = ("#", "gap s", "request", "captured", "size", "now", "size", "differs")
    rows = []
    prev = results[0].request.time if results else 0.0
    for i, r in enumerate(results, 1):
        q = r.request
        rows.append(
            (
                str(i),
                f"{q.time - prev:.3f}",
                f"{q.method} {q.target}",
                q.captured_status,
                "-" if q.captured_bytes is None else str(q.captured_bytes),
                r.status,
                "-" if r.bytes is None else str(r.bytes),
                r.what_differs(compare_size) or "",
            )
        )
        prev = q.time
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    n = sum(1 for r in results if r.differs(compare_size))
    lines.append("")
    lines.append(
        f"{len(results)} request(s) replayed, {n} answered differently"
        if n
        else f"{len(results)} request(s) replayed, all answered as captured"
    )
    errors = [(i, r.error) for i, r in enumerate(results, 1) if r.error]
    lines += [f"  #{i}: {e}" for i, e in errors]
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[ReplayResult], compare_size: bool = True) -> list[dict]:
    out = []
    for r in results:
        q = asdict(r.request)
        q["body"] = len(r.request.body)
        out.append(
            {
                "request": q,
                "status": r.status,
                "bytes": r.bytes,
                "error": r.error,
                "differs": r.what_differs(compare_size),
            }
        )
    return out
