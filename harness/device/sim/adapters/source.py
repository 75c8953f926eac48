"""The simulated phone's own source address on loopback (so two phones differ on the wire).

127.0.0.0/8 is all loopback on Linux: a phone whose sockets are bound to
127.64.x.y reaches the lab's endpoints on 127.0.0.1 and is a distinct host in
any capture of `lo`. `phone_address()` draws one from `PHONE_NET` (random, so
concurrent runs and xdist workers do not collide); `local_bind()` is the
`local_addr` an adapter passes to asyncio, bound only when the destination is
itself loopback (a loopback source cannot reach any other address). No I/O here.
"""

from __future__ import annotations

import ipaddress
import secrets

PHONE_NET = ipaddress.IPv4Network("127.64.0.0/10")  # the harness's simulated phones


def phone_address() -> str:
    """A fresh loopback address for one simulated phone (never .0 or .255 in the last byte)."""
    base = int(PHONE_NET.network_address)
    while True:
        n = secrets.randbelow(PHONE_NET.num_addresses)
        if 0 < n % 256 < 255:
            return str(ipaddress.IPv4Address(base + n))


def is_phone_address(ip: str) -> bool:
    try:
        return ipaddress.IPv4Address(ip) in PHONE_NET
    except ValueError:
        return False


def local_bind(local: str | None, destination: str) -> tuple[str, int] | None:
    """(local, 0) when the phone has its own address and `destination` is loopback; else None."""
    if not local:
        return None
    try:
        if not ipaddress.ip_address(destination).is_loopback:
            return None
    except ValueError:
        return None
    return (local, 0)
