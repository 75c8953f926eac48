"""Syslog sender of the simulated phone: one UDP datagram per message, `<PRI>text`.

RFC 3164 style without the optional header (as SPA firmware sends). Facility and
severity are not in the spec; the phone uses local0.notice. No logic here.
"""

from __future__ import annotations

import asyncio
import socket

from harness.device.sim.adapters.source import local_bind

FACILITY_LOCAL0 = 16
SEVERITY_NOTICE = 5


def syslog_datagram(
    text: str, facility: int = FACILITY_LOCAL0, severity: int = SEVERITY_NOTICE
) -> bytes:
    return f"<{facility * 8 + severity}>{text}".encode()


async def send_syslog(text: str, server: tuple[str, int], *, local: str | None = None) -> None:
    """Send one message; a network error is swallowed (syslog is fire-and-forget)."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol,
            remote_addr=server,
            local_addr=local_bind(local, server[0]),
            family=socket.AF_INET,
        )
    except OSError:
        return
    try:
        transport.sendto(syslog_datagram(text))
    finally:
        transport.close()
