"""Timeline plots of provisioning attempts, as inline SVG text (no plotting library).

`build_lane(session, family)` turns one session's observations into a `Lane`:
one `Mark` per provisioning attempt (HTTP/HTTPS/TFTP request with its Table 3-1
follow-ups, or a TLS handshake that never carried a request), its outcome class
A/B/C by `harness.spec.status_row` / `transport_row`, and one `Gap` per delay
between two resyncs, with the band the spec expects for it (which parameter sets
the delay after each class is read from the spec data, the values from the
session's parameters over the family defaults). `lane_svg(lane)` draws it.
Pure functions; no file I/O. The tolerances below are the harness's, not the spec's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from harness.observe.events import DeviceKey, HttpExchange, Observation, TftpTransfer, TlsHandshake
from harness.observe.timeline import DeviceTimeline
from harness.rules.attempts import FOLLOW_UP_WINDOW, group_attempts
from harness.spec._data import load_data
from harness.spec.family import Family
from harness.spec.status_table import Action, status_row, transport_row
from harness.spec.values import parse_delay_schedule

# A delay counts as inside its band when within this much of it (real phones'
# timers are coarse; virtual-time runs are exact).
BAND_TOLERANCE_S = 2.0
BAND_TOLERANCE_RATIO = 0.01
# Attempts this close after the previous one belong to the same resync (profile
# rules B..D, an upgrade after a resync): no delay band is drawn between them.
SEQUENCE_WINDOW = FOLLOW_UP_WINDOW

# TFTP ERROR code 1 is "File not found" (RFC 1350), the TFTP form of a 404.
TFTP_FILE_NOT_FOUND = 1
# An HTTP exchange without a status, as the phone lived it (transport outcomes of Table 3-1).
_HTTP_NO_STATUS = {
    "no-response": "timeout",
    "timeout": "timeout",
    "client-closed": "connection-error",
    "malformed": "connection-error",
}

CLASS_COLOUR = {"A": "#2e7d32", "B": "#ef6c00", "C": "#c62828"}
CLASS_MEANING = {"A": "success", "B": "not found / corrupt", "C": "other failure"}


@dataclass(frozen=True)
class Mark:
    time: float  # seconds since the lane's origin
    protocol: str  # http | https | tftp | tls
    outcome: str  # outcome class "A", "B" or "C"
    label: str  # short: "404", "complete", "alert"
    detail: str  # one line: what was asked and answered
    end: float  # seconds since origin when the attempt ended
    requests: int = 1


@dataclass(frozen=True)
class Gap:
    start: float  # end of the resync that set the delay (seconds since origin)
    end: float  # start of the next attempt
    after: str  # outcome class of the resync before the gap
    band: tuple[float, float] | None  # expected delay (shortest, longest), None if unknown
    source: str  # the parameter(s) the band comes from, or why there is none

    @property
    def delay(self) -> float:
        return self.end - self.start

    @property
    def within(self) -> bool | None:
        if self.band is None:
            return None
        lo, hi = self.band
        slack = max(BAND_TOLERANCE_S, BAND_TOLERANCE_RATIO * hi)
        return lo - slack <= self.delay <= hi + slack


@dataclass
class Lane:
    name: str
    origin: float  # absolute time of x = 0
    marks: list[Mark] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def span(self) -> float:
        ends = [m.end for m in self.marks] + [g.start + g.band[1] for g in self.gaps if g.band]
        return max([*ends, 0.0])


def attempt_outcome(obs: Observation) -> str:
    """The outcome class (A/B/C) of the request that ended an attempt."""
    if isinstance(obs, HttpExchange):
        if obs.status is not None:
            row = status_row(obs.status)
            action = row.action if row.action.is_outcome_class else (row.then or Action.C)
            return action.value
        return transport_row(_HTTP_NO_STATUS.get(obs.outcome, "connection-error")).action.value
    if isinstance(obs, TftpTransfer):
        if obs.outcome == "complete":
            key = "complete"
        elif obs.error_code == TFTP_FILE_NOT_FOUND:
            key = "not-found"
        elif obs.outcome == "timeout":
            key = "timeout"
        else:
            key = "connection-error"
        return transport_row(key).action.value
    return Action.C.value


def _label(obs: Observation) -> tuple[str, str]:
    if isinstance(obs, HttpExchange):
        short = str(obs.status) if obs.status is not None else obs.outcome
        return short, f"{obs.scheme.upper()} {obs.method} {obs.url} -> {short}"
    if isinstance(obs, TftpTransfer):
        short = obs.outcome if obs.error_code is None else f"error {obs.error_code}"
        return short, f"TFTP {obs.op} {obs.filename} -> {short}"
    return "?", obs.kind


def _tls_mark(h: TlsHandshake, origin: float) -> Mark:
    if h.alert is not None:
        short = f"alert {h.alert.name or h.alert.description} ({h.alert.sender})"
    elif h.established:
        short = "no request"
    else:
        short = "not established"
    variant = f", certificate {h.server_cert_variant}" if h.server_cert_variant else ""
    t = h.time - origin
    return Mark(t, "tls", "C", short, f"TLS to {h.server_name or '-'}{variant}: {short}", t)


def _param(name: str, params: Mapping[str, str], family: Family | None) -> str:
    if name in params:
        return params[name]
    return family.default(name) if family is not None else ""


def expected_band(
    outcome: str, params: Mapping[str, str], family: Family | None, failures_in_row: int
) -> tuple[tuple[float, float] | None, str]:
    """(band, source) for the delay after a resync of class `outcome`; band None says why."""
    spec = load_data("http_status")["classes"][outcome]
    name = spec["delay"]
    override = spec.get("overridden_by")
    if override and _param(override, params, family).strip():
        return None, f"{override} is set: a daily time, no fixed delay"
    text = _param(name, params, family)
    if not text.strip():
        return None, f"{name} unknown"
    try:
        schedule = parse_delay_schedule(text, name)
    except ValueError as exc:
        return None, f"{name}={text!r} unreadable: {exc}"
    lo, hi = schedule.bounds(max(failures_in_row - 1, 0) if outcome != "A" else 0)
    if outcome == "A" and hi == 0:
        return None, f"{name}=0: no periodic resync expected"
    source = f"{name}={text}"
    random_name = spec.get("random_delay")
    if random_name:
        unit = family.random_delay_unit_seconds if family is not None else 1
        raw = _param(random_name, params, family).strip()
        if raw:
            try:
                hi += float(raw) * unit
                source += f" + up to {random_name}={raw}×{unit}s"
            except ValueError:
                source += f" ({random_name}={raw!r} unreadable, not added)"
    return (lo, hi), source


def build_lane(
    name: str,
    observations: list[Observation],
    params: Mapping[str, str] | None = None,
    family: Family | None = None,
) -> Lane:
    """The attempts and delays of one session (observations of one device, one clock)."""
    params = params or {}
    timeline = DeviceTimeline(DeviceKey(), sorted(observations, key=_t))
    attempts = group_attempts(timeline)
    refused = [
        h for h in timeline.of(TlsHandshake) if not h.application_data and h.client is not None
    ]
    starts = [a.start for a in attempts] + [h.time for h in refused]
    if not starts:
        return Lane(name, observations[0].time if observations else 0.0)
    origin = min(starts)
    marks = []
    for a in attempts:
        short, detail = _label(a.last)
        if len(a.requests) > 1:
            firsts = ", ".join(_label(r)[0] for r in a.requests[:-1])
            detail += f" (after {firsts})"
        marks.append(
            Mark(
                a.start - origin,
                a.scheme,
                attempt_outcome(a.last),
                short,
                detail,
                a.end - origin,
                len(a.requests),
            )
        )
    marks.extend(_tls_mark(h, origin) for h in refused)
    marks.sort(key=lambda m: m.time)
    return Lane(name, origin, marks, _gaps(marks, params, family))


def _t(o: Observation) -> float:
    return o.time


def _gaps(marks: list[Mark], params: Mapping[str, str], family: Family | None) -> list[Gap]:
    gaps: list[Gap] = []
    failures = 0
    prev: Mark | None = None
    for m in marks:
        if prev is not None and m.time - prev.end > SEQUENCE_WINDOW:
            failures = 0 if prev.outcome == "A" else failures + 1
            band, source = expected_band(prev.outcome, params, family, failures)
            gaps.append(Gap(prev.end, m.time, prev.outcome, band, source))
        prev = m
    return gaps


# ---------------------------------------------------------------- SVG rendering

WIDTH, HEIGHT = 920, 150
LEFT, RIGHT = 70, 30
MARK_Y, AXIS_Y, BAND_Y, DELAY_Y = 52, 92, 98, 122
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)


def format_duration(seconds: float) -> str:
    """'0s', '45s', '2m30s', '1h', '1h05m', '2d3h' (for axes and tooltips)."""
    s = round(seconds)
    if abs(seconds - s) > 0.05 and seconds < 60:
        return f"{seconds:.1f}s"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m}m{r:02d}s" if r else f"{m}m"
    if s < 86400:
        h, r = divmod(s, 3600)
        return f"{h}h{r // 60:02d}m" if r // 60 else f"{h}h"
    d, r = divmod(s, 86400)
    return f"{d}d{r // 3600}h" if r // 3600 else f"{d}d"


def _tick_step(span: float) -> float:
    for step in _STEPS:
        if span / step <= 8:
            return float(step)
    step = 86400.0
    while span / step > 8:
        step *= 2
    return step


def _shape(m: Mark, x: float, colour: str, y: float = MARK_Y) -> str:
    if m.protocol == "https":
        return f'<rect x="{x - 6:.1f}" y="{y - 6}" width="12" height="12" fill="{colour}"/>'
    if m.protocol == "tftp":
        pts = f"{x:.1f},{y - 7} {x + 7:.1f},{y + 6} {x - 7:.1f},{y + 6}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if m.protocol == "tls":
        return (
            f'<path d="M{x - 6:.1f},{y - 6} L{x + 6:.1f},{y + 6} M{x + 6:.1f},{y - 6} '
            f'L{x - 6:.1f},{y + 6}" stroke="{colour}" stroke-width="3"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y}" r="6" fill="{colour}"/>'


def lane_svg(lane: Lane, *, title: str = "", ident: str = "") -> str:
    """One lane as an inline <svg class="timeline"> (marks, delays, expected bands, axis).
    `ident` makes its element ids unique on a page of several lanes."""
    arrow = f"arrow-{ident}" if ident else "arrow"
    span = lane.span or 1.0
    scale = (WIDTH - LEFT - RIGHT) / span

    def x(t: float) -> float:
        return LEFT + t * scale

    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'data-attempts="{len(lane.marks)}" aria-label="{escape(title or lane.name)}">',
        f"<title>{escape(title or lane.name)}: {len(lane.marks)} attempts</title>",
        f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" stroke="#555"/>',
    ]
    step = _tick_step(span)
    t = 0.0
    while t <= span + 1e-9:
        out.append(
            f'<line x1="{x(t):.1f}" y1="{AXIS_Y}" x2="{x(t):.1f}" y2="{AXIS_Y + 4}" stroke="#555"/>'
            f'<text x="{x(t):.1f}" y="{HEIGHT - 4}" class="tick">{format_duration(t)}</text>'
        )
        t += step
    out.append(f'<text x="4" y="{MARK_Y + 4}" class="axis-label">attempts</text>')
    out.append(f'<text x="4" y="{DELAY_Y + 4}" class="axis-label">delay</text>')
    for g in lane.gaps:
        ok = g.within
        colour = "#888" if ok is None else ("#2e7d32" if ok else "#c62828")
        if g.band is not None:
            lo, hi = g.band
            x0, x1 = x(g.start + lo), x(g.start + hi)
            expect = (
                f"{format_duration(lo)}..{format_duration(hi)}"
                if hi > lo
                else (format_duration(lo))
            )
            out.append(
                f'<rect class="band" x="{x0 - 1:.1f}" y="{BAND_Y}" width="{max(x1 - x0, 0) + 2:.1f}"'
                f' height="10" fill="{colour}" fill-opacity="0.25" stroke="{colour}">'
                f"<title>expected after class {g.after}: {expect} ({escape(g.source)})</title>"
                "</rect>"
            )
            verdict = "inside" if ok else "OUTSIDE"
            why = f"expected {expect} ({escape(g.source)}): {verdict} the band"
        else:
            why = f"no expected band: {escape(g.source)}"
        xa, xb = x(g.start), x(g.end)
        text = format_duration(g.delay)
        label = (
            f'<text x="{(xa + xb) / 2:.1f}" y="{DELAY_Y - 4}" class="delay-label" '
            f'fill="{colour}">{text}</text>'
            if xb - xa >= 8 * len(text) + 6
            else ""  # too narrow to read: the tooltip and the table below carry it
        )
        out.append(
            f'<g class="delay"><line x1="{xa:.1f}" y1="{DELAY_Y}" x2="{xb:.1f}" y2="{DELAY_Y}" '
            f'stroke="{colour}" stroke-width="2" marker-end="url(#{arrow})"/>{label}'
            f"<title>delay {text} after class {g.after}; {why}</title></g>"
        )
    last_label_x = -1e9
    for m in lane.marks:
        colour = CLASS_COLOUR.get(m.outcome, "#555")
        xm = x(m.time)
        label = ""
        if xm - last_label_x >= 44:
            label = (
                f'<text x="{xm:.1f}" y="{MARK_Y - 12}" class="mark-label">'
                f"{escape(m.protocol)} {escape(m.label[:12])}</text>"
            )
            last_label_x = xm
        out.append(
            f'<g class="attempt" data-outcome="{m.outcome}" data-protocol="{escape(m.protocol)}">'
            f'<line x1="{xm:.1f}" y1="{MARK_Y + 6}" x2="{xm:.1f}" y2="{AXIS_Y}" stroke="#bbb"/>'
            f"{_shape(m, xm, colour)}{label}"
            f"<title>+{format_duration(m.time)} {escape(m.detail)}: class {m.outcome} "
            f"({CLASS_MEANING.get(m.outcome, '')})</title></g>"
        )
    out.append(
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>'
    )
    out.append("</svg>")
    return "".join(out)


def legend_svg() -> str:
    """The key to the marks (protocol shapes, class colours, bands)."""
    items = []
    xpos = 8
    for proto in ("http", "https", "tftp", "tls"):
        m = Mark(0, proto, "A", "", "", 0)
        items.append(_shape(m, xpos + 6, "#444", 12))
        items.append(f'<text x="{xpos + 16}" y="16" class="tick-left">{proto}</text>')
        xpos += 70
    for cls, colour in CLASS_COLOUR.items():
        text = f"{cls}: {CLASS_MEANING[cls]}"
        items.append(f'<rect x="{xpos}" y="6" width="12" height="12" fill="{colour}"/>')
        items.append(f'<text x="{xpos + 16}" y="16" class="tick-left">{text}</text>')
        xpos += 16 + 7 * len(text) + 18
    body = "".join(items)
    return (
        f'<svg class="legend" xmlns="http://www.w3.org/2000/svg" width="{xpos + 10}" height="24"'
        f' role="img" aria-label="legend">{body}</svg>'
    )


SERIES_HEIGHT = 200
SERIES_COLOURS = ("#1565c0", "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037")


def series_svg(
    series: Mapping[str, list[tuple[float, float | None]]],
    *,
    title: str,
    y_label: str = "",
    colours: Mapping[str, str] | None = None,
    steps: bool = False,
) -> str:
    """Lines over time (x: seconds since the origin, on the lanes' axis) as an inline SVG,
    for crowd views (answers per second, latency percentiles, the provisioned curve).
    A point whose y is None (no data in that bin) breaks its line."""
    points = [(x, y) for pts in series.values() for x, y in pts if y is not None]
    span = max((x for x, _ in points), default=0.0) or 1.0
    top = max((y for _, y in points), default=0.0) or 1.0
    h, bottom, head = SERIES_HEIGHT, 24, 18
    sx = (WIDTH - LEFT - RIGHT) / span
    sy = (h - bottom - head) / top

    def xy(x: float, y: float) -> str:
        return f"{LEFT + x * sx:.1f},{h - bottom - y * sy:.1f}"

    out = [
        f'<svg class="series" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" '
        f'viewBox="0 0 {WIDTH} {h}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="12" class="tick">{escape(title)} (max {top:g} {escape(y_label)})'
        "</text>",
        f'<line x1="{LEFT}" y1="{h - bottom}" x2="{WIDTH - RIGHT}" y2="{h - bottom}" '
        'stroke="#555"/>',
    ]
    step = _tick_step(span)
    t = 0.0
    while t <= span + 1e-9:
        x = LEFT + t * sx
        out.append(
            f'<text x="{x:.1f}" y="{h - 6}" class="tick">{format_duration(t)}</text>'
            f'<line x1="{x:.1f}" y1="{h - bottom}" x2="{x:.1f}" y2="{h - bottom + 4}" '
            'stroke="#555"/>'
        )
        t += step
    for k, (name, pts) in enumerate(series.items()):
        if not pts:
            continue
        colour = (colours or {}).get(name, SERIES_COLOURS[k % len(SERIES_COLOURS)])
        runs: list[list[str]] = [[]]
        prev: float | None = None
        for x, y in pts:
            if y is None:
                runs.append([])
                prev = None
                continue
            if steps and prev is not None:
                runs[-1].append(xy(x, prev))
            runs[-1].append(xy(x, y))
            prev = y
        for run in runs:
            if run:
                out.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(run)}"><title>{escape(name)}</title></polyline>'
                )
        out.append(
            f'<text x="{LEFT + 360 + 70 * k}" y="12" class="tick" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
