"""Syslog dissection: one `SyslogMessage` per UDP datagram (RFC 3164 / 5424, lenient).

Parsing is `harness.wire.syslog.parse_syslog` (shared with the live
syslog endpoint), so a capture and a live run read messages the same way.
`looks_like_syslog` is the cheap test the analyzer uses on UDP packets to
ports it does not know. Sans-I/O.
"""

from __future__ import annotations

import re

from harness.observe.events import Address, DeviceKey, Evidence, SyslogMessage
from harness.wire.syslog import parse_syslog

_PRI = re.compile(rb"<\d{1,3}>")


def looks_like_syslog(payload: bytes) -> bool:
    return payload[:1] == b"<" and _PRI.match(payload) is not None


def syslog_observation(
    frame: int,
    ts: float,
    src: Address,
    dst: Address,
    payload: bytes,
    device: DeviceKey,
    source: str,
    transport: str = "udp",
) -> SyslogMessage:
    r = parse_syslog(payload)
    return SyslogMessage(
        time=ts,
        client=src,
        server=dst,
        device=device,
        evidence=Evidence(source, (frame,), r.problem or ""),
        message=r.message,
        facility=r.facility,
        severity=r.severity,
        hostname=r.hostname,
        app_name=r.app_name,
        raw=r.raw,
        format=r.format,
        transport=transport,
    )
