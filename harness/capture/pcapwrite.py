"""Writing small pcap and pcapng files from raw frames: for tests, benchmarks and tools.

`write_pcap(path, records, linktype=1, nano=False, big_endian=False)` and
`write_pcapng(path, records, interfaces=[(linktype, tsresol)], ...)` where a
record is `(time, frame_bytes)` or, for pcapng, `(time, frame_bytes, iface)`;
`pcapng_shb(comments=...)` and `pcapng_dsb(key_log)` (a Decryption Secrets Block
with an NSS key log, which Wireshark/tshark use to decrypt TLS).
`PcapWriter` streams records to an open file. Bytes only: no packet crafting,
no sockets, no live capture.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO


def pcap_header(linktype: int = 1, nano: bool = False, big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    return struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)


def pcap_record(ts: float, data: bytes, nano: bool = False, big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    sec = int(ts)
    frac = round((ts - sec) * (1e9 if nano else 1e6))
    return struct.pack(e + "IIII", sec, frac, len(data), len(data)) + data


class PcapWriter:
    """Append records to a pcap stream (microsecond, little-endian)."""

    def __init__(self, f: BinaryIO, linktype: int = 1) -> None:
        self.f = f
        self._pack = struct.Struct("<IIII").pack
        f.write(pcap_header(linktype))

    def write(self, ts: float, data: bytes) -> None:
        sec = int(ts)
        n = len(data)
        self.f.write(self._pack(sec, int((ts - sec) * 1e6), n, n))
        self.f.write(data)


def write_pcap(
    path: str | Path,
    records: Iterable[tuple[float, bytes]],
    linktype: int = 1,
    nano: bool = False,
    big_endian: bool = False,
) -> None:
    with open(path, "wb") as f:
        f.write(pcap_header(linktype, nano, big_endian))
        for ts, data in records:
            f.write(pcap_record(ts, data, nano, big_endian))


def _block(e: str, btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def _opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _comments(e: str, comments: Iterable[str]) -> bytes:
    opts = b"".join(_opt(e, 1, c.encode("utf-8")) for c in comments)
    return opts + _opt(e, 0, b"") if opts else b""


def pcapng_shb(big_endian: bool = False, comments: Iterable[str] = ()) -> bytes:
    """A section header block; `comments` become opt_comment options."""
    e = ">" if big_endian else "<"
    head = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    return _block(e, 0x0A0D0D0A, head + _comments(e, comments))


def pcapng_idb(
    linktype: int, tsresol: int = 6, big_endian: bool = False, snaplen: int = 262144
) -> bytes:
    e = ">" if big_endian else "<"
    opts = b""
    if tsresol != 6:
        opts = _opt(e, 9, bytes([tsresol])) + _opt(e, 0, b"")
    return _block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts)


SECRETS_TLS_KEY_LOG = 0x544C534B  # "TLSK": an NSS key log (pcapng Decryption Secrets Block)


def pcapng_dsb(
    secrets: bytes, secrets_type: int = SECRETS_TLS_KEY_LOG, big_endian: bool = False
) -> bytes:
    """A Decryption Secrets Block (type 0x0000000A) holding `secrets` (an NSS key log)."""
    e = ">" if big_endian else "<"
    return _block(e, 0x0000000A, struct.pack(e + "II", secrets_type, len(secrets)) + secrets)


def _units(tsresol: int) -> float:
    return 2.0 ** (tsresol & 0x7F) if tsresol & 0x80 else 10.0**tsresol


def pcapng_epb(
    ts: float, data: bytes, iface: int = 0, tsresol: int = 6, big_endian: bool = False
) -> bytes:
    e = ">" if big_endian else "<"
    t = round(ts * _units(tsresol))
    return _block(
        e, 6, struct.pack(e + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(data), len(data)) + data
    )


def pcapng_spb(data: bytes, big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    return _block(e, 3, struct.pack(e + "I", len(data)) + data)


def write_pcapng(
    path: str | Path,
    records: Iterable[tuple[float, bytes, int]],
    interfaces: Iterable[tuple[int, int]] = ((1, 6),),
    big_endian: bool = False,
) -> None:
    ifaces = list(interfaces)
    with open(path, "wb") as f:
        f.write(pcapng_shb(big_endian))
        for lt, res in ifaces:
            f.write(pcapng_idb(lt, res, big_endian))
        for ts, data, iface in records:
            f.write(pcapng_epb(ts, data, iface, ifaces[iface][1], big_endian))
