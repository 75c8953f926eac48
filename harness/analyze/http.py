"""HTTP/1.x dissection of a reassembled TCP connection into `HttpExchange` records.

`HttpConnection` is fed the client's and the server's in-order bytes (from
`harness.analyze.tcp`) and cuts them into messages: request line or status
line, headers, bodies by Content-Length, chunked transfer coding or connection
close. The grammar (heads, chunk-size lines) is `harness.wire.http`'s, in its
lenient mode: what a strict server would refuse is read anyway and reported as
a problem of the run. This module does the framing across frames;
pipelined requests pair with responses in order. Each pair becomes one
`HttpExchange` naming every frame it came from; the first `BODY_KEEP` bytes of
a response body are handed to `on_body` (the analyzer looks for profiles
there). Each exchange also says what its answer carried (status-line version,
chunked coding, and for 2xx bodies `harness.profiles.classify_profile_body`:
kind, sha256, profile validity under the profile key, when one is known); the
classification of a whole body is cached by its digest, as a capture holds the
same profile served to many devices.
Sans-I/O: no sockets, no spec facts.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.analyze.tcp import StreamBuffer
from harness.observe.events import Address, DeviceKey, Evidence, HttpExchange
from harness.profiles.classify import BodyClass, classify_profile_body
from harness.wire.http import ParseError, chunk_size, read_head

BODY_KEEP = 256 * 1024
MAX_HEAD = 64 * 1024
METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ")
METHOD_PREFIXES = tuple(m[:3] for m in METHODS)


CLASSIFY_CACHE = 512  # distinct whole bodies whose classification is kept
_classified: dict[tuple[str, str | None, str | None], BodyClass] = {}


def _classify(body: bytes, key: str | None, digest: str | None, whole: bool) -> BodyClass:
    """`classify_profile_body`, cached by (sha256, key, digest) for whole bodies."""
    if not whole:
        return classify_profile_body(body, key, digest, complete=False)
    ck = (hashlib.sha256(body).hexdigest(), key, digest)
    c = _classified.get(ck)
    if c is None:
        if len(_classified) >= CLASSIFY_CACHE:
            _classified.clear()
        c = _classified[ck] = classify_profile_body(body, key, digest)
    return c


def looks_like_http(first: bytes) -> bool:
    """Does a stream's first payload start an HTTP/1.x request or response?"""
    return first.startswith(METHODS) or first.startswith(b"HTTP/1.")


@dataclass
class _Message:
    time: float
    start: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    body_len: int = 0
    frames: list[int] = field(default_factory=list)
    complete: bool = False
    method: str = ""  # for responses: the method of the request it answers

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)


class _Reader:
    """Cut one direction's bytes into HTTP messages (incrementally)."""

    def __init__(self, is_response: bool, problem: Callable[[int, str], None]) -> None:
        self.is_response = is_response
        self.buf = StreamBuffer(limit=MAX_HEAD + BODY_KEEP + 65536)
        self.state = "head"
        self.msg: _Message | None = None
        self.remaining = 0
        self.problem = problem
        self.broken = False

    def feed(
        self, data: bytes, frame: int, ts: float, next_method: Callable[[], str]
    ) -> list[_Message]:
        if self.broken:
            return []
        if not self.buf.data and (
            self.msg is None or (self.state == "head" and not self.msg.frames)
        ):
            self.msg = _Message(ts)
        self.buf.feed(data, frame)
        out: list[_Message] = []
        while self._step(out, ts, next_method):
            pass
        return out

    def _take(self, n: int) -> bytes:
        data, frames = self.buf.take(n)
        assert self.msg is not None
        for f in frames:
            if not self.msg.frames or self.msg.frames[-1] != f:
                self.msg.frames.append(f)
        return data

    def _body(self, data: bytes) -> None:
        assert self.msg is not None
        self.msg.body_len += len(data)
        room = BODY_KEEP - len(self.msg.body)
        if room > 0:
            self.msg.body += data[:room]

    def _finish(self, out: list[_Message], ts: float) -> None:
        assert self.msg is not None
        self.msg.complete = True
        out.append(self.msg)
        self.msg = _Message(ts)
        self.state = "head"

    def _step(self, out: list[_Message], ts: float, next_method: Callable[[], str]) -> bool:
        data = self.buf.data
        if self.msg is None:
            self.msg = _Message(ts)
        if self.state == "head":
            if not data:
                return False
            # skip stray CRLFs between messages (RFC 9112 2.2)
            while data[:2] == b"\r\n":
                self.buf.take(2)
            end = data.find(b"\r\n\r\n")
            sep = 4
            if end < 0:
                end = data.find(b"\n\n")
                sep = 2
            if end < 0:
                if len(data) > MAX_HEAD:
                    self._break(f"message head longer than {MAX_HEAD} bytes")
                return False
            msg = self.msg
            tolerated: list[str] = []
            msg.start, msg.headers = read_head(
                bytes(self._take(end + sep)), tolerated, response=self.is_response
            )
            for why in tolerated:
                self.problem(msg.frames[-1] if msg.frames else 0, f"HTTP: {why}")
            return self._after_head(out, ts, next_method)
        if self.state == "length":
            if not data:
                return False
            if self._take_body(data):
                self._finish(out, ts)
            return True
        if self.state == "close":
            if data:
                self._body(self._take(len(data)))
            return False
        if self.state == "chunk-size":
            nl = data.find(b"\n")
            if nl < 0:
                if len(data) > 1024:
                    self._break("chunk-size line longer than 1024 bytes")
                return False
            try:
                line = bytes(self._take(nl + 1)).rstrip(b"\r\n")
                size = chunk_size(line, self.msg.body_len if self.msg else 0)
            except ParseError as exc:
                self._break(exc.message)
                return False
            if size == 0:
                self.state = "trailer"
            else:
                self.remaining = size
                self.state = "chunk-data"
            return True
        if self.state == "chunk-data":
            if not data:
                return False
            if self._take_body(data):
                self.state = "chunk-crlf"
            return True
        if self.state == "chunk-crlf":
            nl = data.find(b"\n")
            if nl < 0:
                return False
            self._take(nl + 1)
            self.state = "chunk-size"
            return True
        if self.state == "trailer":
            nl = data.find(b"\n")
            if nl < 0:
                return False
            line = self._take(nl + 1)
            if line.strip() == b"":
                self._finish(out, ts)
            return True
        return False

    def _take_body(self, data: bytes | memoryview) -> bool:
        """Consume up to `remaining` body bytes of `data`; True when none remain."""
        n = min(self.remaining, len(data))
        self._body(self._take(n))
        self.remaining -= n
        return self.remaining == 0

    def _after_head(self, out: list[_Message], ts: float, next_method: Callable[[], str]) -> bool:
        msg = self.msg
        assert msg is not None
        te = (msg.header("Transfer-Encoding") or "").lower()
        cl = msg.header("Content-Length")
        if self.is_response:
            msg.method = next_method()
            parts = msg.start.split(" ", 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                status = 0
            if 100 <= status < 200 and status != 101:
                self.msg = _Message(ts)  # interim response: not the answer
                return True
            if msg.method == "HEAD" or status in (204, 304):
                self._finish(out, ts)
                return True
        if "chunked" in te:
            self.state = "chunk-size"
            return True
        if cl is not None:
            try:
                self.remaining = int(cl.split(",")[0])
                if self.remaining < 0:
                    raise ValueError
            except ValueError:
                self._break(f"bad Content-Length {cl!r}")
                return False
            if self.remaining == 0:
                self._finish(out, ts)
            else:
                self.state = "length"
            return True
        if self.is_response:
            self.state = "close"  # body runs to the end of the connection
            return True
        self._finish(out, ts)  # a request without a body
        return True

    def _break(self, why: str) -> None:
        self.broken = True
        self.problem(self.msg.frames[-1] if self.msg and self.msg.frames else 0, why)

    def close(self, ts: float) -> _Message | None:
        """End of stream: a body read until close is complete now; else the message is cut."""
        msg = self.msg
        if msg is None or (self.state == "head" and not msg.frames):
            return None
        if self.state == "close":
            msg.complete = True
        return msg


class HttpConnection:
    """Both directions of one HTTP connection; emits one HttpExchange per request."""

    def __init__(
        self,
        client: Address,
        server: Address,
        device: DeviceKey,
        source: str,
        emit: Callable[[HttpExchange, bytes], None],
        problem: Callable[[int, str], None],
        scheme: str = "http",
        *,
        profile_key: str | None = None,
        profile_digest: str | None = None,
    ) -> None:
        self.client, self.server, self.device, self.source = client, server, device, source
        self.emit = emit
        self.scheme = scheme
        # Until the engine passes the key explicitly, take the one its Analyzer was given
        # (`analyze_capture(profile_key=...)`): `emit` is a bound method of that Analyzer.
        owner = getattr(emit, "__self__", None)
        self.profile_key = profile_key or getattr(owner, "profile_key", None)
        self.profile_digest = profile_digest or getattr(owner, "profile_digest", None)
        self.req = _Reader(False, problem)
        self.resp = _Reader(True, problem)
        self.pending: deque[_Message] = deque()
        self.answered = 0
        self.closed_by = ""  # who closed first: "client", "server", "" (capture end / idle)
        self.closed_at: float | None = None

    def _next_method(self) -> str:
        return self.pending[0].start.split(" ", 1)[0] if self.pending else ""

    def client_data(self, data: bytes, frame: int, ts: float) -> None:
        self.pending.extend(self.req.feed(data, frame, ts, self._next_method))

    def server_data(self, data: bytes, frame: int, ts: float) -> None:
        for resp in self.resp.feed(data, frame, ts, self._next_method):
            self._pair(resp)

    def _pair(self, resp: _Message | None) -> None:
        req = self.pending.popleft() if self.pending else None
        if req is None:
            if resp is None:
                return
            req = _Message(resp.time, start="? ? HTTP/1.1")
        parts = req.start.split(" ")
        method = parts[0] if parts else ""
        url = parts[1] if len(parts) > 1 else ""
        version = parts[2] if len(parts) > 2 else "HTTP/0.9"
        status = reason = None
        duration = None
        note = ""
        if self.closed_by == "server":
            outcome = "no-response"  # the server closed without answering
        else:
            outcome = "timeout"  # the client gave up waiting, or the capture ended first
            if self.closed_at is not None:
                duration = max(0.0, self.closed_at - req.time)
                note = f"no answer within {duration:.1f} s; " + (
                    "the client closed" if self.closed_by else "the capture ends"
                )
        rheaders: tuple[tuple[str, str], ...] = ()
        frames = list(req.frames)
        body = b""
        facts: dict[str, object] = {}
        if resp is not None:
            sparts = resp.start.split(" ", 2)
            try:
                status = int(sparts[1])
                reason = sparts[2] if len(sparts) > 2 else ""
                outcome = "answered" if resp.complete else "client-closed"
            except (IndexError, ValueError):
                outcome = "malformed"
            rheaders = tuple(resp.headers)
            frames.extend(resp.frames)
            body = bytes(resp.body)
            if status is not None:
                facts = self._response_facts(method, status, resp, body)
        obs = HttpExchange(
            time=req.time,
            client=self.client,
            server=self.server,
            device=self.device,
            evidence=Evidence(self.source, tuple(sorted(set(frames)))),
            method=method,
            url=url,
            version=version,
            host=req.header("Host"),
            user_agent=req.header("User-Agent"),
            headers=tuple(req.headers),
            request_body=bytes(req.body[:4096]),
            status=status,
            reason=reason,
            response_headers=rheaders,
            response_bytes=resp.body_len if resp is not None else None,
            scheme=self.scheme,
            outcome=outcome,
            note=note if resp is None else "",
            duration=duration if resp is None else None,
            **facts,
        )
        self.emit(obs, body)

    def _response_facts(
        self, method: str, status: int, resp: _Message, body: bytes
    ) -> dict[str, object]:
        """Version, coding and (2xx) body facts of one answer; see the module docstring."""
        te = (resp.header("Transfer-Encoding") or "").lower()
        facts: dict[str, object] = {
            "response_version": resp.start.split(" ", 1)[0],
            "response_chunked": "chunked" in te,
        }
        if 200 <= status < 300 and status != 204 and method != "HEAD":
            whole = resp.complete and resp.body_len == len(body)
            c = _classify(body, self.profile_key, self.profile_digest, whole)
            facts.update(
                response_body_sha256=c.sha256,
                response_content_kind=c.content_kind,
                profile_valid=c.valid,
                profile_gzipped=c.gzipped,
            )
        return facts

    def close(self, ts: float) -> None:
        self.closed_at = ts
        last = self.req.close(ts)
        if last is not None and last.start:
            self.pending.append(last)
        resp = self.resp.close(ts)
        if resp is not None and resp.start:
            self._pair(resp)
        while self.pending:
            self._pair(None)
