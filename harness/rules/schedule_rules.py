"""Rules on when and where a device provisions: scheduling, upgrade, DNS failover, TFTP.

RESYNC-POWERUP, RESYNC-PERIODIC, RESYNC-IDLE (timing of resyncs against the
device's parameters), UPGRADE-PROTO, UPGRADE-MULTISTAGE (firmware requests),
REDIRECT-PREPROV (the preprovisioning profile's server is used from then on),
DNS-FAILOVER, DNS-ALL-DOWN (A records whose servers are dead), TFTP-DHCP66,
TFTP-DEFAULT-RULE, TFTP-RESYNC and TFTP-NAT (an environment fact shown by the
NAT simulation). Delays come from `ctx.param(...)` and the family file; what
only the scenario knows (power-up time, calls, dead servers, firmware paths,
the NAT kind) comes from `ctx.facts`. The tolerances below are the harness's,
not the spec's. Pure functions over observations: no sockets, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.observe.events import (
    DhcpExchange,
    DnsQuery,
    HttpExchange,
    Observation,
    SyslogMessage,
    TftpTransfer,
)
from harness.observe.timeline import DeviceTimeline
from harness.rules.attempts import Attempt, group_attempts, request_path, request_scheme
from harness.rules.capture_gaps import gap_between
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule
from harness.rules.tolerance import DelayWindow, tolerance_of
from harness.spec.macros import expand, template_regex

# -- harness tolerances (not spec facts) -------------------------------------------
# Each is pinned by a case just inside and one just outside
# (tests/rules/test_schedule_boundaries.py; RESYNC-PERIODIC's by the status-rule tests).
TIMING_TOLERANCE = 5.0  # seconds a scheduled request may be early or late
CYCLE_GAP = 30.0  # requests closer than this after the previous one belong to one resync
RELEASE_WINDOW = 60.0  # a resync held for a call must come this soon after the call ends
FAILOVER_WINDOW = 120.0  # the next A record must be tried this soon after the lookup
ALL_DOWN_SYSLOG_WINDOW = 120.0  # the error must reach syslog this soon after the lookup
NAT_BREAKS_TFTP = ("port-restricted", "symmetric")  # netsim kinds whose filtering drops TFTP
# TFTP ERROR code 1, "File not found" (RFC 1350): the TFTP form of a 404, which the status
# rules judge; TFTP-RESYNC counts it as an answer, not as a broken transfer.
TFTP_FILE_NOT_FOUND = 1


# -- helpers -----------------------------------------------------------------------
def _param(ctx: RuleContext, name: str) -> str:
    """A parameter as the device has it: a value the served profile set wins (facts)."""
    served = ctx.facts.get("profile_parameters")
    if isinstance(served, dict) and name in served:
        return str(served[name])
    return ctx.param(name)


def _int_param(ctx: RuleContext, name: str) -> int | None:
    text = _param(ctx, name).strip()
    try:
        return int(text) if text else 0
    except ValueError:
        return None


def _fact_time(ctx: RuleContext, name: str) -> float | None:
    value = ctx.facts.get(name)
    return float(value) if isinstance(value, int | float) else None


def _ok(req: Observation) -> bool:
    if isinstance(req, HttpExchange):
        return req.status is not None and 200 <= req.status < 300
    return isinstance(req, TftpTransfer) and req.outcome == "complete"


def _server_ip(req: Observation) -> str | None:
    return req.server[0] if req.server else None


_URL_PATH = re.compile(r"(?:(?:tftp|https?)://[^/\s|\]]+)?(/[^\s|;\]]+)")


def _firmware_paths(ctx: RuleContext) -> set[str]:
    """Paths of firmware images: the scenario's fact, else the literal paths in Upgrade_Rule."""
    paths = ctx.facts.get("firmware_paths")
    if isinstance(paths, Iterable) and not isinstance(paths, str):
        return {str(p) for p in paths}
    text = ctx.param("Upgrade_Rule")
    return {p for p in _URL_PATH.findall(text) if "$" not in p}


def _is_firmware(req: Observation, firmware: set[str]) -> bool:
    return request_path(req) in firmware


@dataclass(frozen=True)
class Cycle:
    """One resync as the network sees it: the attempts made one right after another."""

    attempts: tuple[Attempt, ...]

    @property
    def start(self) -> float:
        return self.attempts[0].start

    @property
    def end(self) -> float:
        return self.attempts[-1].end

    @property
    def ok(self) -> bool:
        return all(_ok(a.last) for a in self.attempts)


def resync_cycles(timeline: DeviceTimeline, ctx: RuleContext) -> list[Cycle]:
    """The device's resyncs (firmware requests left out), each a run of back-to-back attempts."""
    firmware = _firmware_paths(ctx)
    cycles: list[list[Attempt]] = []
    for a in group_attempts(timeline):
        if _is_firmware(a.requests[0], firmware):
            continue
        # Profile_Rule, _B, _C, _D follow one another in one resync; asking again for a
        # path this resync already asked for starts the next one, however soon.
        if (
            cycles
            and a.start - cycles[-1][-1].end <= CYCLE_GAP
            and a.path not in {c.path for c in cycles[-1]}
        ):
            cycles[-1].append(a)
        else:
            cycles.append([a])
    return [Cycle(tuple(c)) for c in cycles]


def _random_band(ctx: RuleContext) -> tuple[float, str] | None:
    units = _int_param(ctx, "Resync_Random_Delay")
    if units is None:
        return None
    unit = ctx.family.random_delay_unit_seconds
    return float(max(0, units) * unit), f"Resync_Random_Delay={units} x {unit} s"


def _calls(ctx: RuleContext) -> list[tuple[float, float]]:
    raw = ctx.facts.get("calls")
    if not isinstance(raw, Iterable):
        return []
    return [(float(s), float(e)) for s, e in raw]


def _t(x: float, origin: float | None) -> str:
    return f"+{x - origin:.0f} s" if origin is not None else f"{x:.0f}"


# -- scheduling --------------------------------------------------------------------
@rule("RESYNC-POWERUP")
def resync_powerup(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "RESYNC-POWERUP"
    on_reset = _param(ctx, "Resync_On_Reset").strip().lower()
    if on_reset in ("no", "0", "false", "disable"):
        return [finding(rid, Verdict.SKIPPED, "Resync_On_Reset = No: no power-up resync", timeline)]
    power_up = _fact_time(ctx, "power_up_time")
    band = _random_band(ctx)
    if power_up is None or band is None:
        why = (
            "the scenario did not record the power-up time"
            if power_up is None
            else f"Resync_Random_Delay {_param(ctx, 'Resync_Random_Delay')!r} is not a number"
        )
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    delay, how = band
    limit = delay + TIMING_TOLERANCE
    reqs = [a for a in group_attempts(timeline) if a.start >= power_up - TIMING_TOLERANCE]
    if not reqs:
        until = _fact_time(ctx, "observed_until")
        if until is not None and until - power_up > limit:
            why = f"no provisioning request in the {until - power_up:.0f} s after power-up; expected one within 0..{delay:.0f} s ({how})"
            return [finding(rid, Verdict.FAIL, why, timeline)]
        return [finding(rid, Verdict.INCONCLUSIVE, "no request after power-up seen", timeline)]
    first = reqs[0]
    seen = first.start - power_up
    expected = f"expected within 0..{delay:.0f} s ({how}, +{TIMING_TOLERANCE:.0f} s tolerance)"
    if seen > limit:
        why = f"the first request ({first.scheme} {first.path}) came {seen:.0f} s after power-up; {expected}"
        return [finding(rid, Verdict.FAIL, why, timeline, first.requests[0])]
    why = f"the first request ({first.scheme} {first.path}) came {max(seen, 0):.0f} s after power-up; {expected}"
    return [finding(rid, Verdict.PASS, why, timeline, first.requests[0])]


@rule("RESYNC-PERIODIC")
def resync_periodic(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "RESYNC-PERIODIC"
    period = _int_param(ctx, "Resync_Periodic")
    band = _random_band(ctx)
    if period is None or band is None:
        why = "Resync_Periodic or Resync_Random_Delay is not a number"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    if period == 0:
        return [finding(rid, Verdict.SKIPPED, "Resync_Periodic = 0: no periodic resync", timeline)]
    if _param(ctx, "Resync_At").strip():
        why = "Resync_At is set: it overrides Resync_Periodic"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    extra, how = band
    window = DelayWindow(float(period), float(period + extra), tolerance_of(ctx))
    hi = window.hi + window.tolerance.seconds
    expected = window.expected(f"Resync_Periodic={period} + up to {extra:g} s {how}")
    cycles = resync_cycles(timeline, ctx)
    calls = _calls(ctx)
    gaps: list[float] = []
    for cur, nxt in zip(cycles, cycles[1:], strict=False):
        if not cur.ok or any(s < nxt.start and e > cur.end for s, e in calls):
            continue  # a retry after failure, or a call moved it: other rules judge those
        if gap_between(ctx, cur.end, nxt.start):
            continue  # the capture missed part of this interval: it cannot be timed
        gap = nxt.start - cur.end
        if not window.admits(gap):
            why = f"after the successful resync ending at {cur.end:.0f} the next came {gap:.1f} s later; {expected}"
            first = nxt.attempts[0].requests[0]
            return [finding(rid, Verdict.FAIL, why, timeline, first)]
        gaps.append(gap)
    until = _fact_time(ctx, "observed_until")
    if cycles and cycles[-1].ok and until is not None and until - cycles[-1].end > hi:
        last = cycles[-1]
        why = f"no resync in the {until - last.end:.0f} s after the success at {last.end:.0f}; {expected}"
        return [finding(rid, Verdict.FAIL, why, timeline, last.attempts[-1].last)]
    if not gaps:
        why = "fewer than two successful resyncs one period apart were seen"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    seen = ", ".join(f"{g:.1f}" for g in gaps)
    why = f"{len(gaps)} periodic resyncs, {seen} s after the previous success; {expected}"
    return [finding(rid, Verdict.PASS, why, timeline, cycles[1].attempts[0].requests[0])]


@rule("RESYNC-IDLE")
def resync_idle(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "RESYNC-IDLE"
    calls = _calls(ctx)
    if not calls:
        return [finding(rid, Verdict.INCONCLUSIVE, "the scenario made no call", timeline)]
    forced, period = _int_param(ctx, "Forced_Resync_Delay"), _int_param(ctx, "Resync_Periodic")
    band = _random_band(ctx)
    if forced is None or period is None or band is None:
        why = "Forced_Resync_Delay, Resync_Periodic or Resync_Random_Delay is not a number"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    extra, _ = band
    cycles = resync_cycles(timeline, ctx)

    def last_success_before(t: float) -> Cycle | None:
        done = [c for c in cycles if c.ok and c.start < t]
        return done[-1] if done else None

    notes: list[str] = []
    tested = 0
    for n, (start, end) in enumerate(calls, 1):
        inside = [c for c in cycles if start < c.start < end]
        for c in inside:
            prev = last_success_before(c.start)
            due = max(start, prev.end + period) if prev and period else start
            earliest = due + forced - TIMING_TOLERANCE
            if c.start < earliest:
                why = (
                    f"a resync started {c.start - start:.0f} s into call {n} "
                    f"({end - start:.0f} s long); a due resync must wait until the phone is idle "
                    f"or Forced_Resync_Delay={forced} s has passed (not before {_t(earliest + TIMING_TOLERANCE, start)} into the call)"
                )
                return [finding(rid, Verdict.FAIL, why, timeline, c.attempts[0].requests[0])]
            notes.append(
                f"call {n}: forced after {c.start - due:.0f} s (Forced_Resync_Delay={forced})"
            )
            tested += 1
        prev = last_success_before(end)
        if prev is None or not period:
            continue
        due_by = prev.end + period + extra + TIMING_TOLERANCE
        if prev.end + period < start or due_by >= end:
            continue  # due before the call (a periodic matter) or not due before it ended
        after = [c for c in cycles if c.start >= end - TIMING_TOLERANCE]
        if not after:
            continue  # no resync at all afterwards: a periodic matter, not the call's
        tested += 1
        if after[0].start - end > RELEASE_WINDOW:
            why = (
                f"a resync fell due during call {n} (by {_t(due_by, start)} into it) and was "
                f"held, but came {after[0].start - end:.0f} s after the call ended; it must run "
                f"as soon as the phone is idle (within {RELEASE_WINDOW:.0f} s)"
            )
            return [finding(rid, Verdict.FAIL, why, timeline, after[0].attempts[0].requests[0])]
        notes.append(f"call {n}: held, made {after[0].start - end:.0f} s after the call ended")
    if not tested:
        why = "no resync fell due during the calls, so the idle rule was not exercised"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    why = "no resync during a call before Forced_Resync_Delay; " + "; ".join(notes)
    return [finding(rid, Verdict.PASS, why, timeline)]


# -- upgrade -----------------------------------------------------------------------
def _firmware_requests(timeline: DeviceTimeline, ctx: RuleContext) -> list[Observation]:
    firmware = _firmware_paths(ctx)
    return [r for a in group_attempts(timeline) for r in a.requests if _is_firmware(r, firmware)]


@rule("UPGRADE-PROTO")
def upgrade_proto(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "UPGRADE-PROTO"
    if ctx.family.upgrade_https_allowed:
        why = f"family {ctx.family.name} allows firmware over HTTPS"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    fw = _firmware_requests(timeline, ctx)
    https = [r for r in fw if request_scheme(r) == "https"]
    if https:
        r = https[0]
        why = f"firmware {request_path(r)} was requested over HTTPS; {ctx.family.name} upgrades over TFTP or HTTP only"
        return [finding(rid, Verdict.FAIL, why, timeline, r, also=https[1:])]
    if fw:
        schemes = ", ".join(sorted({request_scheme(r) for r in fw}))
        why = f"{len(fw)} firmware requests, over {schemes} only"
        return [finding(rid, Verdict.PASS, why, timeline, fw[0])]
    rule_text = ctx.param("Upgrade_Rule")
    resynced = any(c.ok for c in resync_cycles(timeline, ctx))
    if "https://" in rule_text and resynced:
        why = "the Upgrade_Rule named an HTTPS server and the device fetched no firmware over HTTPS"
        return [finding(rid, Verdict.PASS, why, timeline)]
    return [finding(rid, Verdict.INCONCLUSIVE, "no firmware request was seen", timeline)]


@rule("UPGRADE-MULTISTAGE")
def upgrade_multistage(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "UPGRADE-MULTISTAGE"
    raw = ctx.facts.get("upgrade_stages")
    if not isinstance(raw, list | tuple) or not raw:
        why = "the scenario did not say which firmware stages to expect"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    stages = [str(p) for p in raw]
    index = {p: i for i, p in enumerate(stages)}
    fetches = [r for a in group_attempts(timeline) for r in a.requests if request_path(r) in index]
    installed = 0
    for r in fetches:
        j = index[request_path(r)]
        if j > installed:
            why = (
                f"stage {j + 1} ({stages[j]}) was requested before stage {installed + 1} "
                f"({stages[installed]}) was installed; the Upgrade_Rule's $SWVER conditions "
                f"lead through {' -> '.join(stages)}"
            )
            return [finding(rid, Verdict.FAIL, why, timeline, r)]
        if j == installed and _ok(r):
            installed += 1
    if installed == len(stages):
        why = f"the {len(stages)} stages were fetched one after another: {' -> '.join(stages)}"
        return [finding(rid, Verdict.PASS, why, timeline, fetches[0], also=fetches[1:])]
    if fetches or any(c.ok for c in resync_cycles(timeline, ctx)):
        why = (
            f"the upgrade stopped after {installed} of {len(stages)} stages ({' -> '.join(stages)})"
        )
        about = fetches[-1] if fetches else None
        return [finding(rid, Verdict.FAIL, why, timeline, about)]
    return [finding(rid, Verdict.INCONCLUSIVE, "the device made no successful resync", timeline)]


# -- preprovisioning -----------------------------------------------------------------
@rule("REDIRECT-PREPROV")
def redirect_preprov(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "REDIRECT-PREPROV"
    pre, remote = ctx.facts.get("preprovision_path"), ctx.facts.get("remote_path")
    if not pre or not remote:
        why = "the scenario did not name the preprovisioning and remote profiles"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    reqs = [r for a in group_attempts(timeline) for r in a.requests]
    got_pre = [r for r in reqs if request_path(r) == pre and _ok(r)]
    if not got_pre:
        why = f"the preprovisioning profile {pre} was never fetched"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    t0 = got_pre[0].time
    later = [r for r in reqs if r.time > t0]
    if not later:
        why = (
            f"after the preprovisioning profile {pre} the device made no further request, so "
            "nothing shows which rule it uses (a missing resync is RESYNC-PERIODIC's to judge)"
        )
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline, got_pre[0])]
    remote_reqs = [r for r in later if request_path(r) == remote]
    if not remote_reqs:
        why = f"after the preprovisioning profile {pre} pointed the device at {remote}, it never asked for {remote}"
        return [finding(rid, Verdict.FAIL, why, timeline, got_pre[0])]
    # "from then on": every later resync reaches the remote server.
    for cyc in resync_cycles(timeline, ctx):
        if cyc.start <= t0:
            continue
        paths = [request_path(r) for a in cyc.attempts for r in a.requests]
        if remote not in paths and all(_ok(a.last) for a in cyc.attempts):
            why = f"a resync at {cyc.start:.0f} fetched {', '.join(paths)} but not the remote profile {remote}"
            return [finding(rid, Verdict.FAIL, why, timeline, cyc.attempts[0].requests[0])]
    if len(remote_reqs) < 2:
        why = f"the remote profile {remote} was fetched once; a second resync is needed to show it is kept"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline, remote_reqs[0])]
    scheme = request_scheme(remote_reqs[0])
    why = f"after {pre} the device fetched the remote profile {scheme} {remote} on each of its {len(remote_reqs)} later resyncs"
    return [finding(rid, Verdict.PASS, why, timeline, got_pre[0], also=remote_reqs)]


# -- DNS ---------------------------------------------------------------------------
def _dead(ctx: RuleContext) -> set[str] | None:
    raw = ctx.facts.get("dead_servers")
    if isinstance(raw, Iterable) and not isinstance(raw, str):
        return {str(x) for x in raw}
    return None


def _lookups(timeline: DeviceTimeline) -> list[DnsQuery]:
    return [q for q in timeline.of(DnsQuery) if q.qtype == "A" and q.answers]


def _requests_to(timeline: DeviceTimeline, ips: set[str], lo: float, hi: float) -> list:
    return [
        r
        for a in group_attempts(timeline)
        for r in a.requests
        if lo <= r.time <= hi and _server_ip(r) in ips
    ]


def _window_end(queries: list[DnsQuery], i: int, span: float) -> float:
    q = queries[i]
    later = [x.time for x in queries[i + 1 :] if x.qname == q.qname]
    return min([q.time + span, *later])


@rule("DNS-FAILOVER")
def dns_failover(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "DNS-FAILOVER"
    dead = _dead(ctx)
    queries = [q for q in _lookups(timeline) if len(q.answers) > 1]
    if not queries:
        why = "no provisioning name resolved to several A records"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    if dead is None:
        why = "the harness does not know which servers were down (no dead_servers fact)"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    passed: list[tuple[DnsQuery, Observation]] = []
    for i, q in enumerate(queries):
        if q.answers[0] not in dead:
            continue  # the first server answers: no failover needed
        live = {a for a in q.answers if a not in dead}
        if not live:
            continue  # all down: DNS-ALL-DOWN's case
        hi = _window_end(queries, i, FAILOVER_WINDOW)
        reached = _requests_to(timeline, live, q.time, hi)
        if not reached:
            why = (
                f"{q.qname} resolved to {', '.join(q.answers)}; {q.answers[0]} was down and the "
                f"device did not go on to {', '.join(sorted(live))} (within {hi - q.time:.0f} s)"
            )
            return [finding(rid, Verdict.FAIL, why, timeline, q)]
        passed.append((q, reached[0]))
    if not passed:
        why = "no lookup whose first A record was down and another up"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    q, r = passed[0]
    why = (
        f"{q.qname} resolved to {', '.join(q.answers)}; with {q.answers[0]} down the device "
        f"reached {_server_ip(r)} {r.time - q.time:.1f} s after the lookup"
    )
    return [finding(rid, Verdict.PASS, why, timeline, q, also=[r])]


@rule("DNS-ALL-DOWN")
def dns_all_down(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "DNS-ALL-DOWN"
    dead = _dead(ctx)
    queries = _lookups(timeline)
    down: list[tuple[int, DnsQuery]] = []
    for i, q in enumerate(queries):
        if dead is not None:
            if all(a in dead for a in q.answers):
                down.append((i, q))
        elif not _requests_to(timeline, set(q.answers), q.time, _window_end(queries, i, 1e9)):
            down.append((i, q))  # no record of the servers ever answering
    if not down:
        why = "no lookup whose A-record servers were all down"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    if not (ctx.param("Syslog_Server") or ctx.facts.get("syslog_server")):
        return [finding(rid, Verdict.SKIPPED, "no syslog server is configured", timeline)]
    name = ctx.family.syslog_params.get("failure")
    template = ctx.param(name) if name else ""
    if not template:
        why = f"the failure template {name or '(none)'} is empty: the message is suppressed"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    pattern = template_regex(template, {})
    msgs = timeline.of(SyslogMessage)
    for i, q in down:
        hi = _window_end(queries, i, ALL_DOWN_SYSLOG_WINDOW)
        near = [m for m in msgs if q.time <= m.time <= max(hi, q.time + ALL_DOWN_SYSLOG_WINDOW)]
        errors = [m for m in near if pattern.fullmatch(m.message)]
        if not errors:
            why = (
                f"{q.qname} resolved to {', '.join(q.answers)}, none of which answered, and no "
                f"error ({name}: {template!r}) reached syslog within {ALL_DOWN_SYSLOG_WINDOW:.0f} s"
            )
            return [finding(rid, Verdict.FAIL, why, timeline, q, also=near)]
    q = down[0][1]
    why = (
        f"{q.qname} resolved to {', '.join(q.answers)}, all down; each time an error went to syslog"
    )
    return [finding(rid, Verdict.PASS, why, timeline, q)]


# -- TFTP --------------------------------------------------------------------------
_OPTIONS = re.compile(r"^\s*(\[[^\]]*\]\s*)*")


def _rule_url(text: str) -> str:
    """A one-alternative rule's URL without its bracketed options."""
    return _OPTIONS.sub("", text.strip(), count=1).strip()


def _names_server(text: str) -> bool:
    url = _rule_url(text)
    return bool(url) and not url.startswith("/")


def _option_66(timeline: DeviceTimeline, ctx: RuleContext) -> tuple[str, int | None] | None:
    for d in timeline.of(DhcpExchange):
        value = d.offered_options.get(66)
        if value:
            return value.strip(), None
    raw = ctx.facts.get("dhcp_option_66")
    if isinstance(raw, str) and raw:
        host, _, port = raw.rpartition(":") if raw.count(":") == 1 else (raw, "", "")
        return host, int(port) if port.isdigit() else None
    if isinstance(raw, tuple | list) and len(raw) == 2:
        return str(raw[0]), int(raw[1])
    return None


def _tftp_reads(timeline: DeviceTimeline) -> list[TftpTransfer]:
    return [t for t in timeline.of(TftpTransfer) if t.op == "RRQ"]


@rule("TFTP-DHCP66")
def tftp_dhcp66(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "TFTP-DHCP66"
    profile_rule = ctx.param("Profile_Rule")
    if _names_server(profile_rule):
        why = f"Profile_Rule {profile_rule!r} names its server: DHCP option 66 is not used"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    server = _option_66(timeline, ctx)
    if server is None:
        why = "the harness gave the device no DHCP option 66 (none offered, no fact)"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    host, port = server
    where = f"{host}:{port}" if port else host
    reads = _tftp_reads(timeline)
    there = [t for t in reads if t.server and t.server[0] == host and port in (None, t.server[1])]
    if there:
        t = there[0]
        why = f"with no server in Profile_Rule {profile_rule!r} the device asked the option 66 server {where} for {t.filename}"
        return [finding(rid, Verdict.PASS, why, timeline, t)]
    others = [r for a in group_attempts(timeline) for r in a.requests]
    if others:
        r = others[0]
        why = f"the device asked {_server_ip(r)} for {request_path(r)}, not the DHCP option 66 server {where}"
        return [finding(rid, Verdict.FAIL, why, timeline, r)]
    power_up, until = _fact_time(ctx, "power_up_time"), _fact_time(ctx, "observed_until")
    band = _random_band(ctx)
    watched = until - power_up if power_up is not None and until is not None else 0.0
    if band is not None and watched > band[0] + TIMING_TOLERANCE:
        why = f"no TFTP request reached the DHCP option 66 server {where} in the {watched:.0f} s after power-up"
        return [finding(rid, Verdict.FAIL, why, timeline)]
    return [finding(rid, Verdict.INCONCLUSIVE, "the device made no request", timeline)]


def _identity_values(timeline: DeviceTimeline, ctx: RuleContext) -> dict[str, str]:
    values: dict[str, str] = {}
    product = ctx.identity.product or timeline.device.product
    if product:
        values["PN"] = product
    mac = (ctx.identity.mac or timeline.device.mac or "").lower().replace(":", "")
    if len(mac) == 12:
        values.update(
            MA=mac, MAU=mac.upper(), MAC=":".join(mac[i : i + 2] for i in range(0, 12, 2))
        )
    serial = ctx.identity.serial or timeline.device.serial
    if serial:
        values["SN"] = serial
    return values


@rule("TFTP-DEFAULT-RULE")
def tftp_default_rule(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "TFTP-DEFAULT-RULE"
    factory = ctx.family.default("Profile_Rule")
    if ctx.param("Profile_Rule") != factory:
        why = f"Profile_Rule is not the factory rule {factory!r}"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    reqs = [r for a in group_attempts(timeline) for r in a.requests]
    if not reqs:
        return [finding(rid, Verdict.INCONCLUSIVE, "the device made no request", timeline)]
    first = reqs[0]
    values = _identity_values(timeline, ctx)
    template = _rule_url(factory)
    expected = expand(template, values)  # the file a device with these values asks for
    path, scheme = request_path(first), request_scheme(first)
    if scheme != "tftp" or not template_regex(template, values).fullmatch(path):
        why = f"with the factory rule {factory!r} the first request was {scheme} {path}; expected TFTP {expected} (relative to the TFTP root)"
        return [finding(rid, Verdict.FAIL, why, timeline, first)]
    why = f"with the factory rule {factory!r} the device asked for TFTP {path}"
    return [finding(rid, Verdict.PASS, why, timeline, first)]


@rule("TFTP-RESYNC")
def tftp_resync(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "TFTP-RESYNC"
    firmware = _firmware_paths(ctx)
    reads = _tftp_reads(timeline)
    profiles = [t for t in reads if not _is_firmware(t, firmware)]
    images = [t for t in reads if _is_firmware(t, firmware)]
    if not profiles:
        return [finding(rid, Verdict.INCONCLUSIVE, "the device made no TFTP resync", timeline)]
    bad = [t for t in profiles if t.outcome != "complete" and t.error_code != TFTP_FILE_NOT_FOUND]
    good = [t for t in profiles if t.outcome == "complete"]
    if bad and not good:
        t = bad[0]
        why = f"the TFTP resync of {t.filename} did not complete ({t.outcome}: {t.error_message or 'no detail'})"
        return [finding(rid, Verdict.FAIL, why, timeline, t)]
    upgrade_rule = ctx.param("Upgrade_Rule")
    tftp_upgrade = bool(upgrade_rule.strip()) and not re.search(r"https?://", upgrade_rule)
    if not tftp_upgrade:
        why = "no Upgrade_Rule naming a TFTP server: upgrade over TFTP was not exercised"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline, good[0] if good else None)]
    if not images:
        why = f"the TFTP resync of {profiles[0].filename} worked but the device fetched no firmware over TFTP although Upgrade_Rule is {upgrade_rule!r}"
        return [finding(rid, Verdict.FAIL, why, timeline, profiles[0])]
    done = [t for t in images if t.outcome == "complete"]
    if not done:
        t = images[0]
        why = f"the TFTP firmware transfer of {t.filename} did not complete ({t.outcome})"
        return [finding(rid, Verdict.FAIL, why, timeline, t)]
    why = f"resync ({good[0].filename}) and upgrade ({done[0].filename}) both completed over TFTP"
    return [finding(rid, Verdict.PASS, why, timeline, good[0], also=[done[0]])]


@rule("TFTP-NAT")
def tftp_nat(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    rid = "TFTP-NAT"
    nat = ctx.facts.get("nat")
    if not isinstance(nat, dict) or "kind" not in nat:
        why = "environment fact: judged only where the harness simulates NAT (netsim scenario)"
        return [finding(rid, Verdict.SKIPPED, why, timeline)]
    kind, helper = str(nat["kind"]), bool(nat.get("tftp_helper", False))
    desc = f"{kind} NAT{' with the TFTP helper' if helper else ' (no TFTP helper)'}"
    reads = _tftp_reads(timeline)
    https = [h for h in timeline.of(HttpExchange)]
    if not reads or not https:
        why = f"behind {desc}: need a TFTP read and an HTTP request through the NAT, saw {len(reads)} and {len(https)}"
        return [finding(rid, Verdict.INCONCLUSIVE, why, timeline)]
    t = reads[0]
    h = next((x for x in https if _ok(x)), https[0])
    tftp_ok, http_ok = t.outcome == "complete", _ok(h)
    seen = (
        f"TFTP read of {t.filename}: {t.outcome} after {t.retransmissions} retransmissions; "
        f"{h.scheme.upper()} {h.method} {request_path(h)}: {h.status or h.outcome}"
    )
    breaks = kind in NAT_BREAKS_TFTP and not helper
    if not http_ok:
        why = f"behind {desc} HTTP did not work ({seen}); the environment fact says HTTP works"
        return [finding(rid, Verdict.FAIL, why, timeline, h, also=[t])]
    if breaks and tftp_ok:
        why = f"behind {desc} TFTP completed ({seen}); the environment fact says it fails (the server answers from a new port)"
        return [finding(rid, Verdict.FAIL, why, timeline, t, also=[h])]
    if breaks:
        why = f"reproduced: behind {desc} TFTP fails because the server answers from a new port the NAT drops, while HTTP works ({seen})"
        return [finding(rid, Verdict.PASS, why, timeline, t, also=[h])]
    if not tftp_ok:
        why = f"behind {desc} TFTP should work but did not ({seen})"
        return [finding(rid, Verdict.FAIL, why, timeline, t, also=[h])]
    why = f"behind {desc} TFTP and HTTP both work, as expected for this kind ({seen})"
    return [finding(rid, Verdict.PASS, why, timeline, t, also=[h])]
