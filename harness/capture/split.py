"""Splitting one capture into per-scenario pcapng files, retimed, with their TLS key logs.

A conformance run captures once (harness.capture.live) and afterwards cuts
that file into one pcapng per scenario and device: a `Slice` names the output
file, the device's addresses, the real time window of the scenario, how to map
a frame's real timestamp to the device clock's time (harness.capture.retime),
the section-header comments and the NSS key log to embed as a Decryption
Secrets Block. `split_capture()` reads the source once and writes every slice.
A frame belongs to a slice when its IPv4 source or destination is one of the
slice's addresses and its real time is inside the window. Bytes only: frames
are copied unchanged (struct-level pcapng writer, see docs/captures.md for the
scapy measurement); no live capture and no analysis here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from harness.capture.pcapwrite import pcapng_dsb, pcapng_epb, pcapng_idb, pcapng_shb
from harness.capture.reader import CaptureReader

ETHERNET, RAW_IP, LINUX_SLL, LINUX_SLL2 = 1, 101, 113, 276
# where the IPv4 header starts, and where the (ethertype | protocol) field is, per link type
_L3 = {ETHERNET: (14, 12), RAW_IP: (0, None), LINUX_SLL: (16, 14), LINUX_SLL2: (20, 0)}
WINDOW_SLACK = 0.05  # real seconds around a scenario's window (the kernel stamps frames first)


@dataclass
class Slice:
    """One output file: which frames (addresses, real window) and how to write them."""

    path: Path
    addresses: frozenset[str]
    start: float  # real epoch seconds
    end: float
    retime: Callable[[float], float] = lambda t: t
    comments: list[str] = field(default_factory=list)
    keylog: bytes = b""
    exclude_ports: frozenset[int] = frozenset()  # TCP/UDP ports whose frames stay out
    frames: int = 0


def _ipv4_pair(linktype: int, data: bytes) -> tuple[bytes, bytes] | None:
    where = _L3.get(linktype)
    if where is None:
        return None
    off, proto_at = where
    if proto_at is not None and data[proto_at : proto_at + 2] != b"\x08\x00":
        return None
    if len(data) < off + 20 or data[off] >> 4 != 4:
        return None
    return data[off + 12 : off + 16], data[off + 16 : off + 20]


def _ports(linktype: int, data: bytes) -> set[int]:
    """The TCP/UDP source and destination ports of an IPv4 frame (empty for anything else)."""
    off = _L3[linktype][0]
    if data[off + 9] not in (6, 17) or len(data) < off + 24:
        return set()
    at = off + (data[off] & 0x0F) * 4
    return {int.from_bytes(data[at : at + 2], "big"), int.from_bytes(data[at + 2 : at + 4], "big")}


def _aton(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


class _Out:
    def __init__(self, sl: Slice) -> None:
        self.sl = sl
        sl.path.parent.mkdir(parents=True, exist_ok=True)
        self.f: BinaryIO = open(sl.path, "wb")  # noqa: SIM115 - closed in close()
        self.f.write(pcapng_shb(comments=sl.comments))
        if sl.keylog.strip():
            self.f.write(pcapng_dsb(sl.keylog))
        self.ifaces: dict[int, int] = {}

    def write(self, ts: float, linktype: int, data: bytes) -> None:
        iface = self.ifaces.get(linktype)
        if iface is None:
            iface = self.ifaces[linktype] = len(self.ifaces)
            self.f.write(pcapng_idb(linktype))
        self.f.write(pcapng_epb(self.sl.retime(ts), data, iface))
        self.sl.frames += 1

    def close(self) -> None:
        if not self.ifaces:  # an empty capture is still a valid one
            self.f.write(pcapng_idb(ETHERNET))
        self.f.close()


def split_capture(sources: Iterable[str | Path], slices: Iterable[Slice]) -> list[Slice]:
    """Write every slice's file from one pass over each source; the slices, with frame counts.

    Sources hold different devices' frames (a slice's frames come from one of them)."""
    slices = list(slices)
    by_addr: dict[bytes, list[_Out]] = {}
    outs = [_Out(sl) for sl in slices]
    try:
        for out in outs:
            for ip in out.sl.addresses:
                by_addr.setdefault(_aton(ip), []).append(out)
        for source in sources:
            if not Path(source).is_file():
                continue
            with CaptureReader(source) as reader:
                for ts, linktype, data in reader:
                    pair = _ipv4_pair(linktype, data)
                    if pair is None:
                        continue
                    src, dst = pair
                    hits = by_addr.get(src, [])
                    if dst != src and dst in by_addr:
                        hits = hits + [o for o in by_addr[dst] if o not in hits]
                    for out in hits:
                        sl = out.sl
                        if not sl.start - WINDOW_SLACK <= ts <= sl.end + WINDOW_SLACK:
                            continue
                        if sl.exclude_ports and _ports(linktype, data) & sl.exclude_ports:
                            continue
                        out.write(ts, linktype, data)
    finally:
        for out in outs:
            out.close()
    return slices
