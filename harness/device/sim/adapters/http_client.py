"""HTTP/1.0 and 1.1 client of the simulated phone (plain or over TLS), with Basic/Digest.

`http_fetch(action, ...)` turns one engine `Fetch` into one request on a new
connection (the phone closes after each exchange) and returns the engine's
`FetchResult`: status, headers, de-chunked body, or the transport outcome
("connection-error", "timeout") with a cause. Authorization is computed here
from the challenge the engine hands over. Response heads and chunk-size lines are
read by `harness.wire.http` (its lenient head reader). No provisioning logic here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from harness.device.sim.adapters.source import local_bind
from harness.device.sim.adapters.tls_client import TlsRejected
from harness.device.sim.engine_table import Fetch, FetchResult
from harness.wire.http import ParseError, chunk_size, read_head

MAX_BODY = 16 * 1024 * 1024
MAX_HEADER = 64 * 1024
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


class HttpProtocolError(Exception):
    pass


def parse_challenge(value: str) -> tuple[str, dict[str, str]]:
    """(`basic`|`digest`, params) of a WWW-Authenticate / Proxy-Authenticate value."""
    scheme, _, rest = value.strip().partition(" ")
    params = {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(rest)
    }
    return scheme.lower(), params


def authorization(challenge: str, uid: str, pwd: str, method: str, uri: str) -> str:
    """The Authorization value answering `challenge` (Basic, or Digest RFC 7616 MD5/SHA-256)."""
    scheme, p = parse_challenge(challenge)
    if scheme != "digest":
        return "Basic " + base64.b64encode(f"{uid}:{pwd}".encode()).decode("ascii")
    algorithm = p.get("algorithm", "MD5")
    hname = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"

    def h(text: str) -> str:
        return hashlib.new(hname, text.encode()).hexdigest()

    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    ha1, ha2 = h(f"{uid}:{realm}:{pwd}"), h(f"{method}:{uri}")
    fields = [f'username="{uid}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, nc = os.urandom(8).hex(), "00000001"
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    fields.append(f"algorithm={algorithm}")
    if "opaque" in p:
        fields.append(f'opaque="{p["opaque"]}"')
    return "Digest " + ", ".join(fields)


def request_target(path: str) -> str:
    """The path as it goes on the request line: characters a URL may not hold raw (a macro
    value such as `$CCERT` = `Not Installed` brings a space) percent-encoded; what is
    already encoded, and the URL's own delimiters, left alone."""
    return quote(path, safe="/?&=:;,+$@!*'()%~")


def build_request(action: Fetch, version: str = "HTTP/1.1") -> bytes:
    target = request_target(action.path)
    lines = [f"{action.method} {target} {version}"]
    lines += [f"{k}: {v}" for k, v in action.headers]
    if action.challenge and action.credentials:
        header = "Proxy-Authorization" if action.proxy_auth else "Authorization"
        uid, pwd = action.credentials
        lines.append(
            f"{header}: {authorization(action.challenge, uid, pwd, action.method, target)}"
        )
    if action.method == "POST":
        lines.append("Content-Type: text/plain")
        lines.append(f"Content-Length: {len(action.body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (
        action.body if action.method == "POST" else b""
    )


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readline()
        if not line:
            raise HttpProtocolError("connection closed inside a chunked body")
        try:
            size = chunk_size(line.rstrip(b"\r\n"), len(body))
        except ParseError as exc:
            raise HttpProtocolError(exc.message) from None
        if size == 0:
            while (await reader.readline()).strip():  # trailers
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) > MAX_BODY:
            raise HttpProtocolError("body larger than the phone accepts")


async def read_response(
    reader: asyncio.StreamReader, method: str, *, chunked_supported: bool = True
) -> tuple[int, str, tuple[tuple[str, str], ...], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER:
        raise HttpProtocolError("response header too long")
    problems: list[str] = []
    start, headers = read_head(head, problems, response=True)
    if problems and problems[0].startswith("malformed status line"):
        raise HttpProtocolError(f"bad status line {start[:60]!r}")
    _, status_text, reason = (start.split(" ", 2) + [""])[:3]
    status = int(status_text)
    get = {k.lower(): v for k, v in headers}
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, reason, tuple(headers), b""
    if "chunked" in get.get("transfer-encoding", "").lower() and chunked_supported:
        body = await _read_chunked(reader)
    elif "content-length" in get and get["content-length"].isdigit():
        length = int(get["content-length"])
        if length > MAX_BODY:
            raise HttpProtocolError("body larger than the phone accepts")
        body = await reader.readexactly(length)
    else:
        body = await reader.read(MAX_BODY)
    return status, reason, tuple(headers), body


async def http_fetch(
    action: Fetch,
    *,
    timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    check_server: Callable[[bytes | None, str], Awaitable[None]] | None = None,
    check_cipher: Callable[[str | None], None] | None = None,
    chunked_supported: bool = True,
    version: str = "HTTP/1.1",
    local: str | None = None,
) -> FetchResult:
    """One exchange; `check_server(der, peer_ip)` may raise TlsRejected before any data goes."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(
                    action.address,
                    action.port,
                    ssl=ssl_context if action.scheme == "https" else None,
                    server_hostname=action.host if action.scheme == "https" else None,
                    local_addr=local_bind(local, action.address),
                )
            except ssl.SSLError as exc:
                return FetchResult(outcome="connection-error", error=f"TLS handshake: {exc}")
            except OSError as exc:
                where = f"{action.address}:{action.port}"
                return FetchResult(
                    outcome="connection-error", error=f"{where}: {exc.strerror or exc}"
                )
            if action.scheme == "https" and check_server is not None:
                sslobj = writer.get_extra_info("ssl_object")
                der = sslobj.getpeercert(binary_form=True) if sslobj else None
                try:
                    if check_cipher is not None:  # the negotiated suite (OpenSSL's name)
                        cipher = sslobj.cipher() if sslobj else None
                        check_cipher(cipher[0] if cipher else None)
                    await check_server(der, action.address)
                except TlsRejected as exc:
                    return FetchResult(outcome="connection-error", error=f"TLS: {exc}")
            writer.write(build_request(action, version))
            await writer.drain()
            status, reason, headers, body = await read_response(
                reader, action.method, chunked_supported=chunked_supported
            )
            return FetchResult(status=status, reason=reason, headers=headers, body=body)
    except TimeoutError:
        return FetchResult(outcome="timeout", error=f"no answer within {timeout:g} s")
    except (asyncio.IncompleteReadError, HttpProtocolError, asyncio.LimitOverrunError) as exc:
        return FetchResult(outcome="connection-error", error=f"bad HTTP response: {exc}")
    except (ssl.SSLError, OSError) as exc:
        return FetchResult(outcome="connection-error", error=f"connection failed: {exc}")
    finally:
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError, ssl.SSLError):
                pass
