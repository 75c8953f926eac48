"""The live view of a conformance run (rich): requirement, device, scenario, verdict.

A pytest plugin loaded with `-p harness.conformance.live_view` and switched on
by `--conform-live`: on the controller it shows each test's result as it
arrives (a refreshing table of the latest rows and the running counts on a
terminal, one line per result otherwise), and `summary_table()` renders the
end-of-run summary `harness conform` prints. Display only: no judging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

RESULT_KEY = "conform"  # the same key harness.conformance.suite uses
STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "skipped": "dim"}
LATEST_ROWS = 15


def verdict_text(verdict: str) -> Text:
    return Text(verdict.upper(), style=STYLE.get(verdict, ""))


def counts_line(counts: Mapping[str, int]) -> Text:
    parts = Text()
    for verdict in ("pass", "fail", "inconclusive", "skipped"):
        parts.append(f"{verdict} {counts.get(verdict, 0)}  ", style=STYLE[verdict])
    return parts


class LiveView:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False)
        self.rows: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self._live: Live | None = None

    def _render(self) -> Group:
        table = Table(title="harness conform", expand=False)
        for col in ("requirement", "device", "scenario", "verdict", "why"):
            table.add_column(col, overflow="ellipsis", no_wrap=True, max_width=60)
        for r in self.rows[-LATEST_ROWS:]:
            table.add_row(
                r["requirement"], r["device"], r["scenario"], verdict_text(r["verdict"]), r["why"]
            )
        return Group(table, counts_line(self.counts))

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8)
            self._live.start()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key != RESULT_KEY or report.when not in ("call", "setup"):
                continue
            if report.when == "setup" and report.outcome == "passed":
                continue
            self.rows.append(value)
            self.counts[value["verdict"]] += 1
            if self._live is not None:
                self._live.update(self._render())
            else:
                line = Text(f"{value['requirement']:<20} {value['device']:<12} ")
                line.append_text(verdict_text(value["verdict"]))
                line.append(f"  {value['scenario']}: {value['why']}"[:160])
                self.console.print(line, highlight=False, soft_wrap=True)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conform").addoption(
        "--conform-live", action="store_true", help="show the live view of the run"
    )


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.getoption("--conform-live"):
        return
    if not config.pluginmanager.has_plugin("conform-live"):
        config.pluginmanager.register(LiveView(), "conform-live")


def fold_results(results: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(device, requirement) -> (verdict, why), folding several scenarios (a fail wins)."""
    order = {"fail": 0, "inconclusive": 1, "pass": 2, "skipped": 3}
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for r in results:
        key = (r["device"], r["requirement"])
        if key not in out or order[r["verdict"]] < order[out[key][0]]:
            out[key] = (r["verdict"], f"{r['scenario']}: {r['why']}")
    return out


def summary_table(results: Iterable[Mapping[str, Any]]) -> Group:
    """Per device: the counts, and every requirement that did not pass with its reason."""
    folded = fold_results(results)
    devices = list(dict.fromkeys(d for d, _ in folded))
    table = Table(title="conformance summary")
    for col in ("device", "pass", "fail", "inconclusive", "skipped"):
        table.add_column(col)
    problems = Table(title="failed and inconclusive requirements", show_lines=False)
    for col in ("device", "requirement", "verdict", "why"):
        problems.add_column(col, overflow="fold")
    for dev in devices:
        counts = Counter(v for (d, _), (v, _) in folded.items() if d == dev)
        table.add_row(
            dev,
            *(
                Text(str(counts[v]), style=STYLE[v])
                for v in ("pass", "fail", "inconclusive", "skipped")
            ),
        )
        for (d, req), (v, why) in folded.items():
            if d == dev and v in ("fail", "inconclusive"):
                problems.add_row(dev, req, verdict_text(v), why)
    return Group(table, problems) if problems.row_count else Group(table)
