"""`harness analyze --verify`: the same capture dissected by tshark (through pyshark), and
every fact on which the analyzer's fast path and tshark disagree.

What lives here: running tshark once per capture file through pyshark
(`tshark_packets`, its own event loop, closed at the end: also the tests' tshark
oracle), reducing both sides to flat facts keyed by frame, and comparing them
(`verify_capture`). Compared, per transaction: HTTP request method, URI and
User-Agent and the response status (decrypted HTTPS too when tshark is given the
key log); TFTP request opcode and file name; DNS query name and type; syslog
facility, severity, host and message; TLS ClientHello cipher suites and SNI and
the ServerHello's chosen suite. Frame numbers are compared by matching: a tshark
fact counts as the analyzer's only when its frame is one of the observation's
evidence frames; anything left on one side is reported as seen by one only (so a second ClientHello
after a HelloRetryRequest, which the analyzer folds into one handshake, shows as
tshark's only: a known limit).

What must not live here: no rules or verdicts, no dissection of our own (the
analyzer's facts are its observations as they are), nothing on the analyzer's
hot path (tshark is slow by nature: seconds for what the analyzer reads in
milliseconds). tshark is told which ports carry what from the analyzer's own
observations (decode-as), so it dissects flows on non-standard ports as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.observe.events import (
    DnsQuery,
    HttpExchange,
    Observation,
    SyslogMessage,
    TftpTransfer,
    TlsHandshake,
)
from harness.report.untrusted import printable

# what tshark is asked for: the frames that carry one of the compared facts
DISPLAY_FILTER = (
    "http.request or http.response or tftp.opcode==1 or tftp.opcode==2 or "
    "(dns and dns.flags.response==0) or syslog or "
    "tls.handshake.type==1 or tls.handshake.type==2"
)
_TFTP_OPS = {"1": "RRQ", "2": "WRQ"}
# the analyzer's well-known ports, for which tshark needs no decode-as
_STANDARD = {"http": {80}, "tls": {443}, "tftp": {69}, "syslog": {514}, "dns": {53}}


class VerifyError(Exception):
    """tshark could not be run on a capture (missing, or it failed): what and why."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One transaction's facts as one side read them: `what` names the message
    (http-request, http-response, tftp-request, dns-query, syslog, tls-client-hello,
    tls-server-hello), `frame` where it is (for the analyzer: its first evidence frame)."""

    what: str
    frame: int
    values: dict[str, str]
    frames: tuple[int, ...] = ()  # the analyzer's evidence frames (empty for tshark)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One fact on which the analyzer and tshark differ; None: that side has no such fact."""

    frame: int
    what: str
    field: str
    analyzer: str | None
    tshark: str | None

    def text(self) -> str:
        def shown(v: str | None) -> str:
            return "(nothing)" if v is None else repr(v)

        return (
            f"frame {self.frame} {self.what} {self.field}: analyzer {shown(self.analyzer)}, "
            f"tshark {shown(self.tshark)}"
        )


@dataclass
class CaptureVerification:
    """The comparison for one capture file."""

    path: str
    tshark: str = ""  # tshark's version line
    facts_compared: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "tshark": self.tshark,
            "facts_compared": self.facts_compared,
            "agree": self.error is None and not self.disagreements,
            "error": self.error,
            "disagreements": [asdict(d) for d in self.disagreements],
        }


# -- tshark through pyshark --------------------------------------------------------------


def tshark_version() -> str:
    if shutil.which("tshark") is None:
        raise VerifyError("tshark is not installed (apt-get install tshark)")
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True, timeout=30)
    first = out.stdout.splitlines()[0] if out.stdout else "tshark"
    return first.split(" (Git")[0]


@contextlib.contextmanager
def tshark_packets(
    path: str | Path,
    display_filter: str,
    *,
    prefs: dict[str, str] | None = None,
    decode_as: dict[str, str] | None = None,
) -> Iterator[Iterable[Any]]:
    """pyshark's packets of `path` matching `display_filter`, read by tshark in an event
    loop of its own, which is closed (with tshark) when the block ends, so callers in
    other event loops, or tests that closed theirs, are not disturbed."""
    import pyshark
    from pyshark.capture.capture import TSharkCrashException

    class _FileCapture(pyshark.FileCapture):
        def __del__(self) -> None:  # closed below; a second close at collection time
            pass  # would run on whatever loop is current then

    loop = asyncio.new_event_loop()
    quiet = logging.getLogger("asyncio")  # "Unknown child process" when tshark is killed
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    fc = _FileCapture(
        str(path),
        display_filter=display_filter,
        override_prefs=prefs or {},
        decode_as=decode_as or None,
        eventloop=loop,
    )
    try:
        yield fc
    finally:
        # every packet was read; tshark stopped at close may report a non-zero exit
        with contextlib.suppress(TSharkCrashException):
            fc.close()
        loop.close()
        quiet.setLevel(level)


def _all(layer: Any, name: str) -> list[str]:
    f = layer.get_field(name)
    if f is None:
        return []
    return [str(x.show) for x in f.all_fields]


def _one(layer: Any, name: str) -> str | None:
    values = _all(layer, name)
    return values[0] if values else None


def _suites(values: list[str]) -> str:
    return ",".join(f"0x{int(v, 16):04x}" for v in values)


def tshark_facts(
    path: str | Path,
    *,
    keylog: str | None = None,
    decode_as: dict[str, str] | None = None,
) -> list[Fact]:
    """The compared facts as tshark dissects `path` (decrypting TLS with `keylog`)."""
    prefs = {"http.desegment_body": "FALSE"}  # the status line shows at once
    if keylog:
        prefs["tls.keylog_file"] = str(keylog)
    facts: list[Fact] = []
    try:
        with tshark_packets(path, DISPLAY_FILTER, prefs=prefs, decode_as=decode_as) as pkts:
            for pkt in pkts:
                facts.extend(_packet_facts(pkt))
    except VerifyError:
        raise
    except Exception as exc:  # pyshark raises its own errors and bare ones; all are tshark's
        raise VerifyError(f"{path}: tshark failed: {exc}") from exc
    return facts


def _packet_facts(pkt: Any) -> Iterator[Fact]:
    frame = int(pkt.number)
    for layer in pkt.layers:
        name = layer.layer_name
        if name == "http":
            if _one(layer, "request_method") is not None:
                yield Fact(
                    "http-request",
                    frame,
                    {
                        "method": _one(layer, "request_method") or "",
                        "uri": _one(layer, "request_uri") or "",
                        "user-agent": _one(layer, "user_agent") or "",
                    },
                )
            elif _one(layer, "response_code") is not None:
                yield Fact("http-response", frame, {"status": _one(layer, "response_code") or ""})
        elif name == "tftp":
            op = _TFTP_OPS.get(_one(layer, "opcode") or "")
            if op:
                file = _one(layer, "source_file") or _one(layer, "destination_file") or ""
                yield Fact("tftp-request", frame, {"opcode": op, "file": file})
        elif name == "dns" and _one(layer, "flags_response") in ("0", "False"):
            names = _all(layer, "qry_name")
            f = layer.get_field("qry_type")
            types = [str(x.showname_value).split()[0] for x in f.all_fields] if f else []
            for qname, qtype in zip(names, types, strict=False):
                yield Fact("dns-query", frame, {"name": qname, "type": qtype})
        elif name == "syslog":
            yield Fact(
                "syslog",
                frame,
                {
                    "facility": _one(layer, "facility") or "",
                    "severity": _one(layer, "level") or "",
                    "host": _one(layer, "hostname") or "",
                    "message": _one(layer, "msg") or "",
                },
            )
        elif name == "tls":
            types = _all(layer, "handshake_type")
            suites = _all(layer, "handshake_ciphersuite")
            if "1" in types:
                yield Fact(
                    "tls-client-hello",
                    frame,
                    {
                        "cipher-suites": _suites(suites),
                        "sni": _one(layer, "handshake_extensions_server_name") or "",
                    },
                )
            elif "2" in types and suites:
                yield Fact("tls-server-hello", frame, {"cipher-suite": _suites(suites[:1])})


# -- the analyzer's side -------------------------------------------------------------------


def analyzer_facts(observations: Iterable[Observation]) -> list[Fact]:
    """The compared facts of the analyzer's observations, as they are."""
    facts: list[Fact] = []
    for o in observations:
        frames = tuple(o.evidence.frames)
        if not frames:
            continue
        first = frames[0]
        if isinstance(o, HttpExchange):
            if not o.method:
                continue  # a failed connection: no request to compare
            facts.append(
                Fact(
                    "http-request",
                    first,
                    {"method": o.method, "uri": o.url, "user-agent": o.user_agent or ""},
                    frames,
                )
            )
            if o.status is not None:
                facts.append(Fact("http-response", frames[-1], {"status": str(o.status)}, frames))
        elif isinstance(o, TftpTransfer):
            facts.append(
                Fact("tftp-request", first, {"opcode": o.op, "file": o.filename}, frames[:1])
            )
        elif isinstance(o, DnsQuery):
            facts.append(Fact("dns-query", first, {"name": o.qname, "type": o.qtype}, frames))
        elif isinstance(o, SyslogMessage):
            facts.append(
                Fact(
                    "syslog",
                    first,
                    {
                        "facility": "" if o.facility is None else str(o.facility),
                        "severity": "" if o.severity is None else str(o.severity),
                        "host": o.hostname or "",
                        "message": o.message,
                    },
                    frames[:1],
                )
            )
        elif isinstance(o, TlsHandshake):
            facts.append(
                Fact(
                    "tls-client-hello",
                    first,
                    {
                        "cipher-suites": ",".join(f"0x{s:04x}" for s in o.offered_cipher_suites),
                        "sni": o.server_name or "",
                    },
                    frames[:1],
                )
            )
            if o.chosen_cipher_suite is not None:
                facts.append(
                    Fact(
                        "tls-server-hello",
                        frames[1] if len(frames) > 1 else first,
                        {"cipher-suite": f"0x{o.chosen_cipher_suite:04x}"},
                        frames[1:] or frames,
                    )
                )
    return facts


def decode_as_for(observations: Iterable[Observation]) -> dict[str, str]:
    """tshark's decode-as for the ports on which the analyzer found each protocol."""
    out: dict[str, str] = {}
    for o in observations:
        if o.server is None:
            continue
        port = o.server[1]
        if isinstance(o, HttpExchange):
            proto, table = ("tls", "tcp") if o.scheme == "https" else ("http", "tcp")
            if o.scheme == "https" and port not in _STANDARD["tls"]:
                out[f"tls.port=={port}"] = "http"
        elif isinstance(o, TlsHandshake):
            proto, table = "tls", "tcp"
        elif isinstance(o, TftpTransfer):
            proto, table = "tftp", "udp"
        elif isinstance(o, SyslogMessage):
            proto, table = "syslog", "udp"
        elif isinstance(o, DnsQuery):
            proto, table = "dns", "udp"
        else:
            continue
        if port not in _STANDARD[proto]:
            out[f"{table}.port=={port}"] = proto
    return out


# -- the comparison ------------------------------------------------------------------------


def _same(what: str, name: str, ours: str, theirs: str) -> bool:
    if what == "syslog" and name == "message":
        # tshark's msg keeps the RFC 3164 header (time, host, tag) before the message
        return theirs == ours or (bool(ours) and theirs.endswith((" " + ours, ":" + ours)))
    if what == "dns-query" and name == "name":
        return ours.rstrip(".").lower() == theirs.rstrip(".").lower()
    return ours == theirs


def compare(ours: list[Fact], theirs: list[Fact]) -> tuple[int, list[Disagreement]]:
    """(facts compared, disagreements): each analyzer fact is matched with tshark's fact of
    the same kind at one of its evidence frames (the first such, in frame order)."""
    pool: dict[str, list[Fact]] = {}
    for t in sorted(theirs, key=lambda f: f.frame):
        pool.setdefault(t.what, []).append(t)
    out: list[Disagreement] = []
    compared = 0
    for o in sorted(ours, key=lambda f: f.frame):
        cands = pool.get(o.what, [])
        allowed = set(o.frames or (o.frame,))
        match = next((t for t in cands if t.frame in allowed), None)
        if match is None:
            out.append(Disagreement(o.frame, o.what, "frame", str(o.frame), None))
            continue
        cands.remove(match)
        for name, value in o.values.items():
            compared += 1
            other = match.values.get(name, "")
            if not _same(o.what, name, value, other):
                out.append(Disagreement(match.frame, o.what, name, value, other))
    for rest in pool.values():
        for t in rest:
            out.append(Disagreement(t.frame, t.what, "frame", None, str(t.frame)))
    out.sort(key=lambda d: (d.frame, d.what, d.field))
    return compared, out


def verify_capture(
    path: str | Path, observations: list[Observation], *, keylog: str | None = None
) -> CaptureVerification:
    """Compare the analyzer's `observations` of `path` with tshark's dissection of it."""
    result = CaptureVerification(str(path))
    try:
        result.tshark = tshark_version()
        theirs = tshark_facts(path, keylog=keylog, decode_as=decode_as_for(observations))
    except VerifyError as exc:
        result.error = str(exc)
        return result
    result.facts_compared, result.disagreements = compare(analyzer_facts(observations), theirs)
    return result


def render_verification(items: list[CaptureVerification]) -> str:
    """The text block `harness analyze --verify` appends to its text report."""
    lines = []
    for v in items:
        head = f"verify {v.path} against {v.tshark or 'tshark'}: "
        if v.error:
            lines.append(head + f"not verified: {v.error}")
        elif not v.disagreements:
            lines.append(head + f"{v.facts_compared} facts compared, no disagreement")
        else:
            lines.append(
                head + f"{v.facts_compared} facts compared, {len(v.disagreements)} disagreements"
            )
            lines.extend("  " + d.text() for d in v.disagreements)
    return "\n".join(printable(line) for line in lines) + "\n"
