"""Rules of Table 3-1 (HTTP-200 ... HTTP-TIMEOUT) and of how profiles are fetched and read
(PROFILE-AES, PROFILE-GZIP, PROFILE-PLAIN-HTTP, HTTP-VERSIONS, HTTP-POST).

Each attempt's answer is looked up in the spec's table (`status_row`, `transport_row`);
the rules then judge what the device did next: redirect-now -> the next request goes to
the Location at once; auth-retry -> retried at once with credentials, at most
`max_retries` times, then the row's `then` class; class A -> the next attempt after
`Resync_Periodic` (+ 0..`Resync_Random_Delay` x the family's unit); B and C -> after the
N-th value of `Resync_Error_Retry_Delay` (N = consecutive failures).

What a 200 answer carried comes from the exchange itself when its source knew
(`response_content_kind`, `profile_valid`, `profile_gzipped`, `response_version`,
`response_chunked`: the live endpoint and the pcap analyzer both fill them), so a
capture from the field is judged like a live run. Facts a scenario (or an analyst)
may give in `RuleContext.facts`, used where the exchange says nothing:
- `served`: {path: [{"body": bytes, "version": "HTTP/1.0"}, ...]}: what the server's
  successive 200 answers on `path` carried (the last entry repeats);
- `firmware_paths`: paths that are firmware images, not profiles;
- `unanswered`: [{"time": t, "outcome": "timeout" | "connection-error", "url": u}]:
  connections the lab accepted (or saw refused) that got no HTTP answer.
Pure functions over observations; no I/O, and no status code or delay written here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from harness.observe.events import HttpExchange, Observation, TftpTransfer
from harness.observe.timeline import DeviceTimeline
from harness.profiles.classify import PROFILE_KINDS, classify_profile_body
from harness.rules.attempts import (
    FOLLOW_UP_WINDOW,
    Attempt,
    group_attempts,
    request_path,
    shared_value,
)
from harness.rules.capture_gaps import gap_between
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule
from harness.rules.tolerance import DelayWindow, at_once, tolerance_of
from harness.spec._data import load_data
from harness.spec.macros import expand, template_regex, unexpanded_macros
from harness.spec.status_table import (
    Action,
    StatusRow,
    all_status_rows,
    all_transport_rows,
    status_row,
    transport_row,
)
from harness.spec.values import parse_bool, parse_delay_schedule

# Harness tolerance (not a spec fact): how long a device may wait for an answer before
# it gives up. How far an observed delay may stray is harness.rules.tolerance.
UNANSWERED_WAIT_ALLOWANCE_S = 300.0
# TFTP error code for "file not found" (RFC 1350), the TFTP form of a 404.
_TFTP_NOT_FOUND = 1

_RULE_DATA = load_data("profile_rule")
_OPTIONS = tuple(o.removeprefix("--") for o in _RULE_DATA["options"])
_GPP_PREFIX = _RULE_DATA["gpp"]["prefix"]
_PROFILE_RULES = ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")


# -- what the device was told to fetch ---------------------------------------------------
@dataclass(frozen=True)
class RuleTarget:
    """One Profile_Rule* as far as the rules need it: its options and its URL path."""

    parameter: str
    options: dict[str, str]
    path: str | None


def _identity_macros(ctx: RuleContext) -> dict[str, str]:
    ident = ctx.identity
    values: dict[str, str] = {}
    if ident.product:
        values["PN"] = ident.product
    if ident.serial:
        values["SN"] = ident.serial
    if ident.mac:
        ma = ident.mac.lower().replace(":", "").replace("-", "")
        values.update(MA=ma, MAU=ma.upper(), MAC=":".join(ma[i : i + 2] for i in range(0, 12, 2)))
    return values


# The last rule_targets answer: rules ask for it many times per device (a cache of one).
_last_targets: tuple[object, list[RuleTarget]] | None = None


def rule_targets(ctx: RuleContext) -> list[RuleTarget]:
    """The configured profile rules (simple `[options] URL` form; alternatives use the last)."""
    global _last_targets
    key = (tuple(ctx.param(name) for name in _PROFILE_RULES), ctx.identity)
    last = _last_targets
    if last is not None and last[0] == key:
        return list(last[1])
    out = _rule_targets(key[0], ctx)
    _last_targets = (key, out)
    return list(out)


def _rule_targets(texts: tuple[str, ...], ctx: RuleContext) -> list[RuleTarget]:
    out = []
    for name, text in zip(_PROFILE_RULES, texts, strict=True):
        text = text.strip()
        if not text:
            continue
        text = text.split("|")[-1].strip()
        options: dict[str, str] = {}
        m = re.match(r"\s*\[([^\]]*)\]\s*", text)
        if m:
            for opt in _OPTIONS:
                om = re.search(rf"--{re.escape(opt)}\s+(\S+)", m.group(1))
                if om:
                    options[opt] = om.group(1)
            text = text[m.end() :]
        if "://" not in text:  # no scheme: TFTP; no server: the DHCP option 66 server
            text = ("tftp://dhcp" if text.startswith("/") else "tftp://") + text
        path = urlsplit(text).path or None
        if path and "$" in path:
            path = expand(path, _identity_macros(ctx))
            path = None if unexpanded_macros(path) else path
        out.append(RuleTarget(name, options, path))
    return out


def target_for(ctx: RuleContext, path: str) -> RuleTarget | None:
    targets = rule_targets(ctx)
    return next((t for t in targets if t.path == path), targets[0] if targets else None)


# -- what the server served --------------------------------------------------------------
def _served_entries(ctx: RuleContext, timeline: DeviceTimeline) -> dict[int, dict]:
    """id(exchange) -> the `served` fact entry of that 200 answer (k-th answer, last repeats)."""
    served = ctx.facts.get("served")
    if not isinstance(served, dict):
        return {}
    seen: dict[str, int] = {}
    out: dict[int, dict] = {}
    for ex in timeline.of(HttpExchange):
        if ex.status != 200:
            continue
        path = request_path(ex)
        entries = served.get(path)
        if not entries:
            continue
        k = seen.get(path, 0)
        seen[path] = k + 1
        out[id(ex)] = entries[min(k, len(entries) - 1)]
    return out


_URL_PATH = re.compile(r"(?:(?:tftp|https?)://[^/\s|\]]+)?(/[^\s|;\]]+)")
CLEAR_KINDS = frozenset({"xml-profile", "plain-profile", "gzip"})


@dataclass(frozen=True)
class Answer:
    """What one 200 answer carried, as far as known (None: unknown).

    `readable`: the body reads as a profile (under the key its classifier had);
    `valid`: the device can read it under the rule that asked for it (with `--key` it
    must be encrypted, without one it must not); `profile`: the answer is judged as a profile
    (a fact says so, it answers a profile rule's path, or it looks like one).
    """

    kind: str | None
    readable: bool | None
    valid: bool | None
    gzipped: bool | None
    version: str | None
    chunked: bool | None
    profile: bool


def _firmware_paths(ctx: RuleContext) -> set[str]:
    paths = ctx.facts.get("firmware_paths")
    if isinstance(paths, Iterable) and not isinstance(paths, str):
        return {str(p) for p in paths}
    return {p for p in _URL_PATH.findall(ctx.param("Upgrade_Rule")) if "$" not in p}


def answer_of(
    ex: HttpExchange, ctx: RuleContext, entry: dict | None = None, first_path: str | None = None
) -> Answer:
    """The answer's facts: the exchange's own fields, the `served` fact where they are None."""
    path = request_path(ex)
    target = target_for(ctx, first_path or path)
    key = target.options.get("key") if target else None
    kind, readable, gzipped = ex.response_content_kind, ex.profile_valid, ex.profile_gzipped
    body = entry.get("body") if entry else None
    if isinstance(body, bytes) and (kind is None or readable is None or gzipped is None):
        c = classify_profile_body(body, key if key and "$" not in key else None, _digest(ctx))
        kind = kind or c.content_kind
        readable = c.valid if readable is None else readable
        gzipped = c.gzipped if gzipped is None else gzipped
    valid = readable
    in_effect = target is not None and target.path in (path, first_path)
    if in_effect and kind is not None and not (key and "$" in key):
        encrypted = kind == "aes-openssl"
        if bool(key) != encrypted:
            valid = False  # a key and a clear file, or an encrypted file and no key
    version = ex.response_version or (entry.get("version") if entry else None)
    chunked = ex.response_chunked
    if chunked is None:
        chunked = any(
            k.lower() == "transfer-encoding" and "chunked" in v.lower()
            for k, v in ex.response_headers
        )
    paths = {t.path for t in rule_targets(ctx) if t.path}
    profile = (
        entry is not None
        or bool({path, first_path} & paths)
        or (kind in PROFILE_KINDS and path not in _firmware_paths(ctx))
    )
    return Answer(kind, readable, valid, gzipped, version, chunked, profile)


def _digest(ctx: RuleContext) -> str:
    return ctx.family.aes_kdf_digest


# -- attempts and their outcome class ----------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One attempt as Table 3-1 sees it: the row of its final answer and the class it makes."""

    start: float
    end: float
    row: StatusRow
    klass: Action  # A, B or C: what the spec says the attempt counts as
    what: str  # "HTTP 404 for /p.cfg", "no answer (timeout) from http://..."
    about: Observation | None = None
    attempt: Attempt | None = None
    answer: Answer | None = None  # what the final 200 answer carried
    allowance: float = 0.0  # time the device may have spent waiting before giving up


def _class_of(row: StatusRow, ctx: RuleContext) -> tuple[Action, str]:
    """The outcome class the spec gives a row, and a note when a setting changes it."""
    action = row.action
    if action is Action.AUTH_RETRY:
        return row.then or Action.C, f"credentials refused after {row.max_retries} retries"
    if action is Action.REDIRECT_NOW:
        return Action.C, "a redirect that was not followed"
    if action is Action.B and row.key != "corrupt":
        try:
            fails = parse_bool(ctx.param("Resync_Fails_On_FNF") or "Yes", "Resync_Fails_On_FNF")
        except ValueError:
            fails = True
        if not fails:
            return Action.A, "Resync_Fails_On_FNF = No: a missing file is not a failure"
    return action, ""


def _outcome_of(attempt: Attempt, ctx: RuleContext, served: dict[int, dict]) -> Outcome:
    last = attempt.last
    answer = None
    allowance = 0.0
    if isinstance(last, HttpExchange):
        path = request_path(last)
        if last.status is None:
            # the capture's transport outcomes: no request sent (refused, unreachable, never
            # answered) or a request whose answer never came (the client gave up waiting)
            row = transport_row("timeout" if last.outcome == "timeout" else "connection-error")
            if not last.request_sent:
                where = f"{last.server[0]}:{last.server[1]}" if last.server else "the server"
                what = f"{last.scheme} connection to {where} {last.note or 'failed'}"
                # TCP doubles its SYN retry timer: the client gave up about as long after its
                # last SYN as its SYNs spanned, so the next attempt may be that much later
                if last.outcome != "timeout":
                    allowance = last.duration or 0.0
            else:
                what = f"no answer ({last.outcome}) to {last.method} {path}"
        else:
            row = status_row(last.status)
            what = f"HTTP {last.status} for {last.method} {path}"
            if row.action is Action.A:
                answer = answer_of(last, ctx, served.get(id(last)), attempt.path)
                if answer.profile and answer.valid is False:
                    row = transport_row("corrupt")
                    what = f"HTTP {last.status} with a body that is not a valid profile ({path})"
    else:
        assert isinstance(last, TftpTransfer)
        path = request_path(last)
        if last.outcome == "complete":
            row = transport_row("complete")
        elif last.error_code == _TFTP_NOT_FOUND:
            row = transport_row("not-found")
        else:
            row = transport_row("timeout" if last.outcome == "timeout" else "connection-error")
        what = f"TFTP {last.outcome} for {path}"
    klass, _ = _class_of(row, ctx)
    return Outcome(attempt.start, attempt.end, row, klass, what, last, attempt, answer, allowance)


def outcomes(timeline: DeviceTimeline, ctx: RuleContext) -> list[Outcome]:
    """Every attempt of the device with its Table 3-1 row and class, in time order.

    Computed once per timeline and context while `registry.evaluate` runs its rules
    (the cached pair keeps `ctx` alive, so its id cannot be reused meanwhile).
    """
    _ctx, outs = shared_value(
        timeline, ("status_rules.outcomes", id(ctx)), lambda: (ctx, _outcomes(timeline, ctx))
    )
    return list(outs)


def _outcomes(timeline: DeviceTimeline, ctx: RuleContext) -> list[Outcome]:
    served = _served_entries(ctx, timeline)
    out = [_outcome_of(a, ctx, served) for a in group_attempts(timeline)]
    for fact in ctx.facts.get("unanswered") or ():
        row = transport_row(str(fact.get("outcome", "connection-error")))
        t = float(fact["time"])
        what = f"no answer ({row.key}) from {fact.get('url', 'the server')}"
        klass, _ = _class_of(row, ctx)
        allowance = UNANSWERED_WAIT_ALLOWANCE_S if row.key == "timeout" else 0.0
        out.append(Outcome(t, t, row, klass, what, allowance=allowance))
    out.sort(key=lambda o: o.start)
    return out


# -- timing ----------------------------------------------------------------------------
def expected_delay(
    klass: Action, failures_before: int, ctx: RuleContext
) -> tuple[float, float, str] | str:
    """(shortest, longest, the parameters they come from) for the next attempt after class
    `klass` (`failures_before` consecutive failures before this one); a reason when the
    spec gives no delay to judge against. The random parts the spec adds widen the span."""
    if klass is Action.A:
        if ctx.param("Resync_At").strip():
            return "Resync_At is set: the next resync follows the daily schedule"
        try:
            periodic = parse_delay_schedule(ctx.param("Resync_Periodic") or "0", "Resync_Periodic")
            units = int(ctx.param("Resync_Random_Delay") or "0")
        except ValueError as exc:
            return f"cannot read the periodic settings: {exc}"
        period = periodic.bounds(0)[0] if not periodic.is_empty else 0.0
        if period <= 0:
            return "Resync_Periodic = 0: no periodic resync is expected"
        unit = ctx.family.random_delay_unit_seconds
        extra = max(0, units) * unit
        text = (
            f"Resync_Periodic={ctx.param('Resync_Periodic')} + up to {extra:g} s "
            f"Resync_Random_Delay={units} x {unit:g} s"
        )
        return period, period + extra, text
    name = "Resync_Error_Retry_Delay"
    try:
        schedule = parse_delay_schedule(ctx.param(name), name)
    except ValueError as exc:
        return str(exc)
    if schedule.is_empty:
        return f"{name} is empty"
    lo, hi = schedule.bounds(failures_before)
    nth = ""
    if len(schedule.steps) > 1:
        nth = f"value {min(failures_before, len(schedule.steps) - 1) + 1} of "
        if failures_before >= len(schedule.steps):
            nth = f"retry {failures_before + 1}: the last value repeats, " + nth
    return lo, hi, f"{nth}{name}={ctx.param(name)}"


def judge_next(
    outs: list[Outcome], i: int, ctx: RuleContext, klass: Action | None = None
) -> tuple[Verdict, str]:
    """Was the attempt after outs[i] as late as the spec's class for outs[i] says?

    The gap runs from the end of outs[i] (its last request, or the end of its transfer)
    to the start of the next attempt; the window is the spec's delay (its random part
    included) ± the run's timing tolerance (`harness.rules.tolerance`).
    """
    cur = outs[i]
    klass = klass or cur.klass
    failures = 0
    for prev in reversed(outs[:i]):
        if prev.klass is Action.A:
            break
        failures += 1
    _, note = _class_of(cur.row, ctx)
    head = f"{cur.what} is class {klass.value}" + (f" ({note})" if note else "")
    expected = expected_delay(klass, failures, ctx)
    if isinstance(expected, str):
        return Verdict.INCONCLUSIVE, f"{head}; {expected}"
    lo, hi, text = expected
    window = DelayWindow(lo, hi, tolerance_of(ctx))
    if klass is Action.A:
        last = _resync_end(outs, i)
        if last != i:
            cur = outs[last]
            if cur.klass is not Action.A:
                return Verdict.INCONCLUSIVE, (
                    f"{head}; the resync went on with the next profile rule ({cur.what}), "
                    "whose own outcome sets the next attempt"
                )
            head += f", and the resync went on to {cur.what}"
            i = last
    if i + 1 >= len(outs):
        return Verdict.INCONCLUSIVE, (
            f"{head}; the device made no later attempt to time ({window.expected(text)})"
        )
    nxt = outs[i + 1]
    hole = gap_between(ctx, cur.end, nxt.start)
    if hole:
        return Verdict.INCONCLUSIVE, f"{head}; the next attempt cannot be timed: {hole}"
    gap = nxt.start - cur.end
    seen = f"the next attempt came {gap:.1f} s later"
    late_ok = gap <= window.hi + window.tolerance.seconds + cur.allowance
    if window.early(gap) or not late_ok:
        allowance = (
            f"; + {cur.allowance:g} s the device may have waited for the answer"
            if cur.allowance
            else ""
        )
        return Verdict.FAIL, f"{head}, but {seen}; {window.expected(text)}{allowance}"
    return Verdict.PASS, f"{head} and {seen}; {window.expected(text)}"


def _resync_end(outs: list[Outcome], i: int) -> int:
    """The last outcome of the resync outs[i] belongs to.

    Profile_Rule, Profile_Rule_B, _C and _D are fetched in turn on every resync, each
    right after the one before succeeded: an attempt for a path the resync has not
    fetched yet, starting within FOLLOW_UP_WINDOW of a success, continues it.
    """
    paths = {_path_of(outs[i])}
    j = i
    while (
        j + 1 < len(outs)
        and outs[j].klass is Action.A
        and outs[j + 1].start - outs[j].end <= FOLLOW_UP_WINDOW
        and _path_of(outs[j + 1]) not in paths
    ):
        j += 1
        paths.add(_path_of(outs[j]))
    return j


def _path_of(o: Outcome) -> str | None:
    return o.attempt.path if o.attempt is not None else None


def _verdict(
    req_id: str,
    timeline: DeviceTimeline,
    results: list[tuple[Verdict, str, Observation | None]],
    nothing: str,
) -> list[Finding]:
    """One finding from per-case results: the first FAIL, else PASS, else INCONCLUSIVE."""
    if not results:
        return [finding(req_id, Verdict.INCONCLUSIVE, nothing, timeline)]
    about = [o for _, _, o in results if o is not None]
    for verdict, why, obs in results:
        if verdict is Verdict.FAIL:
            return [finding(req_id, verdict, why, timeline, obs)]
    passed = [(why, obs) for verdict, why, obs in results if verdict is Verdict.PASS]
    if passed:
        why = passed[0][0]
        if len(passed) > 1:
            why = f"all {len(passed)} cases pass; first: {why}; last: {passed[-1][0]}"
        first = passed[0][1]
        return [finding(req_id, Verdict.PASS, why, timeline, first, also=about)]
    return [finding(req_id, Verdict.INCONCLUSIVE, results[0][1], timeline, results[0][2])]


def _judge_outcomes(
    req_id: str,
    timeline: DeviceTimeline,
    ctx: RuleContext,
    select: Callable[[Outcome], bool],
    nothing: str,
    label: Callable[[Outcome], str] | None = None,
) -> list[Finding]:
    outs = outcomes(timeline, ctx)
    results = []
    for i, o in enumerate(outs):
        if select(o):
            verdict, why = judge_next(outs, i, ctx)
            if label is not None:
                why = f"{label(o)}: {why}"
            results.append((verdict, why, o.about))
    return _verdict(req_id, timeline, results, nothing)


# -- Table 3-1: classes A, B, C ---------------------------------------------------------
def judge_class_rows(req_id: str, timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """`req_id`'s rows with an outcome class: was the next attempt as late as the class says?"""
    return _judge_outcomes(
        req_id,
        timeline,
        ctx,
        lambda o: o.row.requirement == req_id and o.row.action.is_outcome_class,
        f"no attempt of the device got an answer covered by {req_id}",
    )


def _rows_by_action() -> dict[str, set[Action]]:
    out: dict[str, set[Action]] = {}
    for row in (*all_status_rows(), *all_transport_rows()):
        out.setdefault(row.requirement, set()).add(row.action)
    return out


# -- Table 3-1: redirect-now -------------------------------------------------------------
def judge_redirect_rows(req_id: str, timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """`req_id`'s redirect-now rows: was the Location asked for at once?"""
    reqs = [o for a in group_attempts(timeline) for o in a.requests]
    results = []
    for i, ex in enumerate(reqs):
        if not isinstance(ex, HttpExchange) or ex.status is None:
            continue
        row = status_row(ex.status)
        if row.requirement != req_id or row.action is not Action.REDIRECT_NOW:
            continue
        location = next((v for k, v in ex.response_headers if k.lower() == "location"), None)
        head = f"HTTP {ex.status} for {ex.method} {request_path(ex)}"
        if not location:
            results.append((Verdict.INCONCLUSIVE, f"{head} carried no Location", ex))
            continue
        results.append(_judge_redirect(ex, location, reqs[i + 1 :], head, ctx))
    return _verdict(req_id, timeline, results, f"the server sent no answer covered by {req_id}")


def _judge_redirect(
    ex: HttpExchange, location: str, later: list[Observation], head: str, ctx: RuleContext
) -> tuple[Verdict, str, Observation | None]:
    base = f"{ex.scheme}://{ex.host or 'server'}{ex.url}"
    new = urlsplit(urljoin(base, location))
    want_path = new.path or "/"
    want = f"{want_path}?{new.query}" if new.query else want_path
    if not later:
        return Verdict.FAIL, f"{head}: the device never requested the Location {location}", ex
    nxt = later[0]
    gap = nxt.time - ex.time
    window = at_once(tolerance_of(ctx))
    if not window.admits(gap):
        why = (
            f"{head}: the next request came {gap:.1f} s later (to {request_path(nxt)}); "
            f"{window.expected(f'Table 3-1: follow the Location {location}')}"
        )
        return Verdict.FAIL, why, ex
    got = nxt.url if isinstance(nxt, HttpExchange) else request_path(nxt)
    if urlsplit(got).path != want_path or (new.query and urlsplit(got).query != new.query):
        why = f"{head}: the device then asked for {got}, not the Location {location}"
        return Verdict.FAIL, why, ex
    if new.port and nxt.server and nxt.server[1] != new.port:
        why = f"{head}: the device went to port {nxt.server[1]}, not {new.port} of {location}"
        return Verdict.FAIL, why, ex
    why = f"{head}: the device asked for {want} {gap:.1f} s later; {window.expected('Table 3-1')}"
    return Verdict.PASS, why, ex


# -- Table 3-1: auth-retry ---------------------------------------------------------------
def _credentials_header(ex: HttpExchange) -> str:
    proxy = any(k.lower() == "proxy-authenticate" for k, _ in ex.response_headers)
    return "Proxy-Authorization" if proxy else "Authorization"


def judge_auth_rows(req_id: str, timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """`req_id`'s auth-retry rows: retried at once with credentials, at most max_retries?"""
    outs = outcomes(timeline, ctx)
    results = []
    for i, o in enumerate(outs):
        if o.attempt is None:
            continue
        reqs = list(o.attempt.requests)
        first = next(
            (
                k
                for k, r in enumerate(reqs)
                if isinstance(r, HttpExchange)
                and r.status is not None
                and status_row(r.status).requirement == req_id
                and status_row(r.status).action is Action.AUTH_RETRY
            ),
            None,
        )
        if first is None:
            continue
        results.append(_judge_auth(outs, i, reqs, first, ctx))
    return _verdict(req_id, timeline, results, f"the server sent no answer covered by {req_id}")


def _judge_auth(
    outs: list[Outcome], i: int, reqs: list[Observation], first: int, ctx: RuleContext
) -> tuple[Verdict, str, Observation | None]:
    challenge = reqs[first]
    assert isinstance(challenge, HttpExchange) and challenge.status is not None
    row = status_row(challenge.status)
    head = f"HTTP {challenge.status} for {challenge.method} {request_path(challenge)}"
    header = _credentials_header(challenge)
    retries = [r for r in reqs[first + 1 :] if isinstance(r, HttpExchange)]
    target = target_for(ctx, request_path(challenge))
    has_credentials = bool(target and "uid" in target.options)
    if has_credentials and not retries:
        why = (
            f"{head}: the device did not retry with credentials at once although its "
            f"profile rule gives --uid (up to {row.max_retries} retries expected)"
        )
        return Verdict.FAIL, why, challenge
    if len(retries) > row.max_retries:
        why = f"{head}: the device retried {len(retries)} times; the spec allows at most {row.max_retries}"
        return Verdict.FAIL, why, retries[row.max_retries]
    bare = next((r for r in retries if r.header(header) is None), None)
    if bare is not None:
        return Verdict.FAIL, f"{head}: a retry carried no {header} header", bare
    window = at_once(tolerance_of(ctx))
    gaps = []
    for n, (prev, retry) in enumerate(zip(reqs[first:], reqs[first + 1 :], strict=False), 1):
        gap = retry.time - prev.time
        gaps.append(f"{gap:.1f}")
        if not window.admits(gap):
            answer = prev.status if isinstance(prev, HttpExchange) else None
            why = (
                f"{head}: retry {n} with {header} came {gap:.1f} s after the {answer}; "
                f"{window.expected('Table 3-1: retry with credentials at once')}"
            )
            return Verdict.FAIL, why, retry
    # the last answer to the challenge or a retry (a TFTP transfer made meanwhile is none)
    final = retries[-1] if retries else challenge
    if final.status == challenge.status:
        verdict, why = judge_next(outs, i, ctx)
        lead = f"retried {len(retries)} time(s) with {header}, still refused; "
        return verdict, lead + why, challenge
    why = (
        f"{head}: retried with {header} ({len(retries)} retry/retries, "
        f"{', '.join(gaps)} s after the answer), then HTTP {final.status}; "
        f"{window.expected('Table 3-1: at once')}"
    )
    return Verdict.PASS, why, challenge


# The table's rules are made at import; what they do is in the judge_*_rows functions
# above, which run when a rule is asked (so mutation testing reaches them, docs/mutation.md).
RowJudge = Callable[[str, DeviceTimeline, RuleContext], list[Finding]]


def table_rule(req_id: str, judge_rows: RowJudge) -> Callable[..., list[Finding]]:
    """The rule of requirement `req_id`: `judge_rows` asked about `req_id`."""

    def judge(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
        return judge_rows(req_id, timeline, ctx)

    judge.__name__ = f"judge_{req_id.lower().replace('-', '_')}"
    return judge


def table_judges() -> dict[str, RowJudge]:
    """Requirement -> how its rows are judged, for every HTTP-* requirement of Table 3-1."""
    out: dict[str, RowJudge] = {}
    for req_id, actions in _rows_by_action().items():
        if not req_id.startswith("HTTP-"):
            continue
        if Action.REDIRECT_NOW in actions:
            out[req_id] = judge_redirect_rows
        elif Action.AUTH_RETRY in actions:
            out[req_id] = judge_auth_rows
        else:
            out[req_id] = judge_class_rows
    return out


def register_table_rules() -> None:
    """Register the rule of every HTTP-* requirement of Table 3-1 (done once, at import)."""
    for req_id, judge_rows in table_judges().items():
        rule(req_id)(table_rule(req_id, judge_rows))


register_table_rules()


# -- profiles --------------------------------------------------------------------------
@rule("PROFILE-AES")
def profile_aes(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """An encrypted profile under the rule's key is read (class A); a wrong key is class B."""
    outs = outcomes(timeline, ctx)
    results: list[tuple[Verdict, str, Observation | None]] = []
    for i, o in enumerate(outs):
        a = o.answer
        if a is None or not a.profile or a.kind != "aes-openssl":
            continue
        if a.valid is None:
            why = (
                "an AES-encrypted profile whose readability is unknown (no key known: give the "
                "profile rule's --key, e.g. `harness analyze --key`)"
            )
            results.append((Verdict.INCONCLUSIVE, why, o.about))
            continue
        verdict, why = judge_next(outs, i, ctx)
        results.append((verdict, f"an AES-encrypted profile: {why}", o.about))
    return _verdict("PROFILE-AES", timeline, results, "the server served no AES-encrypted profile")


@rule("PROFILE-GZIP")
def profile_gzip(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    def select(o: Outcome) -> bool:
        a = o.answer
        return bool(a and a.profile and (a.kind == "gzip" or a.gzipped))

    return _judge_outcomes(
        "PROFILE-GZIP",
        timeline,
        ctx,
        select,
        "the server served no gzip-compressed profile",
        lambda o: "a gzip-compressed profile",
    )


@rule("HTTP-VERSIONS")
def http_versions(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """An HTTP/1.0 answer and a chunked HTTP/1.1 answer are read like any other."""
    kinds: set[str] = set()

    def kind(o: Outcome) -> str:
        a = o.answer
        if a is None or not a.profile:
            return ""
        if a.chunked:
            return "a chunked HTTP/1.1 answer"
        return "an HTTP/1.0 answer" if a.version == "HTTP/1.0" else ""

    def select(o: Outcome) -> bool:
        k = kind(o)
        if k:
            kinds.add(k)
        return bool(k)

    found = _judge_outcomes(
        "HTTP-VERSIONS",
        timeline,
        ctx,
        select,
        "no HTTP/1.0 or chunked answer was served",
        kind,
    )
    missing = {"an HTTP/1.0 answer", "a chunked HTTP/1.1 answer"} - kinds
    f = found[0]
    if f.verdict is Verdict.PASS and missing:
        why = f"{f.why} (not exercised: {', '.join(sorted(missing))})"
        found = [Finding(f.rule, f.verdict, why, f.device, f.time, f.frames, f.evidence)]
    return found


@rule("HTTP-POST")
def http_post(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """A rule with `[--post x]` is fetched with POST whose body is GPP_x, macros expanded."""
    posts = [t for t in rule_targets(ctx) if "post" in t.options]
    if not posts:
        why = "no profile rule asks for POST ([--post x])"
        return [finding("HTTP-POST", Verdict.SKIPPED, why, timeline)]
    results: list[tuple[Verdict, str, Observation | None]] = []
    for target in posts:
        letter = target.options["post"].upper()
        gpp = f"{_GPP_PREFIX}{letter}"
        template = ctx.param(gpp)
        pattern = template_regex(template, _identity_macros(ctx))
        for ex in timeline.of(HttpExchange):
            if target.path is not None and request_path(ex) != target.path:
                continue
            head = f"{ex.method} {ex.url} ({target.parameter} asks [--post {letter.lower()}])"
            body = ex.request_body.decode("utf-8", "replace")
            if ex.method != "POST":
                results.append((Verdict.FAIL, f"{head}: not a POST", ex))
            elif not pattern.fullmatch(body):
                why = f"{head}: body {body[:80]!r} is not {gpp} = {template!r} expanded"
                results.append((Verdict.FAIL, why, ex))
            else:
                results.append((Verdict.PASS, f"{head}: POST with {gpp} expanded", ex))
    return _verdict("HTTP-POST", timeline, results, "the device made no request for a POST rule")


@rule("PROFILE-PLAIN-HTTP")
def profile_plain_http(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    """A server-side finding: a profile sent in clear over plain HTTP fails the server."""
    served = _served_entries(ctx, timeline)
    results: list[tuple[Verdict, str, Observation | None]] = []
    for ex in timeline.of(HttpExchange):
        if ex.scheme != "http" or ex.status != 200:
            continue
        a = answer_of(ex, ctx, served.get(id(ex)))
        if not a.profile:
            continue
        head = f"the server answered {ex.method} {request_path(ex)} over http://"
        if a.kind in CLEAR_KINDS and a.readable:
            why = f"{head} with a profile in clear ({a.kind}); encrypt it (--key) or use HTTPS"
            results.append((Verdict.FAIL, why, ex))
        elif a.kind == "aes-openssl":
            results.append((Verdict.PASS, f"{head} with an AES-encrypted profile", ex))
    return _verdict(
        "PROFILE-PLAIN-HTTP", timeline, results, "no profile was served over plain HTTP"
    )


def requirements() -> Iterable[str]:
    """The requirement IDs this module judges."""
    return (
        *table_judges(),
        "PROFILE-AES",
        "PROFILE-GZIP",
        "PROFILE-PLAIN-HTTP",
        "HTTP-VERSIONS",
        "HTTP-POST",
    )
