"""The simulated phone's admin web interface, as on a real phone.

`AdminServer(phone)` serves, on its own small asyncio HTTP/1.x server:
`/admin/resync[?<url>]`, `/admin/upgrade?<url>`, `/admin/reboot` (each posts an
event to the phone and answers at once), `/admin/status` (HTML) and
`/admin/status.json`. When credentials are set (MPP style) the trigger URLs
must end with `&xuser=…&xpassword=…`. Hostile requests get a 4xx and never stop
the server. No provisioning logic here: the engine handles the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import urllib.parse

from harness.device.sim.engine_table import AdminResync, AdminUpgrade, Reboot
from harness.device.sim.phone import SimPhone

MAX_HEAD = 16 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
}


def split_credentials(query: str) -> tuple[str, dict[str, str]]:
    """`url&xuser=a&xpassword=b` -> ("url", {"xuser": "a", "xpassword": "b"})."""
    creds: dict[str, str] = {}
    parts = query.split("&")
    while parts and parts[-1].split("=", 1)[0] in ("xuser", "xpassword"):
        name, _, value = parts.pop().partition("=")
        creds[name] = urllib.parse.unquote(value)
    return "&".join(parts), creds


class AdminServer:
    def __init__(
        self,
        phone: SimPhone,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.phone = phone
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> AdminServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AdminServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status, ctype, body = self.answer(head[:MAX_HEAD].decode("latin-1"))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, ctype, body = 400, "text/plain", b"bad request\n"
        except Exception as exc:  # never let one request stop the server
            status, ctype, body = 400, "text/plain", f"bad request: {exc}\n".encode()
        try:
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def answer(self, head: str) -> tuple[int, str, bytes]:
        line = head.split("\r\n", 1)[0]
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, "text/plain", b"bad request line\n"
        method, target = parts[0], parts[1]
        self.requests.append(target)
        if method not in ("GET", "POST"):
            return 405, "text/plain", b"GET only\n"
        path, _, query = target.partition("?")
        if path == "/admin/status.json":
            return 200, "application/json", json.dumps(self.phone.status(), indent=2).encode()
        if path == "/admin/status":
            return 200, "text/html; charset=utf-8", self._status_html().encode()
        if path not in ("/admin/resync", "/admin/upgrade", "/admin/reboot"):
            return 404, "text/plain", b"not found\n"
        url, creds = split_credentials(query)
        if self.user is not None and (
            creds.get("xuser") != self.user or creds.get("xpassword") != self.password
        ):
            return 401, "text/plain", b"xuser/xpassword required\n"
        url = urllib.parse.unquote(url)
        if path == "/admin/resync":
            self.phone.post(AdminResync(url=url or None))
        elif path == "/admin/upgrade":
            if not url:
                return 400, "text/plain", b"/admin/upgrade needs ?<url>\n"
            self.phone.post(AdminUpgrade(url=url))
        else:
            self.phone.post(Reboot())
        what = path.rsplit("/", 1)[-1]
        return 200, "text/html", f"<html><body>{what} requested</body></html>\n".encode()

    def _status_html(self) -> str:
        s = self.phone.status()
        esc = html.escape
        ident = "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in s["identity"].items()
        )
        attempts = "".join(
            f"<tr><td>{a['at']:.0f}</td><td>{esc(a['kind'])}</td><td>{esc(a['url'])}</td>"
            f"<td>{esc(a['outcome'])}</td><td>{esc(a['action_class'])}</td>"
            f"<td>{esc(a['error'])}</td><td>{a['next_delay']}</td></tr>"
            for a in s["attempts"]
        )
        params = "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in s["parameters"].items() if v
        )
        return (
            f"<html><head><title>{esc(s['identity']['product'])} status</title></head><body>"
            f"<h1>{esc(s['identity']['product'])} {esc(s['identity']['serial'])}</h1>"
            f"<p>User-Agent: {esc(s['user_agent'])}; state: {esc(s['state'])}</p>"
            f"<table>{ident}</table><h2>Attempts</h2><table>"
            "<tr><th>time</th><th>kind</th><th>url</th><th>outcome</th><th>class</th>"
            f"<th>error</th><th>next</th></tr>{attempts}</table>"
            f"<h2>Parameters</h2><table>{params}</table></body></html>\n"
        )
