"""Observations: the shared vocabulary between sources (endpoints, captures) and rules.

A live endpoint and the pcap analyzer produce the *same* types, so a rule never
knows whether it judges a live run or a capture from the field. No parsing, no
sockets and no spec knowledge here.
"""

from harness.observe.events import (
    DeviceKey,
    DhcpExchange,
    DnsQuery,
    Evidence,
    HttpExchange,
    Observation,
    SyslogMessage,
    TftpTransfer,
    TlsAlert,
    TlsCertificate,
    TlsHandshake,
)
from harness.observe.recorder import Recorder
from harness.observe.timeline import DeviceTimeline, build_timelines

__all__ = [
    "DeviceKey",
    "DeviceTimeline",
    "DhcpExchange",
    "DnsQuery",
    "Evidence",
    "HttpExchange",
    "Observation",
    "Recorder",
    "SyslogMessage",
    "TftpTransfer",
    "TlsAlert",
    "TlsCertificate",
    "TlsHandshake",
    "build_timelines",
]
