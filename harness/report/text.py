"""Plain-text and rich-table rendering of observations and findings for terminals.

One line per observation (what `harness serve` prints as traffic arrives) and
tables for `harness demo` / `harness analyze --format text`. Rendering only:
no judging and no I/O beyond the console object the caller passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.observe.events import (
    DhcpExchange,
    DnsQuery,
    HttpExchange,
    Observation,
    SyslogMessage,
    TftpTransfer,
    TlsHandshake,
)
from harness.report.untrusted import printable
from harness.rules.finding import Finding, Verdict
from harness.spec.ciphers import cipher_suite_name

VERDICT_STYLE = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "yellow",
    Verdict.SKIPPED: "dim",
}


def _who(o: Observation) -> str:
    return f"{o.client[0]}:{o.client[1]}" if o.client else printable(o.device.id)


def describe(o: Observation) -> str:
    """One human line for an observation (device-controlled text escaped: one line)."""
    return printable(_describe(o))


def _describe(o: Observation) -> str:
    if isinstance(o, HttpExchange):
        status = o.status if o.status is not None else o.outcome
        ua = f' UA="{o.user_agent}"' if o.user_agent else ""
        size = f" {o.response_bytes}B" if o.response_bytes else ""
        return f"{o.scheme.upper()} {o.method} {o.url} {o.version} -> {status}{size}{ua}"
    if isinstance(o, TftpTransfer):
        opts = " ".join(f"{k}={v}" for k, v in o.options.items())
        err = (
            f" error {o.error_code} {o.error_message or ''}".rstrip()
            if o.error_code is not None
            else ""
        )
        return (
            f"TFTP {o.op} {o.filename} ({o.mode}{', ' + opts if opts else ''}) -> {o.outcome}"
            f"{err}, {o.bytes or 0}B in {o.blocks} blocks, {o.retransmissions} retransmissions"
        )
    if isinstance(o, TlsHandshake):
        chosen = (
            cipher_suite_name(o.chosen_cipher_suite) if o.chosen_cipher_suite is not None else "-"
        )
        alert = (
            f", alert {o.alert.name or o.alert.description} from {o.alert.sender}"
            if o.alert
            else ""
        )
        cert = f", client cert {o.client_cert_subject}" if o.client_cert_subject else ""
        return (
            f"TLS SNI={o.server_name or '-'} offered {len(o.offered_cipher_suites)} suites, "
            f"chose {chosen} {o.chosen_version or ''}{cert}{alert}"
            f"{', app data' if o.application_data else ''}"
        )
    if isinstance(o, SyslogMessage):
        return f"SYSLOG [{o.facility}.{o.severity} {o.format}/{o.transport}] {o.message}"
    if isinstance(o, DnsQuery):
        ans = ",".join(o.answers) or "-"
        return f"DNS {o.qtype} {o.qname} -> {o.rcode or 'no answer'} {ans}"
    if isinstance(o, DhcpExchange):
        return f"DHCP {o.message_type} {o.client_mac or ''} options {sorted(o.offered_options)}"
    return f"{o.kind} {o}"


def observation_line(o: Observation) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(o.time)) + f".{int(o.time % 1 * 1000):03d}"
    return f"{stamp} {_who(o):>21}  {describe(o)}"


def observations_table(observations: Iterable[Observation], title: str = "Observations") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("time", no_wrap=True)
    table.add_column("device", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("what")
    for o in observations:
        stamp = time.strftime("%H:%M:%S", time.localtime(o.time))
        table.add_row(stamp, escape(printable(o.device.id)), o.kind, escape(describe(o)))
    return table


def findings_table(findings: Iterable[Finding], title: str = "Findings") -> Table:
    table = Table(title=title)
    table.add_column("requirement", no_wrap=True)
    table.add_column("device", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("why")
    for f in findings:
        table.add_row(
            f.rule,
            escape(printable(f.device or "-")),
            f"[{VERDICT_STYLE[f.verdict]}]{f.verdict.value}[/]",
            escape(printable(f.why)),
        )
    return table


def terminal() -> Console:
    """A console that prints recorded text as it is (no emoji codes, no highlighting)."""
    return Console(emoji=False, highlight=False)


def print_findings(findings: list[Finding], console: Console | None = None) -> None:
    (console or terminal()).print(findings_table(findings))
