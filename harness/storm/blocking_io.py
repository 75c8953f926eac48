"""A storm phone's request over plain blocking sockets, for gevent drivers (Locust users).

`blocking_fetch(phone, action, ...)` does what the asyncio crowd does with the sim's
`http_fetch`, on a `socket` (cooperative once gevent has patched it): connect, TLS
with the phone's own context and the spec's server-name checks
(`tls_client.check_server`), the request bytes from the sim's `build_request`, and
the answer read with the sim's own `read_response` (fed the bytes the server sent
until it closed: the phone asks `Connection: close`). So a Locust phone speaks and
reads exactly as `harness sim` does. TFTP is not carried here (Locust storms are
HTTP/HTTPS). No asyncio event loop runs: the sim's coroutines used here never wait
(their input is complete), and `_drive` says so if one ever tries.
No locust or gevent import here, and no provisioning logic.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Coroutine
from typing import Any, TypeVar

from harness.device.sim.adapters.http_client import (
    MAX_BODY,
    MAX_HEADER,
    HttpProtocolError,
    build_request,
    read_response,
)
from harness.device.sim.adapters.tls_client import (
    TlsRejected,
    check_negotiated,
    check_server,
    client_context,
)
from harness.device.sim.engine_table import DnsResult, Fetch, FetchResult, Resolve
from harness.storm.phone import StormPhone, static_dns_answer

T = TypeVar("T")
_PARSER_LOOP: asyncio.AbstractEventLoop | None = None


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that completes without waiting (its input is all there)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("blocking_io: a sim coroutine wanted to wait for I/O")


def warm_up() -> None:
    """Parse one answer now (imports, the parser's idle loop) rather than inside a user."""
    _parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", True)


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection; an address literal skips getaddrinfo (gevent runs that in a thread)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        return socket.create_connection((address, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _parse(data: bytes, method: str, chunked_supported: bool) -> tuple:
    global _PARSER_LOOP
    if _PARSER_LOOP is None:  # never run: StreamReader only needs one to exist
        _PARSER_LOOP = asyncio.new_event_loop()
    reader = asyncio.StreamReader(limit=MAX_HEADER, loop=_PARSER_LOOP)
    reader.feed_data(data)
    reader.feed_eof()
    return _drive(read_response(reader, method, chunked_supported=chunked_supported))


class BlockingIo:
    """The phones' wire for a gevent process: one TLS context per client certificate."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        ca_pem: bytes | None = None,
        resolve: dict[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.ca_pem = ca_pem
        self.names = dict(resolve or {})
        self._contexts: dict[str, ssl.SSLContext] = {}

    def resolve(self, action: Resolve) -> DnsResult:
        return static_dns_answer(self.names, action)

    def _context(self, phone: StormPhone) -> ssl.SSLContext:
        key = phone.id if phone.identity.has_individual_cert else f"generic:{phone.quirks}"
        if key not in self._contexts:
            self._contexts[key] = client_context(
                phone.family, phone.identity, phone.engine.behaviour, self.ca_pem
            )
        return self._contexts[key]

    def fetch(self, phone: StormPhone, action: Fetch) -> FetchResult:
        if action.scheme not in ("http", "https"):
            return FetchResult(
                outcome="connection-error", error=f"{action.scheme}: not carried by this driver"
            )
        behaviour = phone.engine.behaviour
        where = f"{action.address}:{action.port}"
        try:
            sock = _connect(action.address, action.port, self.timeout)
        except TimeoutError:
            return FetchResult(
                outcome="timeout", error=f"{where}: no connection in {self.timeout:g} s"
            )
        except OSError as exc:
            return FetchResult(outcome="connection-error", error=f"{where}: {exc.strerror or exc}")
        try:
            if action.scheme == "https":
                try:
                    sock = self._context(phone).wrap_socket(sock, server_hostname=action.host)
                    cipher = sock.cipher()
                    check_negotiated(cipher[0] if cipher else None, behaviour)

                    async def resolve_a(name: str) -> tuple[str, ...]:
                        return self.resolve(Resolve(name=name)).addresses

                    der = sock.getpeercert(binary_form=True)
                    _drive(
                        check_server(
                            der, action.host, action.address, phone.family, behaviour, resolve_a
                        )
                    )
                except TlsRejected as exc:
                    return FetchResult(outcome="connection-error", error=f"TLS: {exc}")
                except ssl.SSLError as exc:
                    return FetchResult(outcome="connection-error", error=f"TLS handshake: {exc}")
            sock.sendall(build_request(action))
            chunks, size = [], 0
            while size <= MAX_BODY + MAX_HEADER:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
            status, reason, headers, body = _parse(
                b"".join(chunks), action.method, behaviour.chunked_supported
            )
            return FetchResult(status=status, reason=reason, headers=headers, body=body)
        except TimeoutError:
            return FetchResult(outcome="timeout", error=f"no answer within {self.timeout:g} s")
        except (asyncio.IncompleteReadError, HttpProtocolError, asyncio.LimitOverrunError) as exc:
            return FetchResult(outcome="connection-error", error=f"bad HTTP response: {exc}")
        except (ssl.SSLError, OSError) as exc:
            return FetchResult(outcome="connection-error", error=f"connection failed: {exc}")
        finally:
            sock.close()
