"""Scripted HTTP answers, ordered in time: `expect(path).respond(404).then(200, body=...)`.

An `Expectation` matches requests (path, optional method and header filters)
and holds a list of `Step`s; successive matching requests get successive steps.
Step repetition:

- a step added without `.times(n)` / `.once()` is served once, except the LAST
  step of an expectation, which then repeats forever;
- `.times(n)` / `.once()` after a step makes its count explicit; when every
  step of an expectation has an explicit count and all are used up, the
  expectation stops matching (the request falls through to later expectations,
  then to the server's default).

Modifiers (`delay`, `slow_body`, `chunked`, `times`, `once`) change the most
recent step; called before any step they apply to the first step added.
`require_auth` guards the whole expectation: a request without valid
credentials is challenged (401/407) and does not use up a step.

Only data and matching here: no sockets, no clock (the server sleeps).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Self

from harness.endpoints.http_auth import BasicAuth, DigestAuth, make_authenticator
from harness.wire.http import Request, split_target

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
HTTP_VERSIONS = ("HTTP/1.0", "HTTP/1.1")


@dataclass(frozen=True)
class Response:
    """What the server sends for one request (or, with `close=True`, that it sends nothing)."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    reason: str | None = None
    content_type: str | None = None
    chunked: bool = False
    http_version: str | None = None  # None: the request's version; "HTTP/1.0" answers as 1.0
    content_length: bool = True  # False: no Content-Length, body ends when the connection closes
    delay: float = 0.0  # seconds (of the server's clock) before answering
    close: bool = False  # close the connection without any answer
    close_after: bool = False  # answer, then close (Connection: close)
    slow_body: tuple[int, float] | None = None  # (bytes per write, seconds between writes)

    def __post_init__(self) -> None:
        if isinstance(self.body, str):
            object.__setattr__(self, "body", self.body.encode("utf-8"))
        if not isinstance(self.body, bytes | bytearray):
            raise TypeError(f"response body must be bytes or str, not {type(self.body).__name__}")
        if isinstance(self.headers, Mapping):
            object.__setattr__(self, "headers", tuple(self.headers.items()))
        else:
            object.__setattr__(self, "headers", tuple(tuple(h) for h in self.headers))
        if not 100 <= int(self.status) <= 999:
            raise ValueError(f"status {self.status} is not a three-digit HTTP status")
        if self.http_version is not None and self.http_version not in HTTP_VERSIONS:
            raise ValueError(f"http_version {self.http_version!r}: use one of {HTTP_VERSIONS}")
        if self.chunked and self.http_version == "HTTP/1.0":
            raise ValueError(
                "chunked responses need HTTP/1.1; an HTTP/1.0 answer cannot be chunked"
            )
        if self.slow_body is not None:
            n, interval = self.slow_body
            if n < 1 or interval < 0:
                raise ValueError(f"slow_body({n}, {interval}): need bytes >= 1 and interval >= 0")
        if self.delay < 0:
            raise ValueError(f"delay {self.delay} is negative")


Responder = Callable[[Request], Response]


@dataclass
class Step:
    response: Response | None = None
    responder: Responder | None = None
    count: int | None = None  # None: once, or forever when last
    served: int = 0

    def answer(self, request: Request) -> Response:
        if self.responder is not None:
            result = self.responder(request)
            if not isinstance(result, Response):
                raise TypeError(
                    f"respond_with callback returned {type(result).__name__}, not a Response"
                )
            return result
        assert self.response is not None
        return self.response


HeaderFilter = str | re.Pattern[str]


@dataclass
class Expectation:
    path: str
    method: str | None = None
    headers: dict[str, HeaderFilter] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    auth: BasicAuth | DigestAuth | None = None
    hits: int = 0
    challenges: int = 0
    _pending: dict[str, Any] = field(default_factory=dict)

    # -- matching -----------------------------------------------------------------
    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method.upper() != self.method.upper():
            return False
        if not self._path_matches(request.target):
            return False
        for name, want in self.headers.items():
            got = request.header(name)
            if got is None:
                return False
            if isinstance(want, re.Pattern):
                if not want.fullmatch(got):
                    return False
            elif got != want:
                return False
        return not self.exhausted

    def _path_matches(self, target: str) -> bool:
        want = self.path
        if want.lower().startswith(("http://", "https://")):
            return target.split("?", 1)[0] == want.split("?", 1)[0] and (
                "?" not in want or target == want
            )
        path, query = split_target(target)
        if "?" in want:
            return f"{path}?{query}" == want
        return path == want

    @property
    def exhausted(self) -> bool:
        if not self.steps:
            return False
        return self._current() is None

    def _current(self) -> Step | None:
        for i, step in enumerate(self.steps):
            last = i == len(self.steps) - 1
            limit = step.count if step.count is not None else (None if last else 1)
            if limit is None or step.served < limit:
                return step
        return None

    def next_step(self) -> Step:
        """The step the next matching request gets (marks it served).

        An expectation without steps answers 200 with an empty body.
        """
        if not self.steps:
            self.hits += 1
            return Step(Response(), served=1)
        step = self._current()
        if step is None:
            raise LookupError(f"expectation {self.describe()} is used up")
        step.served += 1
        self.hits += 1
        return step

    @property
    def unused_steps(self) -> int:
        return sum(1 for s in self.steps if s.served == 0)

    def describe(self) -> str:
        method = self.method or "ANY"
        extra = f" headers={self.headers}" if self.headers else ""
        return f"{method} {self.path}{extra}"

    # -- building -----------------------------------------------------------------
    def _add(self, step: Step) -> Self:
        if self._pending and step.response is not None:
            step.response = replace(step.response, **self._pending)
        elif self._pending:
            pending = dict(self._pending)
            inner = step.responder
            assert inner is not None
            step.responder = lambda request: replace(inner(request), **pending)
        self._pending = {}
        self.steps.append(step)
        return self

    def _modify(self, **changes: Any) -> Self:
        if not self.steps:
            self._pending.update(changes)
            return self
        step = self.steps[-1]
        if step.response is not None:
            step.response = replace(step.response, **changes)
        else:
            inner = step.responder
            assert inner is not None
            step.responder = lambda request: replace(inner(request), **changes)
        return self

    def respond(
        self,
        status: int = 200,
        body: bytes | str = b"",
        *,
        headers: Mapping[str, str] | tuple[tuple[str, str], ...] = (),
        reason: str | None = None,
        content_type: str | None = None,
        chunked: bool = False,
        http_version: str | None = None,
        content_length: bool = True,
        delay: float = 0.0,
        close_after: bool = False,
    ) -> Self:
        """Add a step answering `status` with `body`."""
        return self._add(
            Step(
                Response(
                    status=status,
                    body=body,  # type: ignore[arg-type]  # str is encoded in __post_init__
                    headers=headers,  # type: ignore[arg-type]
                    reason=reason,
                    content_type=content_type,
                    chunked=chunked,
                    http_version=http_version,
                    content_length=content_length,
                    delay=delay,
                    close_after=close_after,
                )
            )
        )

    then = respond

    def respond_with(self, fn: Responder) -> Self:
        """Add a step whose answer a callback computes: `fn(request) -> Response`."""
        return self._add(Step(responder=fn))

    def redirect(self, status: int, location: str, *, body: bytes | str = b"") -> Self:
        """Add a step answering a redirect (301, 302, 303, 307, 308) to `location`."""
        if status not in REDIRECT_STATUSES:
            raise ValueError(f"redirect status {status}: use one of {REDIRECT_STATUSES}")
        return self.respond(status, body, headers=(("Location", location),))

    def close(self) -> Self:
        """Add a step that closes the connection without answering."""
        return self._add(Step(Response(status=200, close=True)))

    def delay(self, seconds: float) -> Self:
        """Wait `seconds` (the server's clock) before answering (most recent step)."""
        return self._modify(delay=float(seconds))

    def slow_body(self, bytes_per_chunk: int, interval: float) -> Self:
        """Send the body `bytes_per_chunk` at a time, `interval` seconds apart."""
        return self._modify(slow_body=(int(bytes_per_chunk), float(interval)))

    def chunked(self, on: bool = True) -> Self:
        """Send the most recent step's body with chunked transfer encoding."""
        return self._modify(chunked=on)

    def times(self, n: int) -> Self:
        """Serve the most recent step exactly `n` times (also when it is the last)."""
        if n < 1:
            raise ValueError(f"times({n}): a step is served at least once")
        if not self.steps:
            raise ValueError("times() modifies a step: call respond() first")
        self.steps[-1].count = n
        return self

    def once(self) -> Self:
        return self.times(1)

    def require_auth(
        self,
        scheme: str,
        user: str,
        password: str,
        *,
        proxy: bool = False,
        realm: str = "harness",
        algorithm: str | tuple[str, ...] = "MD5",
    ) -> Self:
        """Challenge requests lacking valid credentials: 401 (or 407 with proxy=True)."""
        self.auth = make_authenticator(
            scheme, user, password, proxy=proxy, realm=realm, algorithm=algorithm
        )
        return self


class Script:
    """The server's expectations, in registration order, plus what matched nothing."""

    def __init__(self) -> None:
        self.expectations: list[Expectation] = []

    def expect(
        self,
        path: str,
        *,
        method: str | None = None,
        headers: Mapping[str, HeaderFilter] | None = None,
    ) -> Expectation:
        if not path.startswith("/") and not path.lower().startswith(("http://", "https://")):
            raise ValueError(f"expected path {path!r} must start with '/' (or be an absolute URL)")
        if method is not None and not re.fullmatch(r"[A-Za-z]+", method):
            raise ValueError(f"method {method!r} is not an HTTP method name")
        e = Expectation(path=path, method=method, headers=dict(headers or {}))
        self.expectations.append(e)
        return e

    def match(self, request: Request) -> Expectation | None:
        return next((e for e in self.expectations if e.matches(request)), None)

    def unused(self) -> list[Expectation]:
        """Expectations with a scripted step that no request received."""
        return [e for e in self.expectations if e.unused_steps or not e.steps and not e.hits]

    def clear(self) -> None:
        self.expectations.clear()
