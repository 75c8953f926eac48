"""The reference phone's provisioning logic as a sans-I/O state machine (h11 style).

`Engine.handle(event) -> list[action]`: events in (PowerUp, TimerFired,
DnsResult, FetchResult, CallStarted/CallEnded, AdminResync, AdminUpgrade,
Reboot), actions out (Resolve, Fetch, SendSyslog, SetTimer, CancelTimer,
ApplyProfile, UpgradeFirmware, AttemptDone). Which handler runs in which state
is the table in `engine_table.py`; this module holds the handlers. Table 3-1
comes from `harness.spec.status_row` / `transport_row`, delays from
`Parameters`, templates from the family file; quirks only through `Behaviour`.
No sockets, no clock (time comes in on each event), no randomness of its own
(an injected `random.Random`).
"""

from __future__ import annotations

import calendar
import ipaddress
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from harness.device.sim.engine_table import (
    TRANSITIONS,
    AdminResync,
    AdminUpgrade,
    ApplyProfile,
    AttemptDone,
    CancelTimer,
    DnsResult,
    EngineError,
    Event,
    Fetch,
    FetchResult,
    Rebooted,
    Resolve,
    SendSyslog,
    SetTimer,
    State,
    TimerFired,
    UpgradeFirmware,
)
from harness.device.sim.identity import Identity
from harness.device.sim.macro_values import PRVST, MacroState, macro_values, option_macro_values
from harness.device.sim.parameters import Parameters
from harness.device.sim.profile_rule import (
    RuleSyntaxError,
    RuleUrl,
    expand_options,
    parse_profile_rule,
    parse_upgrade_rule,
    resolve_url,
    select_alternative,
)
from harness.device.sim.quirks import Behaviour
from harness.profiles import (
    ProfileError,
    decrypt_profile,
    is_encrypted,
    is_gzip,
    load_profile_bytes,
)
from harness.spec._data import load_data
from harness.spec.family import Family
from harness.spec.macros import expand
from harness.spec.status_table import Action, StatusRow, status_row, transport_row
from harness.spec.user_agent import format_user_agent
from harness.spec.values import parse_bool, parse_delay_schedule

# A redirect chain longer than this is a loop (engine safety, not a spec fact).
MAX_REDIRECTS = 5
_TIMER_REASONS = ("resync", "forced-resync", "upgrade")
_RULE_DATA = load_data("profile_rule")
DEFAULT_PORTS: dict[str, int] = {k: int(v) for k, v in _RULE_DATA["schemes"].items()}
_VERSION_IN_NAME = re.compile(r"(\d+(?:\.\d+)+)")
_VERSION_IN_IMAGE = re.compile(rb"^version=([0-9][0-9A-Za-z.()_-]*)", re.M)


def firmware_version_of(image: bytes, path: str) -> str | None:
    """The release an image carries: a `version=X` line in its first 4 KiB, else its file name."""
    m = _VERSION_IN_IMAGE.search(image[:4096])
    if m:
        return m.group(1).decode("ascii")
    names = _VERSION_IN_NAME.findall(path.rsplit("/", 1)[-1])
    return names[-1] if names else None


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with query

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


@dataclass
class Job:
    """One resync (Profile_Rule.._D in sequence) or one upgrade in progress."""

    kind: str  # resync | upgrade
    prvst: int
    rules: list[str]  # parameter names still to try (resync), or the rule texts
    admin_url: str | None = None
    target: Target | None = None
    key: str | None = None
    credentials: tuple[str, str] | None = None
    method: str = "GET"
    body: bytes = b""
    addresses: list[str] = field(default_factory=list)
    address_index: int = 0
    redirects: int = 0
    auth_tries: int = 0
    challenge: str | None = None
    proxy_auth: bool = False
    srv_pending: bool = False
    upgrade_url: str = ""


class Engine:
    def __init__(
        self,
        family: Family,
        identity: Identity,
        params: Parameters | None = None,
        *,
        behaviour: Behaviour | None = None,
        rng: random.Random | None = None,
        dhcp_tftp_server: str | None = None,
    ) -> None:
        self.family = family
        self.identity = identity
        self.params = params if params is not None else Parameters(family)
        self.behaviour = behaviour or Behaviour()
        wrong_rule = self.behaviour.factory_profile_rule
        if wrong_rule is not None and self._p("Profile_Rule") == family.default("Profile_Rule"):
            self.params.apply({"Profile_Rule": wrong_rule})  # a quirk's factory rule
        self.rng = rng or random.Random(0)
        self.dhcp_tftp_server = dhcp_tftp_server  # DHCP option 66 ("host" or "host:port")
        self.state = State.OFF
        self.in_call = False
        self.now = 0.0
        self.job: Job | None = None
        self._deferred: list[Event] = []
        self._held: Event | None = None  # what WAITING_IDLE holds (a TimerFired or AdminResync)
        self._next_prvst = PRVST["power_up"]
        self._error_count = 0  # consecutive failed resyncs (back-off index)
        self._last_resync_at: float | None = None
        self._last_upgrade_at: float | None = None
        self._upgrade_held = False  # an upgrade failed: wait for the "upgrade" timer
        self._upgraded_urls: set[str] = set()
        self._upgst = ""
        self._upgerr = ""

    # -- the one entry point ---------------------------------------------------------
    def handle(self, event: Event) -> list[object]:
        entry = TRANSITIONS.get((self.state, type(event)))
        if entry is None:
            raise EngineError(
                f"engine: {type(event).__name__} is not accepted in state {self.state.value!r}"
            )
        name, allowed = entry
        self.now = event.at or self.now
        out: list[object] = []
        getattr(self, f"_on_{name}")(event, out)
        if self.state not in allowed:
            raise EngineError(
                f"engine: handler {name} left state {self.state.value!r} "
                f"(allowed: {sorted(s.value for s in allowed)})"
            )
        if self.state is State.WAITING and self._deferred:
            replay, self._deferred = self._deferred, []
            for ev in replay:
                if self.state is State.WAITING or (self.state, type(ev)) in TRANSITIONS:
                    out.extend(self.handle(ev))
                else:
                    self._deferred.append(ev)
        return out

    # -- handlers (named in engine_table.TRANSITIONS) ----------------------------------
    def _on_power_up(self, ev: Event, out: list) -> None:
        self.state = State.WAITING
        self._error_count = 0
        b = self.behaviour
        if self._bool("Resync_On_Reset") and b.powerup_resync:
            self._next_prvst = PRVST["power_up"]
            out.append(SetTimer(reason="resync", delay=self._random_delay()))
        elif self._periodic() > 0 and b.periodic_resync:
            self._next_prvst = PRVST["periodic"]
            out.append(SetTimer(reason="resync", delay=float(self._periodic())))

    def _on_reboot(self, ev: Event, out: list) -> None:
        out.extend(CancelTimer(reason=r) for r in _TIMER_REASONS)
        out.append(Rebooted())
        self.state = State.OFF
        self.job, self._held, self._deferred = None, None, []
        self._upgrade_held = False
        self._on_power_up(ev, out)

    def _on_timer(self, ev: TimerFired, out: list) -> None:
        if ev.reason == "upgrade":
            self._upgrade_held = False
            self._start_upgrade(self._p("Upgrade_Rule"), out, from_rule=True)
        elif ev.reason == "resync":
            if self.in_call and not self.behaviour.resync_during_call:
                self._hold(ev, out)
            else:
                self._start_resync(self._next_prvst, out)
        # a stale "forced-resync" in WAITING is ignored

    def _on_timer_while_held(self, ev: TimerFired, out: list) -> None:
        if ev.reason == "forced-resync":
            self._release(out)
        elif ev.reason == "upgrade":
            self._upgrade_held = False  # re-evaluated after the held resync

    def _on_call_started(self, ev: Event, out: list) -> None:
        self.in_call = True

    def _on_call_ended(self, ev: Event, out: list) -> None:
        self.in_call = False

    def _on_call_ended_release(self, ev: Event, out: list) -> None:
        self.in_call = False
        out.append(CancelTimer(reason="forced-resync"))
        self._release(out)

    def _on_admin_resync(self, ev: AdminResync, out: list) -> None:
        if self.state is State.WAITING_IDLE:
            self._held = ev  # the requested resync replaces the held one
            return
        if self.in_call and not self.behaviour.resync_during_call:
            self._hold(ev, out)
            return
        self._start_resync(PRVST["requested"], out, admin_url=ev.url)

    def _on_admin_upgrade(self, ev: AdminUpgrade, out: list) -> None:
        self._start_upgrade(ev.url, out, from_rule=False)

    def _on_defer(self, ev: Event, out: list) -> None:
        self._deferred.append(ev)

    def _on_resolved(self, ev: DnsResult, out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        if job.srv_pending:
            job.srv_pending = False
            self._resolve_or_fetch(out, srv_done=True)
            return
        if not ev.addresses:
            err = f"DNS lookup of {ev.name} failed ({ev.error or 'no A record'})"
            self._finish(out, transport_row("connection-error"), Action.C, None, err)
            return
        job.addresses = list(ev.addresses)
        job.address_index = 0
        self._fetch(out)

    def _on_fetched(self, ev: FetchResult, out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        row = status_row(ev.status) if ev.status is not None else transport_row(ev.outcome)
        action = self.behaviour.status_overrides.get(row.key, row.action)
        err = ev.error or self._status_text(ev)
        if action is Action.C and ev.status is None and row.key != "corrupt":
            # DNS-FAILOVER: no answer from this server; try the next A record.
            if self.behaviour.dns_failover and job.address_index + 1 < len(job.addresses):
                job.address_index += 1
                self._fetch(out)
                return
            if len(job.addresses) > 1:
                err = f"no server of {job.target.host} answered ({', '.join(job.addresses)}): {err}"
        if action is Action.REDIRECT_NOW:
            self._redirect(ev, row, out)
            return
        if action is Action.AUTH_RETRY:
            limit = self.behaviour.auth_max_retries
            limit = row.max_retries if limit is None else limit
            challenge = ev.header("Proxy-Authenticate") or ev.header("WWW-Authenticate")
            if job.credentials and challenge and job.auth_tries < limit:
                job.auth_tries += 1
                job.challenge = challenge
                job.proxy_auth = ev.header("Proxy-Authenticate") is not None
                self._fetch(out)
                return
            action = row.then or Action.C
            err = f"{err}: credentials refused" if job.credentials else f"{err}: no credentials"
        if action is Action.A and action is not row.action:
            self._next_rule(out, last=(row, ev.status))  # a quirk calls this a success
            return
        if action is Action.A:
            if job.kind == "upgrade":
                self._upgrade_done(ev, row, out)
                return
            try:
                values = self._read_profile(ev.body)
            except ProfileError as exc:
                row = transport_row("corrupt")
                if self.behaviour.status_overrides.get(row.key) is Action.A:
                    self._next_rule(out, last=(row, ev.status))  # a quirk reads it as success
                    return
                self._finish(out, row, row.action, ev.status, f"corrupt profile: {exc}")
                return
            self._apply(values, out)
            self._next_rule(out, last=(row, ev.status))
            return
        if (
            action is Action.B
            and row.key != "corrupt"
            and job.kind == "resync"
            and not self._bool("Resync_Fails_On_FNF")
        ):
            self._next_rule(out, last=(row, ev.status))  # a missing file is not a failure
            return
        self._finish(out, row, action, ev.status, err)

    # -- resync ---------------------------------------------------------------------
    def _hold(self, ev: Event, out: list) -> None:
        self._held = ev
        self.state = State.WAITING_IDLE
        out.append(SetTimer(reason="forced-resync", delay=float(self._int("Forced_Resync_Delay"))))

    def _release(self, out: list) -> None:
        held, self._held = self._held, None
        self.state = State.WAITING
        if isinstance(held, AdminResync):
            self._start_resync(PRVST["requested"], out, admin_url=held.url)
        else:
            self._start_resync(self._next_prvst, out)

    def _start_resync(self, prvst: int, out: list, admin_url: str | None = None) -> None:
        out.append(CancelTimer(reason="resync"))
        rules = [] if admin_url else list(self.behaviour.profile_rules)
        self.job = Job(kind="resync", prvst=prvst, rules=rules, admin_url=admin_url)
        self._last_resync_at = self.now
        self._next_rule(out, last=None)

    def _next_rule(self, out: list, last: tuple[StatusRow, int | None] | None) -> None:
        job = self.job
        assert job is not None
        while True:
            if job.admin_url is not None:
                text, job.admin_url, where = job.admin_url, None, "admin resync URL"
            elif job.rules:
                where = job.rules.pop(0)
                text = self._p(where)
            else:
                break
            if not text.strip():
                continue
            try:
                alternatives = parse_profile_rule(text)
            except RuleSyntaxError as exc:
                row = transport_row("connection-error")
                self._finish(out, row, Action.C, None, f"{where}: {exc}")
                return
            alt = select_alternative(alternatives, self._macros())
            if alt is None:
                continue
            self._assign(alt.assignments)
            if alt.url is None:
                continue
            opts = expand_options(alt.options, self._option_macros())
            job.key = opts.key or None
            job.credentials = (opts.uid, opts.pwd or "") if opts.uid else None
            if opts.post and not self.behaviour.post_as_get:
                job.method = "POST"
                gpp = self._p(f"GPP_{opts.post.upper()}")
                job.body = expand(gpp, self._macros()).encode("utf-8")
            elif not opts.post and self.behaviour.get_as_post:
                job.method, job.body = "POST", b""
            else:
                job.method, job.body = "GET", b""
            if not self._begin(alt.url, out, where):
                return
            return
        # every rule fetched (or nothing to fetch): the resync succeeded
        row, status = last if last else (transport_row("complete"), None)
        self._finish(out, row, Action.A, status, "")

    def _begin(self, url: RuleUrl, out: list, where: str) -> bool:
        """Point the job at a RuleUrl; False when it cannot be fetched (job finished)."""
        job = self.job
        assert job is not None
        try:
            url = resolve_url(url, self._macros())
        except RuleSyntaxError as exc:
            self._finish(out, transport_row("connection-error"), Action.C, None, f"bad URL: {exc}")
            return False
        host, port = url.host, url.port
        if host is None:
            if not self.dhcp_tftp_server or not self.behaviour.dhcp_option_66:
                row = transport_row("connection-error")
                self._finish(out, row, Action.C, None, f"{where}: no server and no DHCP option 66")
                return False
            host, _, p = self.dhcp_tftp_server.partition(":")
            if p and port == url.default_port:
                port = int(p)
        job.target = Target(url.scheme, host, port, url.target)
        job.redirects = job.auth_tries = 0
        job.challenge = None
        self._syslog(out, "request" if job.kind == "resync" else "upgrade_request")
        self._resolve_or_fetch(out)
        return True

    def _resolve_or_fetch(self, out: list, srv_done: bool = False) -> None:
        job = self.job
        assert job is not None and job.target is not None
        host = job.target.host
        try:
            ipaddress.ip_address(host)
        except ValueError:
            self.state = State.RESOLVING
            if self.behaviour.dns_srv_lookup and not srv_done:
                job.srv_pending = True
                out.append(Resolve(name=f"_{job.target.scheme}._tcp.{host}", qtype="SRV"))
            else:
                out.append(Resolve(name=host, qtype="A"))
            return
        job.addresses, job.address_index = [host], 0
        self._fetch(out)

    def _fetch(self, out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        t = job.target
        self.state = State.FETCHING
        headers: list[tuple[str, str]] = []
        if t.scheme != "tftp":
            default = DEFAULT_PORTS[t.scheme]
            headers.append(("Host", t.host if t.port == default else f"{t.host}:{t.port}"))
            headers.append(("User-Agent", self.user_agent()))
        out.append(
            Fetch(
                purpose=job.kind,
                scheme=t.scheme,
                host=t.host,
                address=job.addresses[job.address_index],
                port=t.port,
                path=t.path,
                method=job.method if t.scheme != "tftp" else "RRQ",
                headers=tuple(headers),
                body=job.body if job.method == "POST" else b"",
                credentials=job.credentials if job.challenge else None,
                challenge=job.challenge,
                proxy_auth=job.proxy_auth,
            )
        )

    def _redirect(self, ev: FetchResult, row: StatusRow, out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        location = ev.header("Location")
        if not location or job.redirects >= MAX_REDIRECTS:
            why = "no Location" if not location else f"more than {MAX_REDIRECTS} redirects"
            self._finish(out, row, Action.C, ev.status, f"redirect failed: {why}")
            return
        new = urlsplit(urljoin(job.target.url, location))
        scheme = new.scheme.lower()
        if scheme not in DEFAULT_PORTS or not new.hostname:
            self._finish(out, row, Action.C, ev.status, f"bad redirect Location {location!r}")
            return
        path = (new.path or "/") + (f"?{new.query}" if new.query else "")
        job.target = Target(scheme, new.hostname, new.port or DEFAULT_PORTS[scheme], path)
        job.redirects += 1
        job.auth_tries, job.challenge = 0, None
        self._resolve_or_fetch(out)

    def _read_profile(self, body: bytes) -> dict[str, str]:
        job = self.job
        assert job is not None
        digest = self.family.aes_kdf_digest
        if self.behaviour.aes_wrong_kdf:
            digest = "sha256" if digest == "md5" else "md5"
        data = body
        if job.key:
            if not is_encrypted(data):
                raise ProfileError("expected an AES-encrypted profile ([--key] given)")
            data = decrypt_profile(data, job.key, digest)
        if is_gzip(data) and not self.behaviour.gzip_supported:
            raise ProfileError("not a profile (gzip data not recognised)")
        return load_profile_bytes(data)

    def _apply(self, values: dict[str, str], out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        if self.behaviour.keep_profile_rule:
            values = {k: v for k, v in values.items() if not k.startswith("Profile_Rule")}
        self.params.apply(values)
        out.append(ApplyProfile(url=job.target.url, values=dict(values)))

    def _assign(self, assignments: object) -> None:
        pairs = dict(assignments or ())  # type: ignore[call-overload]
        if pairs:
            macros = self._macros()
            self.params.apply({k: expand(v, macros) for k, v in pairs.items()})

    # -- upgrade --------------------------------------------------------------------
    def _start_upgrade(self, text: str, out: list, *, from_rule: bool) -> None:
        if not text.strip():
            return
        self.job = Job(kind="upgrade", prvst=self._next_prvst, rules=[])
        where = "Upgrade_Rule" if from_rule else "admin upgrade URL"
        try:
            alts = parse_upgrade_rule(text)
            last_only = self.behaviour.upgrade_last_alternative and alts
            alt = alts[-1] if last_only else select_alternative(alts, self._macros())
        except RuleSyntaxError as exc:
            self._finish(out, transport_row("connection-error"), Action.C, None, f"{where}: {exc}")
            return
        if alt is None or alt.url is None:
            self.job = None
            return
        self._assign(alt.assignments)
        scheme = alt.url.scheme or "tftp"
        https_ok = self.behaviour.upgrade_https_allowed
        https_ok = self.family.upgrade_https_allowed if https_ok is None else https_ok
        self._last_upgrade_at = self.now
        if scheme == "tftp" and not self.behaviour.upgrade_tftp_allowed:
            self.job.target = Target(scheme, alt.url.host or "", alt.url.port, alt.url.target)
            row = transport_row("connection-error")
            self._finish(out, row, Action.C, None, f"{where}: firmware over TFTP not supported")
            return
        if scheme == "https" and not https_ok:
            self.job.target = Target(scheme, alt.url.host or "", alt.url.port, alt.url.target)
            self._finish(
                out,
                transport_row("connection-error"),
                Action.C,
                None,
                f"{where}: firmware over HTTPS is not allowed on {self.family.name}",
            )
            return
        rule_url = alt.url.render()
        if from_rule and rule_url in self._upgraded_urls:
            self.job = None  # this stage is done already
            return
        self.job.upgrade_url = rule_url
        self._begin(alt.url, out, where)

    def _upgrade_done(self, ev: FetchResult, row: StatusRow, out: list) -> None:
        job = self.job
        assert job is not None and job.target is not None
        version = firmware_version_of(ev.body, job.target.path)
        limit = self._p("Downgrade_Rev_Limit").strip()
        if version is None:
            self._finish(out, transport_row("corrupt"), Action.B, ev.status, "no firmware image")
            return
        if limit and version_key(version) < version_key(limit):
            err = f"image {version} is older than Downgrade_Rev_Limit {limit}"
            self._finish(out, transport_row("corrupt"), Action.B, ev.status, err)
            return
        self.identity = self.identity.with_firmware(version)
        self._upgraded_urls.add(job.upgrade_url)
        out.append(UpgradeFirmware(url=job.target.url, version=version))
        self._finish(out, row, Action.A, ev.status, f"upgraded to {version}")

    # -- the end of an attempt ------------------------------------------------------
    def _finish(
        self, out: list, row: StatusRow, action: Action, status: int | None, err: str
    ) -> None:
        job = self.job
        assert job is not None
        url = job.target.url if job.target else ""
        ok = action is Action.A
        if job.kind == "resync":
            self._syslog(out, "success" if ok else "failure", err=err)
        else:
            self._upgst, self._upgerr = ("success" if ok else "failure"), err
            self._syslog(out, "upgrade_success" if ok else "upgrade_failure", err=err)
        self.state = State.WAITING
        self.job = None
        if job.kind == "resync":
            delay = self._after_resync(ok, action, out, row.key)
            out.append(self._attempt(job, url, status, row, action, err, delay))
            if ok and not self._upgrade_held:
                self._start_upgrade(self._p("Upgrade_Rule"), out, from_rule=True)
            return
        delay = None
        if not ok:
            delay = self._schedule("Upgrade_Error_Retry_Delay", 0)
            self._upgrade_held = True
            out.append(SetTimer(reason="upgrade", delay=delay))
        out.append(self._attempt(job, url, status, row, action, err, delay))
        if self._bool("Resync_After_Upgrade_Attempt"):
            self._start_resync(PRVST["power_up"] if ok else PRVST["requested"], out)

    def _after_resync(self, ok: bool, action: Action, out: list, row_key: str = "") -> float | None:
        if not ok:
            self._next_prvst = PRVST["retry"]
            b_delay = self.behaviour.class_b_retry_delay
            row_delay = self.behaviour.row_retry_delay.get(row_key)
            if row_delay is not None:
                delay = row_delay
            elif action is Action.B and b_delay is not None:
                delay = b_delay
            else:
                delay = self._schedule("Resync_Error_Retry_Delay", self._error_count)
            self._error_count += 1
            out.append(SetTimer(reason="resync", delay=delay))
            return delay
        self._error_count = 0
        self._next_prvst = PRVST["periodic"]
        if not self.behaviour.periodic_resync:
            return None
        at = self._p("Resync_At").strip()
        if at:
            delay = self._until_time_of_day(at) + self.rng.randint(
                0, max(0, self._int("Resync_At_Random_Delay"))
            )
        elif self._periodic() > 0:
            delay = float(self._periodic()) + self._random_delay()
        else:
            return None
        out.append(SetTimer(reason="resync", delay=float(delay)))
        return float(delay)

    def _attempt(
        self,
        job: Job,
        url: str,
        status: int | None,
        row: StatusRow,
        action: Action,
        err: str,
        delay: float | None,
    ) -> AttemptDone:
        return AttemptDone(
            at=self.now,
            kind=job.kind,
            prvst=job.prvst,
            url=url,
            status=status,
            outcome=row.key,
            action_class=action.value,
            requirement=row.requirement,
            error=err,
            next_delay=delay,
        )

    # -- helpers --------------------------------------------------------------------
    def _p(self, name: str) -> str:
        """A parameter's text ('' when the phone has no such parameter)."""
        return self.params.get(name) or ""

    def _int(self, name: str) -> int:
        """A whole-number parameter; a value that is not one counts as 0 (never a crash)."""
        try:
            return self.params.get_int(name)
        except (ValueError, KeyError):
            return 0

    def _bool(self, name: str) -> bool:
        try:
            return self.params.get_bool(name)
        except (ValueError, KeyError):
            return parse_bool(self.family.default(name) or "No", name)

    def _schedule(self, name: str, index: int) -> float:
        """Delay number `index` of a delay parameter; a bad value falls back to the default."""
        try:
            return float(self.params.delay_schedule(name).delay(index, self.rng))
        except ValueError:
            # the family file's default (family loading checks every delay default parses)
            schedule = parse_delay_schedule(self.family.default(name), name)
            return float(schedule.delay(index, self.rng))

    def _periodic(self) -> int:
        return self._int("Resync_Periodic")

    def _random_delay(self) -> float:
        units = max(0, self._int("Resync_Random_Delay"))
        return float(self.rng.randint(0, units) * self.family.random_delay_unit_seconds)

    def _until_time_of_day(self, hhmm: str) -> float:
        """Seconds from now to the next HHmm (UTC: the simulated phone's time zone)."""
        digits = hhmm.replace(":", "")
        if not (digits.isdigit() and len(digits) == 4):
            return float(self._periodic() or 0)
        hour, minute = int(digits[:2]), int(digits[2:])
        day = time.gmtime(self.now)
        midnight = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0))
        target = midnight + hour * 3600 + minute * 60
        if target <= self.now:
            target += 86400
        return float(target - self.now)

    def user_agent(self) -> str:
        ident, b = self.identity, self.behaviour
        product = ident.product
        if b.ua_wrong_product:
            others = [p for p in self.family.products if p != product]
            product = others[0] if others else product[::-1]
        serial, mac = (ident.serial, ident.mac) if b.ua_identity else ("", "")
        return format_user_agent(
            self.family, product=product, serial=serial, mac=mac, firmware=ident.firmware
        )

    def _status_text(self, ev: FetchResult) -> str:
        if ev.status is not None:
            return f"HTTP {ev.status} {ev.reason}".rstrip()
        return ev.outcome

    def _macros(self, err: str = "") -> dict[str, str]:
        job = self.job
        t = job.target if job else None
        address = ""
        if job and job.addresses:
            address = job.addresses[min(job.address_index, len(job.addresses) - 1)]
        state = MacroState(
            provisioning_state=job.prvst if job else self._next_prvst,
            upgrade_state=self._upgst,
            upgrade_error=self._upgerr,
            seconds_since_resync=self._since(self._last_resync_at),
            seconds_since_upgrade=self._since(self._last_upgrade_at),
            error=err,
            gpp=self.params,
            server_ip=address,
        )
        values = macro_values(self.identity, state)
        if self.behaviour.ccert_values is not None:  # a quirk's words for $CCERT
            values["CCERT"] = self.behaviour.ccert_values[not self.identity.has_individual_cert]
        if t is not None:
            values.update(
                SCHEME=t.scheme,
                SERV=t.host,
                SERVIP=address or t.host,
                PORT=str(t.port),
                PATH=t.path,
            )
        return values

    def _since(self, when: float | None) -> float | None:
        return None if when is None else max(0.0, self.now - when)

    def _option_macros(self) -> dict[str, str]:
        """Macros for `--key`/`--uid`/`--pwd` arguments: all of them plus SA..SD."""
        values = self._macros()
        values.update(option_macro_values(self.params))
        return values

    def _syslog(self, out: list, role: str, *, err: str = "", target: Target | None = None) -> None:
        if not self.behaviour.syslog_enabled:
            return
        name = self.family.syslog_params.get(role)
        template = self._p(name) if name else ""
        if not template:
            return
        if self.behaviour.syslog_expand_macros:
            text = expand(template, self._macros(err=err))
        else:
            text = template
        out.append(SendSyslog(role=role, text=text))
