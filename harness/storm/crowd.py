"""The asyncio crowd: thousands of `StormPhone`s on one event loop, in real time.

`StormConfig` says who the phones are (family, distinct identities: MAC, serial,
product cycling over the family's products), what they fetch (the server URL or a
Profile_Rule), the parameters in force (a storm may shorten
Resync_Error_Retry_Delay and friends), which quirks are mixed in, and how the
phones power up (evenly over `power_up_spread` seconds, or all at once).

`run_crowd(config)` drives them: one heap of deadlines (a phone is an entry, not a
task or a thread), a bounded pool of connection slots (`pool` phones talk at once;
the others queue, as behind a NAT's connection table), and the sim's own
adapters for the wire (`http_fetch`, `tftp_get`, the TLS checks), so a storm
phone speaks exactly as `harness sim` does. No provisioning logic here (the
engine decides) and no reporting (summary.py).
"""

from __future__ import annotations

import asyncio
import heapq
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from harness.clock import REAL_CLOCK, Clock
from harness.device.sim.adapters.http_client import http_fetch
from harness.device.sim.adapters.tftp_client import tftp_get
from harness.device.sim.adapters.tls_client import check_negotiated, check_server, client_context
from harness.device.sim.engine_table import DnsResult, Fetch, FetchResult, Resolve
from harness.device.sim.identity import Identity
from harness.device.sim.quirks import behaviour_for
from harness.spec.family import Family, load_family
from harness.storm.phone import StormPhone, static_dns_answer

# How often the runner wakes with nothing due (live progress, end checks): harness pacing.
TICK_S = 0.25


class StormConfigError(ValueError):
    """A storm set-up that cannot run (the message says what to change)."""


@dataclass
class StormConfig:
    server: str | None = None  # URL; a bare server gets the family's default profile path
    phones: int = 100
    family: str = "cisco-8831-3pcc"
    profile_rule: str | None = None  # a full Profile_Rule instead of --server
    power_up_spread: float = 0.0  # seconds over which the phones power up (0: all at once)
    duration: float | None = None  # stop after this many seconds (None: when all provisioned)
    until_provisioned: bool = True  # stop once every phone has applied a profile
    parameters: dict[str, str] = field(default_factory=dict)  # over the family defaults
    quirks: dict[str, int] = field(default_factory=dict)  # quirk name -> phones that have it
    first_index: int = 0  # identity number of the first phone (distinct across workers)
    seed: int = 0
    pool: int = 256  # connection slots shared by the crowd
    http_timeout: float = 10.0
    tftp_timeout: float = 1.0
    ca_pem: bytes | None = None  # the CA the phones trust for HTTPS
    client_cert_dir: Path | None = None  # SERIAL.pem/.key and generic.pem/.key (harness pki)
    device_ca: object | None = None  # a harness.pki CA to issue each phone's own certificate
    resolve: dict[str, str] = field(default_factory=dict)  # name -> IPv4 (the phones' DNS)
    _family: Family | None = field(default=None, repr=False, compare=False)
    _placement: dict[int, str] | None = field(default=None, repr=False, compare=False)

    def family_spec(self) -> Family:
        if self._family is None or self._family.name != self.family:
            self._family = load_family(self.family)
        return self._family

    def rule(self) -> str:
        fam = self.family_spec()
        if self.profile_rule:
            return self.profile_rule
        if not self.server:
            raise StormConfigError("storm: give a server URL or a Profile_Rule")
        url = self.server if "://" in self.server else "http://" + self.server
        if urlsplit(url).path in ("", "/"):
            return url.rstrip("/") + (fam.default("Profile_Rule") or "/$PN.cfg")
        return url

    def check(self) -> None:
        if self.phones < 1:
            raise StormConfigError("storm: --phones must be at least 1")
        if self.power_up_spread < 0:
            raise StormConfigError("storm: --power-up-spread must not be negative")
        if self.duration is not None and self.duration <= 0:
            raise StormConfigError("storm: --duration must be positive")
        if self.pool < 1:
            raise StormConfigError("storm: --pool must be at least 1")
        behaviour_for(list(self.quirks))  # QuirkError names an unknown quirk
        if sum(self.quirks.values()) > self.phones:
            raise StormConfigError(
                f"storm: {sum(self.quirks.values())} quirky phones asked for, "
                f"only {self.phones} in the crowd"
            )
        self.rule()

    def quirks_of(self, i: int) -> tuple[str, ...]:
        """Quirks of phone number i: the quirky phones are spread evenly through the crowd
        (so some power up early and some late), in the order the quirks are given."""
        if self._placement is None:
            total = sum(self.quirks.values())
            names = [name for name, count in self.quirks.items() for _ in range(count)]
            step = self.phones / total if total else 0.0
            self._placement = {int((k + 0.5) * step): name for k, name in enumerate(names)}
        name = self._placement.get(i)
        return (name,) if name else ()

    def build_phones(self) -> list[StormPhone]:
        self.check()
        return [self.make_phone(i) for i in range(self.phones)]

    def make_phone(self, i: int, number: int | None = None) -> StormPhone:
        """Phone i of the crowd (its quirks), identity number `number` (first_index + i)."""
        fam = self.family_spec()
        params = dict(self.parameters)
        params["Profile_Rule"] = self.rule()
        products = fam.products or (fam.default_product,)
        n = self.first_index + i if number is None else number
        identity = Identity.for_family(fam, n, product=products[n % len(products)])
        identity = self._with_certs(identity)
        return StormPhone(fam, identity, params, self.quirks_of(i), seed=self.seed + n)

    def _with_certs(self, identity: Identity) -> Identity:
        certs: dict[str, bytes] = {}
        if self.client_cert_dir is not None:
            d = self.client_cert_dir
            for prefix, name in (("", identity.serial), ("generic_", "generic")):
                pem, key = d / f"{name}.pem", d / f"{name}.key"
                if pem.is_file() and key.is_file():
                    certs[f"{prefix}cert_pem"] = pem.read_bytes()
                    certs[f"{prefix}key_pem"] = key.read_bytes()
        if self.device_ca is not None:
            cert = self.device_ca.issue_client_cert(  # type: ignore[attr-defined]
                identity.product, identity.serial, identity.mac
            )
            certs["cert_pem"] = cert.cert_pem.bytes()
            certs["key_pem"] = cert.private_key_pem.bytes()
        if not certs:
            return identity
        fields = {k: getattr(identity, k) for k in identity.__dataclass_fields__}
        fields.update(certs)
        return Identity(**fields)  # type: ignore[arg-type]

    def power_up_times(self, t0: float) -> list[float]:
        """When each phone powers up: evenly over the spread, in a seeded shuffled order."""
        n = self.phones
        if self.power_up_spread <= 0 or n == 1:
            return [t0] * n
        offsets = [self.power_up_spread * k / (n - 1) for k in range(n)]
        random.Random(self.seed).shuffle(offsets)
        return [t0 + o for o in offsets]


@dataclass
class Storm:
    """A storm run: the phones (with what they saw), when it started, how it ended."""

    config: StormConfig
    phones: list[StormPhone]
    started: float
    ended: float | None = None
    stopped_because: str = ""
    runner: str = "asyncio"

    @property
    def provisioned(self) -> int:
        return sum(1 for p in self.phones if p.provisioned_at is not None)


class PhoneIo:
    """The crowd's wire: carries out one phone request with the sim's adapters."""

    def __init__(self, config: StormConfig) -> None:
        self.config = config
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self, phone: StormPhone) -> ssl.SSLContext:
        key = phone.id if phone.identity.has_individual_cert else f"generic:{phone.quirks}"
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = client_context(
                phone.family, phone.identity, phone.engine.behaviour, self.config.ca_pem
            )
            self._contexts[key] = ctx
        return ctx

    async def resolve(self, action: Resolve) -> DnsResult:
        return static_dns_answer(self.config.resolve, action)

    async def fetch(self, phone: StormPhone, action: Fetch) -> FetchResult:
        if action.scheme == "tftp":
            r = await tftp_get(
                action.address, action.port, action.path, timeout=self.config.tftp_timeout
            )
            outcome = r.outcome if r.outcome != "error" else "connection-error"
            return FetchResult(outcome=outcome, body=r.data, error=r.error)
        ctx = None
        if action.scheme == "https":
            try:
                ctx = self._context(phone)
            except (ssl.SSLError, ValueError, OSError) as exc:
                return FetchResult(outcome="connection-error", error=f"TLS set-up: {exc}")
        behaviour = phone.engine.behaviour

        async def resolve_a(name: str) -> tuple[str, ...]:
            return (await self.resolve(Resolve(name=name))).addresses

        async def check(der: bytes | None, peer_ip: str) -> None:
            await check_server(der, action.host, peer_ip, phone.family, behaviour, resolve_a)

        return await http_fetch(
            action,
            timeout=self.config.http_timeout,
            ssl_context=ctx,
            check_server=check,
            check_cipher=lambda name: check_negotiated(name, behaviour),
            chunked_supported=behaviour.chunked_supported,
        )


async def run_crowd(
    config: StormConfig,
    *,
    clock: Clock = REAL_CLOCK,
    on_tick: Callable[[Storm, float], None] | None = None,
    tick_every: float = 1.0,
    phones: list[StormPhone] | None = None,
) -> Storm:
    """Run the storm until every phone is provisioned (or `config.duration` passes)."""
    phones = phones if phones is not None else config.build_phones()
    io = PhoneIo(config)
    t0 = clock.now()
    storm = Storm(config, phones, t0)
    pool = asyncio.Semaphore(config.pool)
    wake = asyncio.Event()
    heap: list[tuple[float, int]] = []
    scheduled: dict[int, float] = {}
    powered = [False] * len(phones)
    counts = {"powered": 0, "provisioned": 0}
    counted: set[int] = set()
    busy: set[asyncio.Task[None]] = set()

    def schedule(i: int) -> None:
        deadline = phones[i].next_deadline()
        if deadline is None:
            scheduled.pop(i, None)
            return
        scheduled[i] = deadline
        heapq.heappush(heap, (deadline, i))

    for i, at in enumerate(config.power_up_times(t0)):
        scheduled[i] = at
        heapq.heappush(heap, (at, i))

    async def converse(i: int, action: Fetch | Resolve) -> None:
        phone = phones[i]
        next_action: Fetch | Resolve | None = action
        try:
            while next_action is not None:
                start = clock.now()
                if isinstance(next_action, Resolve):
                    result: FetchResult | DnsResult = await io.resolve(next_action)
                else:
                    async with pool:
                        start = clock.now()
                        result = await io.fetch(phone, next_action)
                next_action = phone.complete(result, start, clock.now())
        except Exception as exc:  # an adapter bug must not stop the crowd
            phone.errors.append(f"I/O: {type(exc).__name__}: {exc}")
            phone.pending = None
        finally:
            if phone.provisioned_at is not None and i not in counted:
                counted.add(i)
                counts["provisioned"] += 1
            schedule(i)
            wake.set()

    def start(i: int, now: float) -> None:
        phone = phones[i]
        if not powered[i]:
            powered[i] = True
            counts["powered"] += 1
            action = phone.power_up(now)
        else:
            action = phone.fire(now)
        if action is None:
            schedule(i)
            return
        task = asyncio.create_task(converse(i, action))
        busy.add(task)
        task.add_done_callback(busy.discard)

    last_tick = t0
    try:
        while True:
            now = clock.now()
            while heap and heap[0][0] <= now:
                deadline, i = heapq.heappop(heap)
                if scheduled.get(i) != deadline:
                    continue  # superseded
                del scheduled[i]
                start(i, now)
            if on_tick is not None and now - last_tick >= tick_every:
                last_tick = now
                on_tick(storm, now)
            if config.duration is not None and now - t0 >= config.duration:
                storm.stopped_because = f"--duration {config.duration:g} s elapsed"
                break
            everyone = len(phones)
            if (
                config.until_provisioned
                and counts["powered"] == everyone
                and counts["provisioned"] == everyone
            ):
                storm.stopped_because = "every phone provisioned"
                break
            if not heap and not busy:
                storm.stopped_because = "no phone has anything left to do"
                break
            wait = TICK_S if not heap else min(TICK_S, max(0.0, heap[0][0] - clock.now()))
            wake.clear()
            if wait > 0:
                try:
                    await asyncio.wait_for(wake.wait(), wait)
                except TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)
    finally:
        for task in list(busy):
            task.cancel()
        if busy:
            await asyncio.gather(*busy, return_exceptions=True)
        storm.ended = clock.now()
        if on_tick is not None:
            on_tick(storm, storm.ended)
    return storm


def run_storm(config: StormConfig, **kwargs: object) -> Storm:
    """`run_crowd` on a fresh event loop (for callers outside asyncio)."""
    return asyncio.run(run_crowd(config, **kwargs))  # type: ignore[arg-type]
