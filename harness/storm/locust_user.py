"""`ReferencePhone`: a Locust User that is one reference phone (the sim's engine, via StormPhone).

Each user powers up when Locust spawns it (so `-u N -r N/S` powers N phones up over
S seconds), or at a seeded moment within `--storm-power-up-spread S` of its spawn (the
way to go under `--master`: Locust rebuilds its argument parser for every option on
every spawn message it hands a worker, so a slow `-r` there blocks the workers for
seconds and the master calls them missing; spawn fast and spread the power-ups), then lives the phone's life: it sleeps until the engine's next
deadline, makes the request the engine asks for (over `BlockingIo`, plain sockets
that gevent makes cooperative) and hands the answer back, until Locust stops it.
Every request is reported to Locust's `request` event with the phone's view:
name = the rule it follows, response time, bytes, an exception naming the Table
3-1 class for anything but class A, and a context with URL, status, class, phone.

Storm settings are Locust options (`--storm-server`, `--storm-set`...; also
environment variables STORM_SERVER...), so the web UI, `--csv`, `--headless` and
`--master` / `--worker` work as usual. Each worker numbers its phones from
`worker_index * WORKER_STRIDE`, so identities are distinct across workers. With
`--storm-out DIR` every process that ran phones writes its own storm.json/html
(the spec check runs where the phones' observations are).

This module imports locust (and so gevent's monkey-patching): only the Locust
file and Locust processes may import it, never harness at import time.
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import User, constant, events, task

from harness.device.sim.engine_table import Fetch, FetchResult, Resolve
from harness.storm.blocking_io import BlockingIo
from harness.storm.blocking_io import warm_up as warm_up_parser
from harness.storm.crowd import Storm, StormConfig
from harness.storm.phone import StormPhone, answer_class


def _warm_up() -> None:
    """Walk one throwaway phone through a 200 answer, so that every module a phone loads
    lazily (profile parsing, classification...) is imported now: an import inside a user
    blocks every greenlet of the process, long enough on a busy machine for the master to
    call its workers missing."""
    config = StormConfig(server="http://192.0.2.1/", phones=1)
    phone = config.make_phone(0)
    phone.power_up(0.0)
    if phone.fire(0.0) is None:
        phone.fire(phone.next_deadline() or 0.0)
    body = b"<flat-profile><Station_Name>warm-up</Station_Name></flat-profile>"
    phone.complete(FetchResult(status=200, body=body), 0.0, 0.0)
    if phone.provisioned_at is None:
        raise RuntimeError(f"storm warm-up: the phone did not provision ({phone.errors})")
    warm_up_parser()


_warm_up()
# gevent's loop caches "now" from when it was created (at `import locust`); importing
# harness after that takes seconds on a busy machine, and a timer Locust starts next
# (--run-time) would count them. Refresh the cached time once the imports are done.
gevent.get_hub().loop.update_now()

WORKER_STRIDE = 1_000_000  # identity numbers per worker process
IDLE_SLEEP_S = 1.0  # a phone with no timer (waiting on nothing) looks again this often


@events.init_command_line_parser.add_listener
def _storm_options(parser: Any) -> None:
    group = parser.add_argument_group("reboot storm (harness.storm)")
    group.add_argument(
        "--storm-server",
        env_var="STORM_SERVER",
        default="",
        help="provisioning server URL (default: --host); a bare server gets /$PN.cfg",
    )
    group.add_argument(
        "--storm-profile-rule", env_var="STORM_PROFILE_RULE", default="",
        help="a full Profile_Rule instead of --storm-server",
    )  # fmt: skip
    group.add_argument(
        "--storm-family", env_var="STORM_FAMILY", default="cisco-8831-3pcc",
        help="device family of the phones",
    )  # fmt: skip
    group.add_argument(
        "--storm-set", env_var="STORM_SET", default="",
        help="phone parameters, NAME=VALUE;NAME=VALUE (e.g. Resync_Error_Retry_Delay=30)",
    )  # fmt: skip
    group.add_argument(
        "--storm-quirk", env_var="STORM_QUIRK", default="",
        help="quirky phones per process, NAME:COUNT;NAME:COUNT",
    )  # fmt: skip
    group.add_argument(
        "--storm-http-timeout", env_var="STORM_HTTP_TIMEOUT", type=float, default=10.0,
        help="seconds a phone waits for an answer",
    )  # fmt: skip
    group.add_argument(
        "--storm-ca", env_var="STORM_CA", default="", help="PEM of the CA phones trust (HTTPS)"
    )
    group.add_argument(
        "--storm-client-certs", env_var="STORM_CLIENT_CERTS", default="",
        help="directory of SERIAL.pem/.key and generic.pem/.key client certificates",
    )  # fmt: skip
    group.add_argument(
        "--storm-resolve", env_var="STORM_RESOLVE", default="",
        help="the phones' DNS, NAME=IP;NAME=IP",
    )  # fmt: skip
    group.add_argument(
        "--storm-power-up-spread", env_var="STORM_POWER_UP_SPREAD", type=float, default=0.0,
        help="each phone powers up at a random moment within this many seconds of its spawn "
        "(use with a fast -r under --master: see docs/storm.md)",
    )  # fmt: skip
    group.add_argument(
        "--storm-out", env_var="STORM_OUT", default="",
        help="directory for each phone process's storm.json and storm.html",
    )  # fmt: skip


def _items(text: str, sep: str) -> list[tuple[str, str]]:
    out = []
    for item in filter(None, (t.strip() for t in text.split(";"))):
        name, mark, value = item.partition(sep)
        if not mark:
            raise ValueError(f"storm option item {item!r}: expected NAME{sep}VALUE")
        out.append((name.strip(), value.strip()))
    return out


def config_from_options(options: Any, host: str | None = None) -> StormConfig:
    """The StormConfig the Locust options describe (one per process)."""
    ca = Path(options.storm_ca).read_bytes() if options.storm_ca else None
    quirks = {k: int(v) for k, v in _items(options.storm_quirk, ":")}
    return StormConfig(
        server=options.storm_server or host or None,
        profile_rule=options.storm_profile_rule or None,
        # Locust decides how many phones; the quirky ones are a process's first users
        phones=max(1, sum(quirks.values())),
        family=options.storm_family,
        parameters=dict(_items(options.storm_set, "=")),
        quirks=quirks,
        http_timeout=options.storm_http_timeout,
        power_up_spread=options.storm_power_up_spread,
        ca_pem=ca,
        client_cert_dir=Path(options.storm_client_certs) if options.storm_client_certs else None,
        resolve={k.lower(): v for k, v in _items(options.storm_resolve, "=")},
    )


@events.init.add_listener
def _check_options(environment: Any, **_kw: Any) -> None:
    """Refuse bad storm options at start (a worker gets the master's options later)."""
    options = environment.parsed_options
    if options is None or getattr(options, "worker", False):
        return
    try:
        config = config_from_options(options, environment.host)
        config.check()
        config.make_phone(0)  # unknown parameter names
    except (ValueError, OSError, LookupError) as exc:  # StormConfigError, QuirkError, files
        print(f"harness storm (locust): {exc}", file=sys.stderr)
        sys.exit(2)


class _Process:
    """What one Locust process shares between its phones."""

    def __init__(self, config: StormConfig, timeout: float) -> None:
        self.config = config
        self.io = BlockingIo(timeout=timeout, ca_pem=config.ca_pem, resolve=config.resolve)
        self.phones: list[StormPhone] = []
        self.numbers = itertools.count()
        self.started = time.time()


_PROCESS: dict[int, _Process] = {}  # id(environment) -> shared state


def _process(environment: Any) -> _Process:
    proc = _PROCESS.get(id(environment))
    if proc is None:
        config = config_from_options(environment.parsed_options, environment.host)
        config.check()
        proc = _PROCESS[id(environment)] = _Process(config, config.http_timeout)
    return proc


class ReferencePhone(User):
    """One reference phone of the storm (see the module docstring)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        proc = _process(self.environment)
        local = next(proc.numbers)
        worker = max(0, getattr(self.environment.runner, "worker_index", 0) or 0)
        number = worker * WORKER_STRIDE + local
        self.phone = proc.config.make_phone(local, number=number)
        self.io = proc.io
        proc.phones.append(self.phone)
        spread = proc.config.power_up_spread
        if spread > 0:  # a seeded moment within the spread, the same wherever it runs
            gevent.sleep(random.Random(proc.config.seed + number).uniform(0.0, spread))
        self._converse(self.phone.power_up(time.time()))

    @task
    def live(self) -> None:
        deadline = self.phone.next_deadline()
        if deadline is None:
            gevent.sleep(IDLE_SLEEP_S)
            return
        gevent.sleep(max(0.0, deadline - time.time()))
        self._converse(self.phone.fire(time.time()))

    def _converse(self, action: Fetch | Resolve | None) -> None:
        while action is not None:
            start = time.time()
            if isinstance(action, Resolve):
                action = self.phone.complete(self.io.resolve(action), start, time.time())
                continue
            result = self.io.fetch(self.phone, action)
            end = time.time()
            self._report(action, result, start, end)
            action = self.phone.complete(result, start, end)

    def _report(self, fetch: Fetch, result: Any, start: float, end: float) -> None:
        klass = answer_class(result.status, result.outcome)
        answer = str(result.status) if result.status is not None else result.outcome
        exception = None
        if klass != "A":
            exception = RuntimeError(f"{answer} (Table 3-1 class {klass}) {result.error}".strip())
        self.environment.events.request.fire(
            request_type=fetch.method,
            name=f"{fetch.purpose} {self.phone.params.get('Profile_Rule')}"
            if fetch.purpose == "resync"
            else f"{fetch.purpose} {fetch.scheme}://{fetch.host}:{fetch.port}",
            response_time=(end - start) * 1000,
            response_length=len(result.body),
            exception=exception,
            context={
                "phone": self.phone.id,
                "url": fetch.url,
                "status": result.status,
                "outcome": result.outcome,
                "class": klass,
            },
            url=fetch.url,
            start_time=start,
            response=None,
        )


@events.test_stop.add_listener
def _write_report(environment: Any, **_kw: Any) -> None:
    proc = _PROCESS.pop(id(environment), None)
    out = getattr(environment.parsed_options, "storm_out", "") if environment.parsed_options else ""
    if proc is None or not proc.phones or not out:
        return
    from harness.storm.output import text_summary, write_outputs
    from harness.storm.summary import summarize

    proc.config.phones = len(proc.phones)
    storm = Storm(proc.config, proc.phones, proc.started, time.time(), "Locust stopped", "locust")
    summary = summarize(storm)
    worker = max(0, getattr(environment.runner, "worker_index", 0) or 0)
    write_outputs(summary, proc.phones, Path(out) / f"process-{worker}")
    print(text_summary(summary), flush=True)
