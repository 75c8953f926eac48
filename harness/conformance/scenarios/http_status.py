"""Scenarios for Table 3-1: one per row (`http-404`, `http-5xx`, `http-corrupt`...).

Each scenario scripts the lab's HTTP server to answer the row's status (twice for the
failure classes, so the back-off schedule shows), then a valid profile; the device
provisions with a long `Resync_Periodic` (so success and failure delays differ) and
the rules in harness.rules.status_rules judge what it did next. The rows and their
requirement IDs come from harness.spec.status_table; no status code is written here.
Arranging only: no judging here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from harness.conformance.scenario import ScenarioRun, scenario
from harness.profiles import render_xml_profile
from harness.spec.catalog import requirement
from harness.spec.status_table import Action, StatusRow, all_status_rows, all_transport_rows

PATH = "/table-3-1/profile.cfg"
MOVED = "/table-3-1/moved.cfg"
# Longer than the spec's default (3600 s), so class A (Resync_Periodic) and class B/C
# (Resync_Error_Retry_Delay) delays differ in every family.
LONG_PERIODIC = "86400"
# How long (lab clock) a scenario waits for the attempts it needs: longer than any default delay.
WAIT = 4 * 86400.0
FAILURES = 2  # how many times a failing answer is served before the valid profile
AUTH_USER, AUTH_PASSWORD = "prov", "s3cret"
AUTH_SCHEMES = {"HTTP-401": "Digest", "HTTP-407": "Basic"}


def valid_profile() -> bytes:
    """A profile any phone reads, that changes nothing the rules time."""
    return render_xml_profile({"GPP_P": "table-3-1"})


def served(run: ScenarioRun, path: str, body: bytes, **extra: object) -> None:
    """Tell the rules what the next 200 answer on `path` carries."""
    run.facts.setdefault("served", {}).setdefault(path, []).append({"body": body, **extra})


def representative_status(row: StatusRow) -> int:
    """The row's own code, or for a range row (`4xx`) its first code no exact row claims."""
    if row.key.isdigit():
        return int(row.key)
    exact = {r.key for r in all_status_rows()}
    base = int(row.key[0]) * 100
    return next(c for c in range(base, base + 100) if str(c) not in exact)


async def provision_and_wait(run: ScenarioRun, attempts: int, rule: str | None = None) -> None:
    lab = run.lab
    await run.provision(
        Profile_Rule=rule or f"http://{lab.http.host}:{lab.http.port}{PATH}",
        Resync_Periodic=LONG_PERIODIC,
    )
    await run.wait_attempts(attempts, timeout=WAIT)


# -- rows with an outcome class (A, B, C) ----------------------------------------------
def class_scenario(row: StatusRow) -> Callable[[ScenarioRun], Awaitable[None]]:
    code = representative_status(row)

    async def run_row(run: ScenarioRun) -> None:
        lab = run.lab
        profile = valid_profile()
        if row.action is Action.A:
            lab.http.expect(PATH).respond(code, profile)
            served(run, PATH, profile)
            await provision_and_wait(run, 2)
            return
        headers = ()
        if code // 100 == 3:  # a redirect-shaped answer the phone must not follow
            headers = (("Location", lab.http.url_for(MOVED)),)
            lab.http.expect(MOVED).respond(200, profile)
        lab.http.expect(PATH).respond(code, b"", headers=headers).times(FAILURES).then(200, profile)
        served(run, PATH, profile)
        await provision_and_wait(run, FAILURES + 1)

    run_row.__doc__ = (
        f"The server answers {code} ({row.requirement}: class {row.action.value}) "
        f"{'' if row.action is Action.A else f'{FAILURES} times, then a valid profile'}; "
        "the device's next attempts must keep the spec's delays."
    )
    return run_row


# -- redirect-now rows ---------------------------------------------------------------------
def redirect_scenario(row: StatusRow) -> Callable[[ScenarioRun], Awaitable[None]]:
    code = int(row.key)

    async def run_row(run: ScenarioRun) -> None:
        lab = run.lab
        profile = valid_profile()
        lab.http.expect(PATH).redirect(code, lab.http.url_for(MOVED))
        lab.http.expect(MOVED).respond(200, profile)
        served(run, MOVED, profile)
        await provision_and_wait(run, 2)

    run_row.__doc__ = (
        f"The server answers {code} with a Location; the device must go there at once."
    )
    return run_row


# -- auth-retry rows -----------------------------------------------------------------------
def auth_scenario(row: StatusRow, *, accepted: bool) -> Callable[[ScenarioRun], Awaitable[None]]:
    proxy = "proxy" in requirement(row.requirement).text.lower()  # 407: proxy credentials

    async def run_row(run: ScenarioRun) -> None:
        lab = run.lab
        profile = valid_profile()
        scheme = AUTH_SCHEMES.get(row.requirement, "Basic")
        lab.http.expect(PATH).require_auth(scheme, AUTH_USER, AUTH_PASSWORD, proxy=proxy).respond(
            200, profile
        )
        served(run, PATH, profile)
        password = AUTH_PASSWORD if accepted else AUTH_PASSWORD + "-wrong"
        rule = f"[--uid {AUTH_USER} --pwd {password}]http://{lab.http.host}:{lab.http.port}{PATH}"
        await provision_and_wait(run, 2, rule)

    verb = "right" if accepted else "wrong"
    run_row.__doc__ = (
        f"The server challenges with {row.key}; the device holds the {verb} credentials: it "
        f"must retry at once, at most {row.max_retries} times"
        + ("." if accepted else ", then wait Resync_Error_Retry_Delay.")
    )
    return run_row


# -- transport rows --------------------------------------------------------------------
async def corrupt_profile(run: ScenarioRun) -> None:
    """The server answers 200 with a body that is no profile, twice, then a valid one."""
    lab = run.lab
    junk = b"\x00\x01 this is not a profile \xff\xfe"
    profile = valid_profile()
    lab.http.expect(PATH).respond(200, junk).times(FAILURES).then(200, profile)
    for _ in range(FAILURES):
        served(run, PATH, junk)
    served(run, PATH, profile)
    await provision_and_wait(run, FAILURES + 1)


async def connection_error(run: ScenarioRun) -> None:
    """The server closes the connection without an answer, twice, then serves a profile."""
    lab = run.lab
    profile = valid_profile()
    lab.http.expect(PATH).close().times(FAILURES).then(200, profile)
    served(run, PATH, profile)
    await provision_and_wait(run, FAILURES + 1)


class SilentFront:
    """A TCP front for the lab's HTTP server: the first `silent` connections get no answer
    (held open until the client gives up); later ones are relayed to the HTTP server.
    Each silent connection is told to the rules as an `unanswered` fact."""

    def __init__(self, run: ScenarioRun, silent: int = 1) -> None:
        self.run, self.silent = run, silent
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def __aenter__(self) -> SilentFront:
        self.server = await asyncio.start_server(self._connection, self.run.lab.host, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self._writers):
            w.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 2.0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.silent > 0:
                self.silent -= 1
                url = f"http://{self.run.lab.host}:{self.port}{PATH}"
                fact = {"time": self.run.lab.clock.now(), "outcome": "timeout", "url": url}
                self.run.facts.setdefault("unanswered", []).append(fact)
                while await reader.read(65536):  # say nothing until the client gives up
                    pass
                return
            http = self.run.lab.http
            # relay from the phone's own address, so the lab sees the phone (as without a
            # front); this harness-internal hop stays out of the scenario's pcap
            self.run.internal_ports.add(http.port)
            peer = writer.get_extra_info("peername")
            local = (peer[0], 0) if peer and peer[0] != http.host else None
            up_reader, up_writer = await asyncio.open_connection(
                http.host, http.port, local_addr=local
            )
            self._writers.add(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write_eof()


async def timeout(run: ScenarioRun) -> None:
    """The server accepts the connection and never answers; the next try gets a profile."""
    lab = run.lab
    profile = valid_profile()
    lab.http.expect(PATH).respond(200, profile)
    served(run, PATH, profile)
    async with SilentFront(run, silent=1) as front:
        await provision_and_wait(run, 2, f"http://{lab.host}:{front.port}{PATH}")


_TRANSPORT = {"corrupt": corrupt_profile, "connection-error": connection_error, "timeout": timeout}
_TRANSPORT_NAMES = {"connection-error": "connerr"}


def _register() -> None:
    for row in all_status_rows():
        name = f"http-{row.key}"
        if row.action is Action.REDIRECT_NOW:
            scenario(row.requirement, name=name)(redirect_scenario(row))
        elif row.action is Action.AUTH_RETRY:
            scenario(row.requirement, name=name)(auth_scenario(row, accepted=False))
            scenario(row.requirement, name=f"{name}-accepted")(auth_scenario(row, accepted=True))
        else:
            scenario(row.requirement, name=name)(class_scenario(row))
    for row in all_transport_rows():
        fn = _TRANSPORT.get(row.key)
        if fn is not None:
            scenario(row.requirement, name=f"http-{_TRANSPORT_NAMES.get(row.key, row.key)}")(fn)


_register()
