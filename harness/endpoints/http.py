"""The scripted HTTP/1.x provisioning server: `HttpServer(Endpoint)`, name "http".

Connection handling runs on the `ByteStream` interface (endpoints/stream.py):
`handle_stream(stream, scheme=..., tls_info=...)` serves every request of one
connection (keep-alive, pipelining in order, 100-continue), so the HTTPS
server reuses it over a TLS stream. `handle_request` turns one parsed request
into an answer (script expectation, auth challenge, file from `root`, or 404)
and records one `HttpExchange` per request, including broken ones (outcome
malformed / client-closed / no-response). Hostile input is answered with a 4xx
where possible, noted with `note_problem`, and never stops the server.

Parsing lives in harness/wire/http.py, scripting in http_script.py, auth in
http_auth.py; no spec judgement here (rules judge the records).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import mimetypes
import threading
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.clock import Clock
from harness.endpoints.base import Endpoint
from harness.endpoints.http_auth import challenge_header, credentials_header
from harness.endpoints.http_script import Expectation, HeaderFilter, Response, Script
from harness.endpoints.secrets import secret_kind
from harness.endpoints.stream import ByteStream, TcpStream
from harness.observe.events import DeviceKey, HttpExchange
from harness.observe.recorder import Recorder
from harness.profiles.classify import classify_profile_body
from harness.spec.user_agent import identify_user_agent
from harness.wire.http import (
    CONTINUE,
    LAST_CHUNK,
    Limits,
    ParseError,
    Request,
    RequestHead,
    RequestParser,
    encode_chunk,
    format_head,
    reason_phrase,
)

CHUNK_SIZE = 1024  # bytes per chunk of a chunked body without slow_body


@dataclass(frozen=True, slots=True)
class Sent:
    """What `send_response` did."""

    status: int | None  # None: nothing was sent
    headers: tuple[tuple[str, str], ...] = ()
    body_bytes: int | None = None
    outcome: str = "answered"  # answered | no-response | client-closed
    keep: bool = False
    note: str = ""
    version: str | None = None  # the status line's version
    chunked: bool = False
    body: bytes | None = None  # the whole body, when it was all sent


@dataclass
class Connection:
    """One client connection as the request handler sees it."""

    stream: ByteStream
    scheme: str = "http"
    tls_info: object | None = None
    requests: int = 0

    @property
    def peer(self) -> tuple[str, int]:
        return self.stream.peer


def device_for(client_ip: str | None, user_agent: str | None) -> DeviceKey:
    """The device key of a request: its IP, plus what a known UA grammar says."""
    _, parts = identify_user_agent(user_agent)
    if parts is None:
        return DeviceKey(ip=client_ip)
    return DeviceKey(ip=client_ip, mac=parts.mac, serial=parts.serial, product=parts.product)


class HttpServer(Endpoint):
    name = "http"
    scheme = "http"
    # The passphrase (and key derivation) of encrypted profiles this server sends, when
    # known: the recorded `profile_valid` of an AES body is None (unknown) without it.
    profile_key: str | None = None
    profile_digest: str | None = None

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        recorder: Recorder | None = None,
        root: str | Path | None = None,
        limits: Limits | None = None,
        idle_timeout: float = 10.0,
        request_timeout: float = 30.0,
        keepalive_timeout: float = 15.0,
        server_header: str | None = "harness-http",
    ) -> None:
        super().__init__(host=host, port=port, clock=clock, recorder=recorder)
        self.root = Path(root).resolve() if root is not None else None
        if self.root is not None and not self.root.is_dir():
            raise ValueError(f"HttpServer root {str(root)!r} is not a directory")
        self.limits = limits or Limits()
        self.idle_timeout = idle_timeout  # real seconds without bytes mid-request
        self.request_timeout = request_timeout  # real seconds for one whole request
        self.keepalive_timeout = keepalive_timeout  # real seconds idle between requests
        self.server_header = server_header
        self.script = Script()
        self._exchanges: list[HttpExchange] = []
        self._unexpected: list[HttpExchange] = []
        self._cond = threading.Condition()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle -----------------------------------------------------------------
    async def _serve(self) -> None:
        server = await asyncio.start_server(self._on_connect, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]

        async def close() -> None:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

        self._closers.append(close)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self.handle_stream(TcpStream(reader, writer), scheme=self.scheme)
        finally:
            if task is not None:
                self._tasks.discard(task)

    # -- the script -----------------------------------------------------------------
    def expect(
        self,
        path: str,
        *,
        method: str | None = None,
        headers: dict[str, HeaderFilter] | None = None,
    ) -> Expectation:
        """Script the answers for `path`: `.respond(404).then(200, body=...)` (http_script)."""
        return self.script.expect(path, method=method, headers=headers)

    def unused_expectations(self) -> list[Expectation]:
        return self.script.unused()

    def clear(self) -> None:
        """Forget the script and the records (the server keeps running)."""
        self.script.clear()
        with self._cond:
            self._exchanges.clear()
            self._unexpected.clear()

    # -- what was seen ---------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    def _busy(self) -> bool:
        return super()._busy() or self._in_flight > 0

    def _settle(self, timeout: float = 5.0) -> None:
        """Wait until no request is between parsing and recording (unless on our loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self._loop:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._in_flight == 0, timeout)

    @property
    def requests(self) -> list[HttpExchange]:
        """Every recorded exchange of this server, in order (waits for in-flight ones)."""
        self._settle()
        with self._cond:
            return list(self._exchanges)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[HttpExchange]:
        """Block until at least `count` exchanges are recorded; AssertionError on timeout."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(self._exchanges) >= count and self._in_flight == 0, timeout
            )
            got = list(self._exchanges)
        if not ok:
            raise AssertionError(
                f"{self.name} server at {self.url}: expected {count} requests within "
                f"{timeout} s, got {len(got)}: {[f'{e.method} {e.url}' for e in got]}"
            )
        return got

    def unexpected_requests(self) -> list[HttpExchange]:
        self._settle()
        with self._cond:
            return list(self._unexpected)

    def check_no_unexpected(self) -> None:
        """AssertionError listing requests no expectation matched (root files are expected)."""
        unexpected = self.unexpected_requests()
        if unexpected:
            lines = [
                f"  {e.method} {e.url} from {e.client[0] if e.client else '?'} -> {e.status}"
                for e in unexpected
            ]
            raise AssertionError(
                f"{self.name} server at {self.url} got {len(unexpected)} request(s) "
                "no expectation matched:\n" + "\n".join(lines)
            )

    assert_no_unexpected = check_no_unexpected

    # -- one connection -----------------------------------------------------------
    async def handle_stream(
        self, stream: ByteStream, *, scheme: str = "http", tls_info: object | None = None
    ) -> None:
        """Serve every request of one connection, then close it."""
        conn = Connection(stream=stream, scheme=scheme, tls_info=tls_info)
        parser = RequestParser(self.limits)
        loop = asyncio.get_running_loop()
        continue_sent = False
        started: float | None = None  # loop time the current request's first byte came
        try:
            while True:
                try:
                    request = parser.next_request()
                except ParseError as exc:
                    await self._refuse(conn, parser, exc)
                    return
                if request is None:
                    head = parser.pending_head
                    if (
                        head is not None
                        and head.expects_continue
                        and head.version == "HTTP/1.1"
                        and not continue_sent
                    ):
                        continue_sent = True
                        with contextlib.suppress(ConnectionError, OSError):
                            await stream.send(CONTINUE)
                    if parser.in_progress and started is None:
                        started = loop.time()
                    if started is not None:
                        left = self.request_timeout - (loop.time() - started)
                        timeout = max(0.0, min(self.idle_timeout, left))
                    else:
                        timeout = self.keepalive_timeout
                    try:
                        data = await asyncio.wait_for(stream.receive(), timeout)
                    except TimeoutError:
                        if parser.in_progress:
                            await self._timed_out(conn, parser, loop.time() - (started or 0))
                        return
                    if not data:
                        if parser.in_progress:
                            self._client_vanished(conn, parser)
                        return
                    parser.feed(data)
                    continue
                started = None
                continue_sent = False
                conn.requests += 1
                with self._cond:
                    self._in_flight += 1
                try:
                    keep = await self.handle_request(request, conn)
                except (asyncio.CancelledError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # a bug or a bad script must not stop the server
                    text = f"internal error, connection closed without an answer: {exc!r}"
                    self.note_problem(
                        f"{request.method} {request.target} from {conn.peer[0]}:{conn.peer[1]}: "
                        + text
                    )
                    exchange = self.build_exchange(
                        conn, request, time=self.clock.now(), outcome="no-response", note=text
                    )
                    self._record_exchange(exchange, unexpected=False)
                    return
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()
                if not keep:
                    return
        finally:
            await stream.close()

    # -- one request --------------------------------------------------------------
    async def handle_request(self, request: Request, conn: Connection) -> bool:
        """Answer one request and record it; True to keep the connection open."""
        now = self.clock.now()
        request = replace(
            request,
            client=conn.peer,
            scheme=conn.scheme,
            extra={"tls": conn.tls_info} if conn.tls_info is not None else {},
        )
        note = ""
        expectation = self.script.match(request)
        unexpected = False
        if expectation is not None:
            response, note = self._scripted(expectation, request)
        else:
            response, note, unexpected = self._default(request)
        sent = await self.send_response(conn, request, response)
        exchange = self.build_exchange(
            conn,
            request,
            time=now,
            status=sent.status,
            reason=response.reason if sent.status is not None else None,
            response_headers=sent.headers,
            response_bytes=sent.body_bytes,
            outcome=sent.outcome,
            note="; ".join(n for n in (note, sent.note) if n),
            **self.response_facts(request, sent),
        )
        self._record_exchange(exchange, unexpected=unexpected)
        return sent.keep

    def _scripted(self, expectation: Expectation, request: Request) -> tuple[Response, str]:
        auth = expectation.auth
        if auth is not None:
            result = auth.verify(
                request.header(credentials_header(auth.proxy)), request.method, request.target
            )
            if not result.ok:
                expectation.challenges += 1
                status = 407 if auth.proxy else 401
                header = challenge_header(auth.proxy)
                headers = tuple((header, v) for v in auth.challenges(stale=result.stale))
                body = f"{auth.scheme} authentication required: {result.reason}\n"
                return Response(status=status, headers=headers, body=body.encode()), (
                    f"{auth.scheme} challenge ({result.reason})"
                )
        step = expectation.next_step()
        try:
            return step.answer(request), ""
        except Exception as exc:  # a broken callback must not kill the connection
            text = f"respond_with callback for {expectation.describe()} raised {exc!r}"
            self.note_problem(text)
            return Response(status=500, body=(text + "\n").encode()), text

    def _default(self, request: Request) -> tuple[Response, str, bool]:
        """(response, note, unexpected) for a request no expectation matched."""
        if self.root is None:
            return (
                Response(status=404, body=b"no expectation for this request\n"),
                ("no expectation matched"),
                True,
            )
        if request.method not in ("GET", "HEAD"):
            return (
                Response(
                    status=405, headers=(("Allow", "GET, HEAD"),), body=b"only GET and HEAD\n"
                ),
                (f"method {request.method} not served from root"),
                True,
            )
        raw_path = request.path
        try:
            path = urllib.parse.unquote(raw_path, errors="strict") if "%" in raw_path else raw_path
        except UnicodeDecodeError:  # /%ff, overlong /%c0%ae: not UTF-8 once decoded
            text = f"request path {raw_path!r} from {request.client} is not UTF-8 once decoded"
            self.note_problem(text)
            return Response(status=400, body=b"bad path\n"), text, True
        if "\x00" in path:
            self.note_problem(f"NUL byte in request path {raw_path!r} from {request.client}")
            return Response(status=400, body=b"bad path\n"), "NUL in path", True
        candidate = (self.root / path.lstrip("/")).resolve()
        if candidate != self.root and not candidate.is_relative_to(self.root):
            text = f"path traversal refused: {raw_path!r} from {request.client} leaves the root"
            self.note_problem(text)
            return Response(status=403, body=b"forbidden\n"), text, True
        if not candidate.is_file():
            return Response(status=404, body=b"not found\n"), "file not found under root", True
        try:
            body = candidate.read_bytes()
        except OSError as exc:
            return Response(status=403, body=b"unreadable\n"), f"cannot read {path}: {exc}", True
        if (secret := secret_kind(body)) is not None:
            text = f"{raw_path!r} from {request.client}: {candidate} holds {secret}; never served"
            self.note_problem(text)
            return Response(status=403, body=b"forbidden\n"), text, True
        ctype = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        return Response(status=200, body=body, content_type=ctype), "", False

    # -- sending ------------------------------------------------------------------
    def response_headers(
        self, request: RequestHead, response: Response, version: str, *, chunked: bool, keep: bool
    ) -> tuple[tuple[str, str], ...]:
        headers = list(response.headers)
        names = {k.lower() for k, _ in headers}
        if "date" not in names:
            headers.append(("Date", email.utils.formatdate(self.clock.now(), usegmt=True)))
        if self.server_header and "server" not in names:
            headers.append(("Server", self.server_header))
        no_body = response.status in (204, 304) or 100 <= response.status < 200
        if not no_body:
            if "content-type" not in names and (response.body or response.content_type):
                headers.append(("Content-Type", response.content_type or "text/plain"))
            if chunked:
                headers.append(("Transfer-Encoding", "chunked"))
            elif response.content_length and "content-length" not in names:
                headers.append(("Content-Length", str(len(response.body))))
        if "connection" not in names:
            if not keep:
                headers.append(("Connection", "close"))
            elif version == "HTTP/1.0" or request.version == "HTTP/1.0":
                headers.append(("Connection", "keep-alive"))
        return tuple(headers)

    async def send_response(self, conn: Connection, request: Request, response: Response) -> Sent:
        """Send `response` on the connection (after its delay); say what was sent."""
        if response.delay:
            await self.clock.sleep(response.delay)
        if response.close:
            return Sent(None, outcome="no-response", note="closed without an answer (scripted)")
        note = ""
        version = response.http_version or "HTTP/1.1"
        chunked = response.chunked and request.version == "HTTP/1.1"
        if response.chunked and not chunked:
            note = "chunked answer sent with Content-Length: the client speaks HTTP/1.0"
        keep = request.keep_alive and not response.close_after
        if version == "HTTP/1.0" and "keep-alive" not in request.connection_tokens():
            keep = False
        if not chunked and not response.content_length:
            keep = False  # the body ends when the connection closes
        headers = self.response_headers(request, response, version, chunked=chunked, keep=keep)
        head = format_head(version, response.status, response.reason, headers)
        no_body = request.method == "HEAD" or response.status in (204, 304)
        body = b"" if no_body else bytes(response.body)
        sent = 0
        try:
            if response.slow_body is None and not chunked:
                await conn.stream.send(head + body)
                sent = len(body)
            else:
                await conn.stream.send(head)
                step, interval = response.slow_body or (CHUNK_SIZE, 0.0)
                for offset in range(0, len(body), step):
                    if offset and interval:
                        await self.clock.sleep(interval)
                    piece = body[offset : offset + step]
                    await conn.stream.send(encode_chunk(piece) if chunked else piece)
                    sent += len(piece)
                if chunked and not no_body:
                    await conn.stream.send(LAST_CHUNK)
        except (ConnectionError, OSError) as exc:
            text = f"client closed while the answer was sent ({sent} of {len(body)} body bytes)"
            self.note_problem(f"{text} to {conn.peer}: {exc}")
            return Sent(
                response.status, headers, sent, "client-closed", False, text, version, chunked
            )
        return Sent(response.status, headers, sent, "answered", keep, note, version, chunked, body)

    def response_facts(self, request: RequestHead, sent: Sent) -> dict[str, Any]:
        """The HttpExchange fields saying what the answer carried (version, coding, body kind).

        Bodies of 2xx answers are classified with `profile_key` / `profile_digest` (set
        them when the lab serves encrypted profiles and knows the key; None: unknown).
        """
        if sent.status is None:
            return {}
        facts: dict[str, Any] = {"response_version": sent.version, "response_chunked": sent.chunked}
        if (
            sent.body is not None
            and 200 <= sent.status < 300
            and sent.status != 204
            and request.method != "HEAD"
        ):
            c = classify_profile_body(sent.body, self.profile_key, self.profile_digest)
            facts.update(
                response_body_sha256=c.sha256,
                response_content_kind=c.content_kind,
                profile_valid=c.valid,
                profile_gzipped=c.gzipped,
            )
        return facts

    # -- broken requests -------------------------------------------------------------
    async def _refuse(self, conn: Connection, parser: RequestParser, exc: ParseError) -> None:
        """Answer a request the parser refused (4xx/5xx, then close) and record it."""
        now = self.clock.now()
        where = f"from {conn.peer[0]}:{conn.peer[1]}"
        self.note_problem(f"malformed HTTP request {where}: {exc.message} (answered {exc.status})")
        head = parser.pending_head
        response = Response(status=exc.status, body=(exc.message + "\n").encode(), close_after=True)
        probe = head or RequestHead(method="", target="", version="HTTP/1.1")
        sent = await self.send_response(
            conn, Request(method=probe.method, target="", version="HTTP/1.1"), response
        )
        self._record_broken(
            conn,
            head,
            time=now,
            sent=sent,
            outcome="malformed" if sent.outcome == "answered" else sent.outcome,
            note=exc.message,
        )
        await self._drain(conn)

    async def _drain(self, conn: Connection, seconds: float = 0.5, limit: int = 1 << 20) -> None:
        """Read what the client still sends (briefly) so closing does not reset the
        connection before it has read our error answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        got = 0
        while got < limit and (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(conn.stream.receive(), left)
            except (TimeoutError, ConnectionError, OSError):
                return
            if not data:
                return
            got += len(data)

    async def _timed_out(self, conn: Connection, parser: RequestParser, waited: float) -> None:
        now = self.clock.now()
        head = parser.pending_head
        what = "body" if head is not None else "request head"
        text = (
            f"request {what} incomplete after {waited:.1f} s "
            f"({parser.bytes_received} bytes received; idle timeout {self.idle_timeout} s, "
            f"request timeout {self.request_timeout} s)"
        )
        self.note_problem(f"from {conn.peer[0]}:{conn.peer[1]}: {text}")
        response = Response(status=408, body=(text + "\n").encode(), close_after=True)
        sent = await self.send_response(
            conn, Request(method="GET", target="", version="HTTP/1.1"), response
        )
        self._record_broken(conn, head, time=now, sent=sent, outcome="malformed", note=text)

    def _client_vanished(self, conn: Connection, parser: RequestParser) -> None:
        head = parser.pending_head
        if head is not None:
            expected = parser.body_expected
            of = f" of {expected}" if expected is not None else " (chunked)"
            text = f"client closed after {parser.body_received}{of} body bytes"
        else:
            text = (
                f"client closed in the middle of the request head ({parser.bytes_received} bytes)"
            )
        self.note_problem(f"from {conn.peer[0]}:{conn.peer[1]}: {text}")
        self._record_broken(
            conn, head, time=self.clock.now(), sent=Sent(None), outcome="client-closed", note=text
        )

    def _record_broken(
        self,
        conn: Connection,
        head: RequestHead | None,
        *,
        time: float,
        sent: Sent,
        outcome: str,
        note: str,
    ) -> None:
        request = Request(
            method=head.method if head else "",
            target=head.target if head else "",
            version=head.version if head else "",
            headers=head.headers if head else (),
        )
        exchange = self.build_exchange(
            conn,
            request,
            time=time,
            status=sent.status,
            reason=None,
            response_headers=sent.headers,
            response_bytes=sent.body_bytes,
            outcome=outcome,
            note=note,
        )
        self._record_exchange(exchange, unexpected=False)

    # -- records --------------------------------------------------------------------
    def build_exchange(self, conn: Connection, request: Request, **fields: Any) -> HttpExchange:
        """The HttpExchange for one request (subclasses may add to it)."""
        ua = request.header("User-Agent")
        client = conn.peer
        status = fields.get("status")
        if status is not None and fields.get("reason") is None:
            fields["reason"] = reason_phrase(status)
        return HttpExchange(
            client=client,
            server=conn.stream.local,
            device=device_for(client[0] if client else None, ua),
            evidence=self.evidence,
            method=request.method,
            url=request.target,
            version=request.version,
            host=request.header("Host"),
            user_agent=ua,
            headers=request.headers,
            request_body=request.body,
            scheme=conn.scheme,
            **fields,
        )

    def _record_exchange(self, exchange: HttpExchange, *, unexpected: bool) -> None:
        self.record(exchange)
        with self._cond:
            self._exchanges.append(exchange)
            self.recorder.trim(self._exchanges)
            if unexpected:
                self._unexpected.append(exchange)
                self.recorder.trim(self._unexpected)
            self._cond.notify_all()
