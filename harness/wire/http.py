"""Sans-I/O HTTP/1.x for the server side: bytes in, `Request` objects out; response bytes out.

`RequestParser` takes whatever a connection delivered (`feed`), and hands back
complete requests in order (`next_request`), so pipelined requests come out one
after the other. It checks the request line, header syntax, Content-Length and
chunked framing (RFC 9112) and enforces `Limits`; anything wrong raises
`ParseError` with the status to answer (400, 413, 431, 501, 505) and a message
saying what was wrong and where. The response helpers format a status line and
headers, and chunked-encoding frames. `read_head` is the lenient mode of the
same head reader, for requests and responses in a capture: it keeps what a
strict server refuses and says why in a list of problems (harness.analyze.http
uses it); `chunk_size` reads a chunk-size line for both.

No sockets, no clock, no spec knowledge here: the server (http.py) does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus

Headers = tuple[tuple[str, str], ...]

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/(\d)\.(\d)$")
_HEX = re.compile(rb"^[0-9A-Fa-f]+$")
_CRLF_CRLF = re.compile(rb"\r?\n\r?\n")


class ParseError(Exception):
    """A request the parser refuses: `status` to answer, `message` saying what and where."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Limits:
    max_request_line: int = 8192
    max_head: int = 32768  # request line + headers, bytes
    max_headers: int = 100
    max_body: int = 16 * 1024 * 1024
    max_chunk_line: int = 1024


@dataclass(frozen=True, slots=True)
class RequestHead:
    """The request line and headers: what is known before the body arrives."""

    method: str
    target: str
    version: str  # "HTTP/1.1"
    headers: Headers = ()

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive name), or None."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def header_values(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def connection_tokens(self) -> set[str]:
        return {
            t.strip().lower() for v in self.header_values("Connection") for t in v.split(",")
        } - {""}

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept open after this request."""
        tokens = self.connection_tokens()
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    @property
    def expects_continue(self) -> bool:
        return (self.header("Expect") or "").strip().lower() == "100-continue"

    @property
    def path(self) -> str:
        """The path part of the target (absolute-form targets lose scheme and host)."""
        return split_target(self.target)[0]

    @property
    def query(self) -> str:
        return split_target(self.target)[1]


@dataclass(frozen=True, slots=True)
class Request(RequestHead):
    """A complete request. `client` and `scheme` are filled in by the server."""

    body: bytes = b""
    chunked: bool = False
    trailers: Headers = ()
    client: tuple[str, int] | None = None
    scheme: str = "http"
    extra: dict[str, object] = field(default_factory=dict)


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of an origin-form or absolute-form request target."""
    rest = target
    low = target[:8].lower()
    if low.startswith("http://") or low.startswith("https://"):
        after = target.split("://", 1)[1]
        slash = after.find("/")
        rest = after[slash:] if slash >= 0 else "/"
        q = after.find("?")
        if q >= 0 and (slash < 0 or q < slash):
            rest = "/" + after[q:]
    path, _, query = rest.partition("?")
    return path, query


# -- parsing -----------------------------------------------------------------------


def _describe(raw: bytes, limit: int = 60) -> str:
    text = repr(raw[:limit])
    return text + ("..." if len(raw) > limit else "")


_VALUE_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # control bytes a field value must not hold
# a block of well-formed field lines (after CRLF -> LF): token ":" value, no control
# bytes but HTAB; checked in one step, then split (the common case, kept fast)
_FIELD_BLOCK = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\n)*\n*")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\x00-\x20\x7f]+) (HTTP/1\.\d)")
_LINE_CTL = re.compile(rb"[\x00-\x1f\x7f]")  # control bytes a request line must not hold
_TARGET_BAD = re.compile(rb"[\x00-\x20\x7f]")  # nor its target (no spaces either)
_STATUS_LINE = re.compile(rb"^HTTP/\d\.\d \d{3}(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$")


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """(start line, field lines) of a head, line ends made LF."""
    norm = raw.replace(b"\r\n", b"\n")
    if norm.endswith(b"\r"):
        norm = norm[:-1]
    first, _, block = norm.partition(b"\n")
    return first, block


def _request_line(request_line: bytes, limits: Limits) -> tuple[bytes, bytes, bytes]:
    """(method, target, version) of a request line; ParseError says what is wrong."""
    ok = _REQUEST_LINE.fullmatch(request_line)  # the common case in one step
    if ok is not None and len(request_line) <= limits.max_request_line:
        return ok[1], ok[2], ok[3]
    if len(request_line) > limits.max_request_line:
        raise ParseError(
            f"request line is {len(request_line)} bytes, over the limit of "
            f"{limits.max_request_line}",
            414,
        )
    if request_line[:1] and not 0x21 <= request_line[0] <= 0x7E:
        raise ParseError(
            f"request starts with byte 0x{request_line[0]:02x}: not an HTTP request line "
            f"({_describe(request_line[:16])})"
        )
    if _LINE_CTL.search(request_line):
        raise ParseError(
            f"request line {_describe(request_line)} contains control bytes: "
            "not an HTTP request line"
        )
    parts = request_line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise ParseError(
            f"malformed request line {_describe(request_line)}: "
            "expected 'METHOD SP target SP HTTP/x.y' with single spaces"
        )
    method, target, version = parts
    if not _TOKEN.match(method):
        raise ParseError(f"invalid method {_describe(method)} in request line: not an HTTP token")
    if _TARGET_BAD.search(target):
        raise ParseError(f"request target {_describe(target)} contains control characters")
    m = _VERSION.match(version)
    if m is None:
        raise ParseError(f"invalid HTTP version {_describe(version)} in request line")
    if m.group(1) != b"1":
        raise ParseError(f"HTTP version {version.decode()} is not supported (only HTTP/1.x)", 505)
    return method, target, version


def _fields(
    block: bytes, limits: Limits, problems: list[str] | None = None
) -> list[tuple[str, str]]:
    """The header fields of a head's field lines (after the start line, LF line ends).

    Strict (`problems` None): the first fault raises ParseError. Lenient: an
    obsolete folded line continues the previous value, a line without a colon is
    skipped, a bad name or value is kept; each is appended to `problems`.
    """
    headers: list[tuple[str, str]] = []
    if _FIELD_BLOCK.fullmatch(block):  # all well formed: split, nothing to say
        for line in block.decode("latin-1").split("\n"):
            if line:
                name, _, value = line.partition(":")
                headers.append((name, value.strip(" \t")))
        if len(headers) > limits.max_headers and problems is None:
            raise ParseError(f"more than {limits.max_headers} header fields", 431)
        return headers
    lines = [b"", *block.split(b"\n")]  # numbered as in the head: the start line is 1
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if problems is None:
                raise ParseError(
                    f"header line {number} is an obsolete folded continuation (RFC 9112)"
                )
            problems.append(f"header line {number} is an obsolete folded continuation (RFC 9112)")
            if headers:
                k, v = headers[-1]
                headers[-1] = (k, v + " " + line.strip(b" \t").decode("latin-1"))
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            if problems is None:
                raise ParseError(f"header line {number} has no colon: {_describe(line)}")
            problems.append(f"header line {number} has no colon: {_describe(line)}; skipped")
            continue
        if not _TOKEN.match(name):
            why = f"header line {number} has an invalid field name {_describe(name)}" + (
                " (whitespace before the colon)" if name[-1:] in (b" ", b"\t") else ""
            )
            if problems is None:
                raise ParseError(why)
            problems.append(why)
            name = name.strip(b" \t")
        value = value.strip(b" \t")
        if _VALUE_CTL.search(value):
            why = f"header {name.decode('latin-1')!r} (line {number}) has control characters"
            if problems is None:
                raise ParseError(why)
            problems.append(why)
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if len(headers) > limits.max_headers and problems is None:
            raise ParseError(f"more than {limits.max_headers} header fields", 431)
    return headers


def parse_head(raw: bytes, limits: Limits = Limits()) -> RequestHead:
    """Parse a request line plus headers (no final empty line needed)."""
    first, block = _split_head(raw)
    method, target, version = _request_line(first, limits)
    headers = _fields(block, limits)
    return RequestHead(
        method=method.decode("ascii"),
        target=target.decode("latin-1"),
        version=version.decode("ascii"),
        headers=tuple(headers),
    )


def read_head(
    raw: bytes, problems: list[str], *, response: bool = False, limits: Limits = Limits()
) -> tuple[str, list[tuple[str, str]]]:
    """The lenient mode of the head reader: (start line, header fields) of any head.

    For a reader of captures: a request or (`response=True`) status line and its
    fields are read as `parse_head` reads them, but what a strict server would
    refuse is kept and said in `problems` (a malformed start line, obsolete line
    folding, a line without a colon, a bad name, control characters) instead of
    raising. Never raises.
    """
    first, block = _split_head(raw)
    first = first.strip()
    if response:
        if not _STATUS_LINE.match(first):
            problems.append(f"malformed status line {_describe(first)}")
    else:
        try:
            _request_line(first, limits)
        except ParseError as exc:
            problems.append(exc.message)
    return first.decode("latin-1"), _fields(block, limits, problems)


def _body_framing(head: RequestHead, limits: Limits) -> tuple[bool, int]:
    """(chunked, content_length) for a request head; raises ParseError on bad framing."""
    te = head.header_values("Transfer-Encoding")
    cl = head.header_values("Content-Length")
    if te:
        if head.version == "HTTP/1.0":
            raise ParseError("Transfer-Encoding in an HTTP/1.0 request (faulty framing, RFC 9112)")
        if cl:
            raise ParseError("both Transfer-Encoding and Content-Length given (request smuggling)")
        codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
        if codings != ["chunked"]:
            if codings and codings[-1] == "chunked":
                raise ParseError(f"transfer codings {codings} are not supported", 501)
            raise ParseError(f"Transfer-Encoding {', '.join(te)!r} does not end in chunked", 501)
        return True, 0
    if cl:
        values = {v.strip() for joined in cl for v in joined.split(",")}
        if len(values) != 1:
            raise ParseError(f"conflicting Content-Length values {sorted(values)}")
        (value,) = values
        if not value.isdigit() or not value.isascii():
            raise ParseError(f"invalid Content-Length {value!r}: not a decimal number")
        length = int(value)
        if length > limits.max_body:
            raise ParseError(
                f"Content-Length {length} is over the body limit of {limits.max_body}", 413
            )
        return False, length
    return False, 0


def chunk_size(line: bytes, received: int = 0) -> int:
    """The size a chunk-size line announces (extensions ignored); ParseError if it is not one.

    `received`: body bytes before this chunk (for the message).
    """
    size_text = line.split(b";", 1)[0].strip(b" \t\r")
    if not _HEX.match(size_text) or len(size_text) > 16:
        raise ParseError(
            f"invalid chunk size {_describe(size_text)} after "
            f"{received} body bytes: expected hexadecimal digits"
        )
    return int(size_text, 16)


class RequestParser:
    """Incremental request parser for one connection (pipelining-safe)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buf = bytearray()
        self._head: RequestHead | None = None
        self._chunked = False
        self._length = 0
        self._body = bytearray()
        self._chunk_left: int | None = None  # None: expecting a size line
        self._in_trailers = False
        self._trailers: list[tuple[str, str]] = []
        self._failed: ParseError | None = None
        self.bytes_received = 0

    # -- state for the server ----------------------------------------------------------
    @property
    def pending_head(self) -> RequestHead | None:
        """The head of a request whose body is still arriving."""
        return self._head

    @property
    def in_progress(self) -> bool:
        """Bytes of an unfinished request are buffered (not just blank lines)."""
        return self._head is not None or bool(bytes(self._buf).strip(b"\r\n"))

    @property
    def body_received(self) -> int:
        return len(self._body)

    @property
    def body_expected(self) -> int | None:
        """The announced body length; None when chunked or unknown."""
        return None if self._chunked or self._head is None else self._length

    # -- input ------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self._buf += data

    def next_request(self) -> Request | None:
        """The next complete request, or None if more bytes are needed."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except ParseError as exc:
            self._failed = exc  # the connection cannot be resynchronised
            raise

    def _next(self) -> Request | None:
        if self._head is None and not self._read_head():
            return None
        assert self._head is not None
        done = self._read_chunked() if self._chunked else self._read_length()
        if not done:
            return None
        head = self._head
        request = Request(
            method=head.method,
            target=head.target,
            version=head.version,
            headers=head.headers,
            body=bytes(self._body),
            chunked=self._chunked,
            trailers=tuple(self._trailers),
        )
        self._head = None
        self._body = bytearray()
        self._chunk_left = None
        self._in_trailers = False
        self._trailers = []
        return request

    def _read_head(self) -> bool:
        # RFC 9112 2.2: ignore empty lines before the request line
        start = 0
        while self._buf[start : start + 2] == b"\r\n" or self._buf[start : start + 1] == b"\n":
            start += 2 if self._buf[start : start + 1] == b"\r" else 1
        if start:
            del self._buf[:start]
        m = _CRLF_CRLF.search(self._buf, 0, self.limits.max_head + 4)
        if m is None:
            first_line_end = self._buf.find(b"\n")
            if first_line_end < 0 and len(self._buf) > self.limits.max_request_line:
                raise ParseError(
                    f"request line longer than {self.limits.max_request_line} bytes "
                    "with no end of line",
                    414,
                )
            if len(self._buf) > self.limits.max_head:
                raise ParseError(
                    f"request head longer than {self.limits.max_head} bytes (headers too large)",
                    431,
                )
            if self._buf[:1] and not (0x21 <= self._buf[0] <= 0x7E):
                raise ParseError(
                    f"request starts with byte 0x{self._buf[0]:02x}: not an HTTP request line "
                    f"({_describe(bytes(self._buf[:16]))})"
                )
            return False
        raw = bytes(self._buf[: m.start()])
        del self._buf[: m.end()]
        head = parse_head(raw, self.limits)
        self._chunked, self._length = _body_framing(head, self.limits)
        self._head = head
        return True

    def _read_length(self) -> bool:
        need = self._length - len(self._body)
        if need > 0:
            take = self._buf[:need]
            self._body += take
            del self._buf[: len(take)]
        return len(self._body) >= self._length

    def _read_line(self) -> bytes | None:
        end = self._buf.find(b"\n")
        if end < 0:
            if len(self._buf) > self.limits.max_chunk_line:
                raise ParseError(
                    f"chunk-size line longer than {self.limits.max_chunk_line} bytes "
                    f"({_describe(bytes(self._buf[:40]))})"
                )
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return line[:-1] if line.endswith(b"\r") else line

    def _read_chunked(self) -> bool:
        while True:
            if self._in_trailers:
                line = self._read_line()
                if line is None:
                    return False
                if not line:
                    return True
                name, colon, value = line.partition(b":")
                if not colon or not _TOKEN.match(name):
                    raise ParseError(f"malformed trailer field {_describe(line)}")
                self._trailers.append((name.decode(), value.strip().decode("latin-1")))
                if len(self._trailers) > self.limits.max_headers:
                    raise ParseError(f"more than {self.limits.max_headers} trailer fields", 431)
                continue
            if self._chunk_left is None:
                line = self._read_line()
                if line is None:
                    return False
                size = chunk_size(line, len(self._body))
                if len(self._body) + size > self.limits.max_body:
                    raise ParseError(
                        f"chunked body grows over the limit of {self.limits.max_body} bytes", 413
                    )
                if size == 0:
                    self._in_trailers = True
                    continue
                self._chunk_left = size
            if self._chunk_left > 0:
                take = self._buf[: self._chunk_left]
                self._body += take
                del self._buf[: len(take)]
                self._chunk_left -= len(take)
                if self._chunk_left > 0:
                    return False
            # chunk data complete: expect CRLF (a bare LF is tolerated)
            if not self._buf:
                return False
            if self._buf[:1] == b"\n":
                del self._buf[:1]
            elif self._buf[:1] == b"\r" and len(self._buf) < 2:
                return False
            elif self._buf[:2] == b"\r\n":
                del self._buf[:2]
            else:
                raise ParseError(
                    f"chunk data not followed by CRLF (got {_describe(bytes(self._buf[:8]))}); "
                    "the chunk is longer than its size line says"
                )
            self._chunk_left = None


# -- responses ---------------------------------------------------------------------


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def format_head(version: str, status: int, reason: str | None, headers: Headers) -> bytes:
    """Status line and header block, ending with the empty line."""
    if not 100 <= status <= 999:
        raise ValueError(f"status {status} is not a three-digit HTTP status")
    reason = reason_phrase(status) if reason is None else reason
    lines = [f"{version} {status} {reason}"]
    for name, value in headers:
        if "\r" in name + value or "\n" in name + value or ":" in name:
            raise ValueError(f"header {name!r}: {value!r} would break the response framing")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (empty data gives nothing: use LAST_CHUNK to end)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
