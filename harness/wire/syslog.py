"""Syslog message parsing and TCP framing, sans-I/O.

`parse_syslog(data)` reads RFC 5424, then RFC 3164, then falls back to the raw
text (lenient: a message is never lost, only its structure). `SyslogFramer`
splits a TCP byte stream by octet counting (RFC 6587 3.4.1) or LF (3.4.2).
Shared by the live syslog endpoint and the pcap analyzer. No sockets here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PRI = re.compile(rb"^<(\d{1,3})>")
_RFC5424 = re.compile(
    r"^(?P<version>[1-9]\d{0,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.S,
)
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_RFC3164 = re.compile(
    rf"^(?P<ts>(?:{_MONTHS}) [ \d]\d \d\d:\d\d:\d\d) (?:(?P<host>[^\s:\[]+) )?"
    r"(?:(?P<tag>[A-Za-z0-9_./-]{1,48})(?:\[(?P<pid>[^\]]*)\])?: ?)?(?P<msg>.*)$",
    re.S,
)


@dataclass(frozen=True, slots=True)
class SyslogRecord:
    message: str
    facility: int | None
    severity: int | None
    hostname: str | None
    app_name: str | None
    format: str  # rfc5424 | rfc3164 | raw
    raw: str
    problem: str | None = None  # why it fell back to a looser format


def _text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.rstrip("\r\n\x00")


def parse_syslog(data: bytes) -> SyslogRecord:
    """Parse one syslog message; never raises."""
    raw = _text(data)
    m = _PRI.match(data)
    if m is None:
        return SyslogRecord(raw, None, None, None, None, "raw", raw, "no <PRI> header")
    pri = int(m.group(1))
    if pri > 191:
        return SyslogRecord(raw, None, None, None, None, "raw", raw, f"PRI {pri} is above 191")
    facility, severity = divmod(pri, 8)
    rest = _text(data[m.end() :])
    m5 = _RFC5424.match(rest)
    if m5:
        msg = m5.group("msg") or ""
        msg = msg.removeprefix("\ufeff")
        return SyslogRecord(
            msg,
            facility,
            severity,
            None if m5.group("host") == "-" else m5.group("host"),
            None if m5.group("app") == "-" else m5.group("app"),
            "rfc5424",
            raw,
        )
    m3 = _RFC3164.match(rest)
    if m3:
        return SyslogRecord(
            m3.group("msg"), facility, severity, m3.group("host"), m3.group("tag"), "rfc3164", raw
        )
    # <PRI> followed by free text: what many phones send.
    return SyslogRecord(
        rest, facility, severity, None, None, "rfc3164", raw, "no timestamp/host header"
    )


class SyslogFramer:
    """Split a TCP syslog stream into messages (octet counting or LF framing)."""

    MAX_MESSAGE = 64 * 1024

    def __init__(self) -> None:
        self._buf = bytearray()
        self.problems: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while self._buf:
            if self._buf[:1].isdigit():
                space = self._buf.find(b" ", 0, 8)
                if space == -1:
                    if len(self._buf) >= 8:
                        self.problems.append(
                            "octet count without a space within 8 bytes; LF framing"
                        )
                        if not self._take_line(out):
                            break
                        continue
                    break
                if not self._buf[:space].isdigit():
                    self.problems.append("octet count with a non-digit; LF framing")
                    if not self._take_line(out):
                        break
                    continue
                count = int(self._buf[:space])
                if count > self.MAX_MESSAGE:
                    self.problems.append(f"octet count {count} exceeds {self.MAX_MESSAGE}; dropped")
                    del self._buf[: space + 1]
                    continue
                if len(self._buf) < space + 1 + count:
                    break
                out.append(bytes(self._buf[space + 1 : space + 1 + count]))
                del self._buf[: space + 1 + count]
            else:
                if not self._take_line(out):
                    break
        if len(self._buf) > self.MAX_MESSAGE:
            self.problems.append(f"unterminated message over {self.MAX_MESSAGE} bytes; cut")
            out.append(bytes(self._buf))
            self._buf.clear()
        return out

    def _take_line(self, out: list[bytes]) -> bool:
        nl = self._buf.find(b"\n")
        if nl == -1:
            return False
        line = bytes(self._buf[:nl]).rstrip(b"\r")
        del self._buf[: nl + 1]
        if line:
            out.append(line)
        return True

    def flush(self) -> list[bytes]:
        """What is left when the peer closes (an unterminated last message)."""
        rest = bytes(self._buf).strip(b"\r\n")
        self._buf.clear()
        return [rest] if rest else []
