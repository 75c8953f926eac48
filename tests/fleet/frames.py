"""Frames of phones resyncing over HTTP, for fleet tests and the fleet bench (scapy-built).

`attempt(t, phone, status)` gives the (time, frame) records of one complete HTTP
resync attempt: handshake, GET with the phone's User-Agent, the answer, close.
`Phone` says who the device is. Frames are built with scapy once per phone and
answer, then only re-timed, so thousands of attempts cost little.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

SERVER = ("198.51.100.1", 80)
SERVER_MAC = "02:00:00:00:01:01"


@dataclass(frozen=True)
class Phone:
    index: int
    product: str = "CP-8831-3PCC"

    @property
    def ip(self) -> str:
        return f"192.0.2.{10 + self.index % 200}" if self.index < 200 else self._wide_ip()

    def _wide_ip(self) -> str:
        n = self.index - 200
        return f"203.0.113.{n % 250 + 1}" if n < 250 else f"198.51.100.{n % 250 + 2}"

    @property
    def mac(self) -> str:
        b = self.index.to_bytes(4, "big")
        return "02:00:" + ":".join(f"{x:02x}" for x in b)

    @property
    def serial(self) -> str:
        return f"88012BA{self.index:05d}"

    @property
    def user_agent(self) -> str:
        return f"cisco/{self.product} ({self.serial})"


REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


@lru_cache(maxsize=4096)
def _frames(phone: Phone, status: int, sport: int) -> tuple[bytes, ...]:
    c, s = (phone.ip, sport), SERVER
    req = (
        f"GET /{phone.product}.cfg HTTP/1.1\r\nHost: prov.example.test\r\n"
        f"User-Agent: {phone.user_agent}\r\n\r\n"
    ).encode()
    body = b"<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>"
    if status != 200:
        body = b""
    resp = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'X')}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body

    def seg(src, dst, seq, ack, flags, data=b""):
        return bytes(
            Ether(
                src=phone.mac if src == c else SERVER_MAC, dst=SERVER_MAC if src == c else phone.mac
            )
            / IP(src=src[0], dst=dst[0])
            / TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, flags=flags)
            / data
        )

    cs, ss = 1000, 5000
    return (
        seg(c, s, cs, 0, "S"),
        seg(s, c, ss, cs + 1, "SA"),
        seg(c, s, cs + 1, ss + 1, "A"),
        seg(c, s, cs + 1, ss + 1, "PA", req),
        seg(s, c, ss + 1, cs + 1 + len(req), "PA", resp),
        seg(c, s, cs + 1 + len(req), ss + 1 + len(resp), "FA"),
        seg(s, c, ss + 1 + len(resp), cs + 2 + len(req), "FA"),
        seg(c, s, cs + 2 + len(req), ss + 2 + len(resp), "A"),
    )


def attempt(t: float, phone: Phone, status: int, sport: int = 40000) -> list[tuple[float, bytes]]:
    """One HTTP resync attempt at time `t` (frames 1 ms apart)."""
    return [(t + i * 0.001, f) for i, f in enumerate(_frames(phone, status, sport))]


@lru_cache(maxsize=1)
def _noise() -> bytes:
    return bytes(
        Ether(src="02:00:00:00:09:09", dst="02:00:00:00:09:0a")
        / IP(src="192.0.2.250", dst="192.0.2.251")
        / UDP(sport=16384, dport=16386)
        / (b"\x80" + bytes(171))
    )


def noise(t: float, count: int, spacing: float = 0.02) -> list[tuple[float, bytes]]:
    """`count` RTP-like datagrams nobody provisions with (what a field capture is mostly)."""
    frame = _noise()
    return [(t + i * spacing, frame) for i in range(count)]
