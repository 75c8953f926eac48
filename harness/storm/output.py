"""How a storm is shown: the live line, the terminal summary, storm.json and storm.html.

`live_line(storm, now)` is one progress line (provisioned so far, answers, latency);
`text_summary(summary)` the closing block; `write_outputs(summary, phones, out_dir)`
writes `storm.json` (the summary dict) and `storm.html` (the same with plots: the
answers per time bin, latency percentiles, the provisioned curve, and the lanes of
the phones that broke a rule, drawn by `harness.report.plot`). Device-controlled
text is escaped. No judging here (summary.py judges).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from harness.report.plot import CLASS_COLOUR, build_lane, lane_svg, series_svg
from harness.storm.crowd import Storm
from harness.storm.phone import StormPhone, answer_class
from harness.storm.summary import answer_label, percentile

MAX_LANES = 10  # phones drawn as lanes in the HTML page
LIVE_REFRESH_S = 5  # the live page reloads itself this often


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def live_line(storm: Storm, now: float) -> str:
    """One progress line: elapsed, powered, provisioned, answers so far, recent latency."""
    phones = storm.phones
    powered = sum(1 for p in phones if p.powered_at is not None)
    answers: dict[str, int] = {}
    recent: list[float] = []
    for p in phones:
        for r in p.requests:
            lab = answer_label(r.status, r.outcome)
            answers[lab] = answers.get(lab, 0) + 1
            if now - r.end <= 5.0:
                recent.append((r.end - r.start) * 1000)
    shown = " ".join(f"{k}:{v}" for k, v in sorted(answers.items()))
    return (
        f"+{now - storm.started:6.1f}s powered {powered}/{len(phones)} "
        f"provisioned {storm.provisioned}/{len(phones)}  answers {shown or '-'}  "
        f"latency(5s) p50 {_ms(percentile(recent, 50))} p95 {_ms(percentile(recent, 95))}"
    )


def text_summary(summary: dict[str, Any]) -> str:
    st, ans, prov, att, chk, ver = (
        summary[k] for k in ("storm", "answers", "provisioned", "attempts", "spec_check", "verdict")
    )
    ttp = prov["time_to_provisioned_s"]
    lat = ans["latency_ms"]
    lines = [
        f"reboot storm: {st['phones']} phones ({st['family']}), {st['runner']} runner, "
        f"{st['duration_s']:.1f} s, stopped: {st['stopped_because']}",
        f"  profile rule: {st['profile_rule']}",
        f"  server answers: {ans['requests']} requests, "
        + ", ".join(f"{k}: {v}" for k, v in ans["by_answer"].items()),
        f"  latency: p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}, p99 {_ms(lat['p99'])}, "
        f"max {_ms(lat['max'])}",
        f"  provisioned: {prov['provisioned']}/{prov['phones']} "
        f"({100 * prov['share']:.1f} %), all after {_s(prov['all_provisioned_after_s'])}",
        f"  time to provisioned: p50 {_s(ttp['p50'])}, p90 {_s(ttp['p90'])}, "
        f"p99 {_s(ttp['p99'])}, max {_s(ttp['max'])}",
        "  attempts by Table 3-1 class: "
        + ", ".join(
            f"{k}: {att['total'].get(k, 0)} (per phone mean {v['mean']:.2f}, max {v['max']})"
            for k, v in att["per_phone"].items()
        ),
        "  spec check (Table 3-1 rules of harness analyze): "
        + (
            ", ".join(
                f"{r} " + "/".join(f"{v} {k}" for k, v in sorted(c.items()))
                for r, c in chk["rules"].items()
                if set(c) - {"inconclusive"}
            )
            or "nothing to judge"
        ),
    ]
    for f in chk["failures"][:10]:
        quirks = f" [{', '.join(f['quirks'])}]" if f["quirks"] else ""
        lines.append(f"    FAIL {f['phone']}{quirks} {f['rule']}: {f['why']}")
    lines.append(f"  server: {ver['server']}")
    lines.append(f"  phones: {ver['phones']}")
    return "\n".join(lines)


def _answer_series(ans: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    width = ans["bin_seconds"]
    labels = sorted({k for b in ans["bins"] for k in b["answers"]})
    return {
        lab: [(b["t"] + width / 2, b["answers"].get(lab, 0) / width) for b in ans["bins"]]
        for lab in labels
    }


def _answer_colours(series: dict[str, Any]) -> dict[str, str]:
    """Each answer in the colour of its Table 3-1 class; a second answer of the same class
    a lighter shade (so 500 and 503 stay apart)."""
    shades = ("", "b0", "70")
    seen: dict[str, int] = {}
    out = {}
    for label in series:
        klass = answer_class(int(label), "") if label.isdigit() else answer_class(None, label)
        k = seen.get(klass, 0)
        seen[klass] = k + 1
        out[label] = CLASS_COLOUR[klass] + shades[min(k, len(shades) - 1)]
    return out


def _latency_series(ans: dict[str, Any]) -> dict[str, list[tuple[float, float | None]]]:
    width = ans["bin_seconds"]
    return {  # an empty bin (no answer) breaks the line
        p: [(b["t"] + width / 2, b["latency_ms"][p]) for b in ans["bins"]]
        for p in ("p50", "p95", "p99")
    }


def html_page(summary: dict[str, Any], phones: list[StormPhone], *, live: bool = False) -> str:
    """The page; `live`: the storm still runs (the page reloads itself, no spec check yet)."""
    ans, prov, chk = summary["answers"], summary["provisioned"], summary["spec_check"]
    curve = [(0.0, 0.0)] + [(t, float(k)) for t, k in prov["curve"]]
    answers = _answer_series(ans)
    plots = [
        series_svg(
            answers,
            title="server answers per second",
            y_label="/s",
            colours=_answer_colours(answers),
        ),
        series_svg(_latency_series(ans), title="latency percentiles", y_label="ms"),
        series_svg(
            {"provisioned": curve},
            title=f"phones provisioned (of {prov['phones']})",
            y_label="phones",
            colours={"provisioned": CLASS_COLOUR["A"]},
            steps=True,
        ),
    ]
    failing = {f["phone"] for f in chk["failures"]}
    lanes = []
    for n, p in enumerate([p for p in phones if p.id in failing][:MAX_LANES]):
        lane = build_lane(p.id, p.observations, p.params.as_dict(), p.family)
        lanes.append(lane_svg(lane, title=f"{p.id} {' '.join(p.quirks)}", ident=str(n)))
    text = escape(text_summary(summary))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>reboot storm</title>"
        + (f"<meta http-equiv='refresh' content='{LIVE_REFRESH_S}'>" if live else "")
        + "<style>body{font-family:sans-serif;margin:1em}svg{display:block;margin:.5em 0}"
        ".tick{font-size:10px;fill:#333}pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}</style>"
        "</head><body><h1>Reboot storm</h1>"
        + ("<p><b>running</b>: live view, the spec check comes at the end</p>" if live else "")
        + f"<h2>Did the server hold?</h2><p>{escape(summary['verdict']['server'])}</p>"
        f"<h2>Did the phones behave?</h2><p>{escape(summary['verdict']['phones'])}</p>"
        "<h2>Over time</h2>"
        + "".join(plots)
        + "<h2>Summary</h2><pre>"
        + text
        + "</pre>"
        + ("<h2>Phones that broke a rule</h2>" + "".join(lanes) if lanes else "")
        + "</body></html>"
    )


def write_outputs(
    summary: dict[str, Any], phones: list[StormPhone], out_dir: Path, *, live: bool = False
) -> list[Path]:
    """storm.json and storm.html in `out_dir` (written whole, then renamed into place)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("storm.json", json.dumps(summary, indent=1, default=str) + "\n"),
        ("storm.html", html_page(summary, phones, live=live)),
    ):
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out_dir / name)
        written.append(out_dir / name)
    return written
