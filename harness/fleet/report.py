"""`harness fleet DIR --out fleet.html`: what a fleet store says, per firmware and requirement.

Sections: firmware × requirement (fail rate, devices judged, first and last
seen) as a heat map; the worst devices (most failed requirements); the change
per firmware between two dates (`--before DAY --after DAY`: fail rates on or
before the first against on or after the second); the User-Agent formats seen.
Numbers come from DuckDB queries over the store (`fleet.query`); plots are
inline SVG (no plotting library), so the page is one self-contained file.
"""

from __future__ import annotations

import argparse
import sys
from html import escape
from pathlib import Path
from typing import Any

from harness.fleet.query import QueryError, connect

HELP = "write a fleet report (firmware x requirement, worst devices, change between dates)"

# Named questions (docs/fleet.md shows them too): the report is made of these.
FIRMWARE_BY_RULE = """
select coalesce(firmware, '(unknown)') as firmware, rule,
       count(distinct device) as devices,
       count(distinct device) filter (where verdict = 'fail') as failing,
       min(time) as first_seen, max(time) as last_seen
from findings where verdict in ('pass', 'fail')
group by 1, 2 order by 1, 2
"""
WORST_DEVICES = """
select device, any_value(firmware) as firmware, any_value(site) as site,
       count(distinct rule) filter (where verdict = 'fail') as failed_requirements,
       string_agg(distinct rule, ', ') filter (where verdict = 'fail') as rules
from findings group by device
having count(*) filter (where verdict = 'fail') > 0
order by failed_requirements desc, device limit 20
"""
CHANGE_BETWEEN = """
with judged as (
  select coalesce(firmware, '(unknown)') as firmware, rule, device, verdict, day
  from findings where verdict in ('pass', 'fail'))
select firmware, rule,
  avg(case when verdict = 'fail' then 1.0 else 0.0 end) filter (where day <= ?) as before_rate,
  avg(case when verdict = 'fail' then 1.0 else 0.0 end) filter (where day >= ?) as after_rate
from judged group by 1, 2 order by 1, 2
"""
USER_AGENTS = """
select regexp_replace(user_agent, '\\(.*\\)', '(…)') as format, count(distinct id) as devices
from devices where user_agent is not null group by 1 order by 2 desc limit 30
"""


def gather(store: str | Path, before: str | None, after: str | None) -> dict[str, Any]:
    """Every table the report shows, as rows of dicts."""
    con = connect(store)
    try:

        def rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
            cur = con.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

        data: dict[str, Any] = {
            "matrix": rows(FIRMWARE_BY_RULE),
            "worst": rows(WORST_DEVICES),
            "agents": rows(USER_AGENTS),
            "totals": rows(
                "select (select count(distinct id) from devices) as devices, "
                "(select count(*) from transactions) as transactions, "
                "(select count(*) from findings) as findings, "
                "(select count(distinct source_file) from transactions) as files"
            )[0],
        }
        if before and after:
            data["change"] = rows(CHANGE_BETWEEN, [before, after])
        return data
    finally:
        con.close()


def _rate_color(rate: float) -> str:
    """White (0) to red (1) for a fail rate."""
    g = int(255 - 200 * rate)
    return f"rgb(255,{g},{g})"


def _heatmap(matrix: list[dict[str, Any]]) -> str:
    firmwares = sorted({r["firmware"] for r in matrix})
    rules = sorted({r["rule"] for r in matrix})
    cell = {(r["firmware"], r["rule"]): r for r in matrix}
    w, h, left, top = 70, 22, 170, 120
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + w * len(rules) + 10}" '
        f'height="{top + h * len(firmwares) + 10}" font-family="sans-serif" font-size="11">'
    ]
    for j, rule in enumerate(rules):
        x = left + j * w + w / 2
        parts.append(
            f'<text transform="translate({x},{top - 6}) rotate(-45)">{escape(rule)}</text>'
        )
    for i, fw in enumerate(firmwares):
        y = top + i * h
        parts.append(f'<text x="4" y="{y + 15}">{escape(fw)}</text>')
        for j, rule in enumerate(rules):
            r = cell.get((fw, rule))
            if r is None:
                continue
            rate = r["failing"] / r["devices"] if r["devices"] else 0.0
            label = f"{r['failing']}/{r['devices']}"
            parts.append(
                f'<rect x="{left + j * w}" y="{y}" width="{w - 2}" height="{h - 2}" '
                f'fill="{_rate_color(rate)}"><title>{escape(fw)} {escape(rule)}: '
                f"{label} devices fail</title></rect>"
                f'<text x="{left + j * w + 4}" y="{y + 15}">{label}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(r[c]))}</td>" for c in cols) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}" if v < 1e6 else _iso(v)
    return str(v)


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render(data: dict[str, Any], store: str, before: str | None, after: str | None) -> str:
    t = data["totals"]
    change = ""
    if "change" in data:
        moved = [
            {**r, "delta": (r["after_rate"] or 0.0) - (r["before_rate"] or 0.0)}
            for r in data["change"]
            if r["before_rate"] is not None and r["after_rate"] is not None
        ]
        moved.sort(key=lambda r: -abs(r["delta"]))
        change = (
            f"<h2>Change per firmware: on or before {escape(str(before))} → on or after "
            f"{escape(str(after))}</h2>{_table(moved)}"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fleet report: {escape(store)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style></head><body>
<h1>Fleet report</h1>
<p>store <code>{escape(store)}</code>: {t["devices"]} devices, {t["files"]} capture files,
{t["transactions"]} transactions, {t["findings"]} findings.</p>
<h2 id="matrix">Firmware × requirement (devices failing / devices judged)</h2>
{_heatmap(data["matrix"])}
{_table(data["matrix"])}
<h2 id="worst">Worst devices</h2>
{_table(data["worst"])}
{change}
<h2 id="agents">User-Agent formats seen</h2>
{_table(data["agents"])}
</body></html>
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store directory (harness analyze --store DIR)")
    p.add_argument("--out", default="fleet.html", help="the HTML file to write (fleet.html)")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="day closing the 'before' period")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="day opening the 'after' period")


def run(args: argparse.Namespace) -> int:
    if bool(args.before) != bool(args.after):
        print("harness fleet: --before and --after go together", file=sys.stderr)
        return 2
    try:
        data = gather(args.store, args.before, args.after)
    except QueryError as exc:
        print(f"harness fleet: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"harness fleet: --out {out}: no such directory", file=sys.stderr)
        return 2
    out.write_text(render(data, str(args.store), args.before, args.after), "utf-8")
    print(f"harness fleet: wrote {out}")
    return 0
