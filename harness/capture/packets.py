"""Link-layer and IP decoding of captured frames, down to TCP/UDP ports and payload.

`PacketDecoder.decode(frame, time, linktype, data)` returns a plain tuple
(`Packet` fields, see below) for a TCP or UDP packet, or for an ICMP/ICMPv6
destination-unreachable message (`proto` ICMP_UNREACHABLE: the fields then name
the TCP/UDP datagram it quotes), or None for anything else (ARP, other ICMP, a
fragment still waiting for its siblings, a malformed frame).
Malformed frames are counted with their frame number and reason in
`decoder.malformed` (the first `MAX_KEPT` are kept, all are counted).

Link types: Ethernet (1), Linux cooked v1 (113) and v2 (276), BSD loopback /
null (0, 108), raw IP (101, 12, 14, 228, 229). 802.1Q / QinQ tags. IPv4 and
IPv6 (extension headers skipped); IPv4 and IPv6 fragments reassembled in
bounded buffers (limits counted in `decoder.stats`). Pure: no sockets, no files,
no protocol above TCP/UDP.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MAX_KEPT = 1000
FRAG_MAX_DATAGRAMS = 1024  # datagrams being reassembled at once
FRAG_MAX_BYTES = 65535 + 8  # largest IP datagram
FRAG_TIMEOUT = 30.0  # seconds of capture time a partial datagram waits

_U16 = struct.Struct("!H").unpack_from
_TCP = struct.Struct("!HHIIBB").unpack_from
_UDP = struct.Struct("!HH").unpack_from
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_RAW_IP = (101, 12, 14, 228, 229)
_IPV6_EXT = (0, 43, 60, 51, 135, 139, 140)
ZERO_MAC = b"\x00" * 6
ICMP_UNREACHABLE = 1  # Packet.proto of an ICMP(v6) destination unreachable (see Packet)
_ICMP_V4, _ICMP_V6 = 1, 58
_ICMP_V4_UNREACH, _ICMP_V6_UNREACH = 3, 1
_ICMP_V4_FRAG_NEEDED = 4  # a path-MTU signal, not a failure to reach


class Packet(NamedTuple):
    """A TCP or UDP packet (addresses as packed bytes; strings are made later, when needed).

    For an ICMP/ICMPv6 destination unreachable (`proto == ICMP_UNREACHABLE`): `src`,
    `dst`, `sport`, `dport` are those of the quoted datagram (the sender that failed
    and where it meant to go), `flags` its protocol (6 or 17), `seq` the ICMP type,
    `ack` the code, `payload` the packed address of the ICMP message's sender.
    """

    frame: int
    time: float
    src_mac: bytes | None
    src: bytes  # 4 or 16 bytes
    dst: bytes
    proto: int  # 6 TCP, 17 UDP
    sport: int
    dport: int
    payload: bytes
    flags: int  # TCP flags (0 for UDP)
    seq: int
    ack: int
    frames: tuple[int, ...] | None  # every frame of a reassembled IP datagram, else None


class PacketDecoder:
    """Decode frames of any supported link type; count what cannot be decoded."""

    def __init__(self) -> None:
        self.malformed: list[tuple[int, str]] = []
        self.malformed_count = 0
        self.stats: dict[str, int] = {
            "non_ip": 0,
            "other_ip_proto": 0,
            "fragments": 0,
            "reassembled": 0,
            "fragments_dropped_limit": 0,
            "fragments_expired": 0,
            "unsupported_linktype": 0,
        }
        # (src, dst, id, proto) -> [first_time, {offset: bytes}, total_len or -1, frames, size]
        self._frags: dict[tuple, list] = {}

    def bad(self, frame: int, why: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_KEPT:
            self.malformed.append((frame, why))

    def decode(self, frame: int, ts: float, lt: int, data: bytes) -> Packet | None:
        src_mac = None
        if lt == 1:
            if len(data) < 14:
                self.bad(frame, f"Ethernet frame of {len(data)} bytes (< 14)")
                return None
            etype = (data[12] << 8) | data[13]
            off = 14
            while etype in _VLAN_TYPES:
                if len(data) < off + 4:
                    self.bad(frame, "truncated VLAN tag")
                    return None
                etype = (data[off + 2] << 8) | data[off + 3]
                off += 4
            src_mac = data[6:12]
            if etype == 0x0800:
                ver = 4
            elif etype == 0x86DD:
                ver = 6
            else:
                self.stats["non_ip"] += 1
                return None
        elif lt == 113:
            if len(data) < 16:
                self.bad(frame, f"Linux cooked (v1) frame of {len(data)} bytes (< 16)")
                return None
            etype = (data[14] << 8) | data[15]
            if data[4:6] == b"\x00\x06":
                src_mac = data[6:12]
            off = 16
            ver = 4 if etype == 0x0800 else 6 if etype == 0x86DD else 0
        elif lt == 276:
            if len(data) < 20:
                self.bad(frame, f"Linux cooked (v2) frame of {len(data)} bytes (< 20)")
                return None
            etype = (data[0] << 8) | data[1]
            if data[11] == 6:
                src_mac = data[12:18]
            off = 20
            ver = 4 if etype == 0x0800 else 6 if etype == 0x86DD else 0
        elif lt in _RAW_IP:
            off = 0
            ver = data[0] >> 4 if data else 0
            if ver not in (4, 6):
                self.bad(frame, f"raw IP frame with IP version {ver}")
                return None
        elif lt == 0 or lt == 108:
            if len(data) < 4:
                self.bad(frame, f"loopback frame of {len(data)} bytes (< 4)")
                return None
            af = struct.unpack_from("<I" if lt == 0 and data[0] else "!I", data)[0]
            off = 4
            ver = 4 if af == 2 else 6 if af in (10, 24, 28, 30) else 0
        else:
            if lt != -1:  # -1: a record the reader could not read (it says why)
                self.stats["unsupported_linktype"] += 1
            return None
        if ver == 4:
            return self._ipv4(frame, ts, src_mac, data, off)
        if ver == 6:
            return self._ipv6(frame, ts, src_mac, data, off)
        self.stats["non_ip"] += 1
        return None

    # -- IP ---------------------------------------------------------------
    def _ipv4(
        self, frame: int, ts: float, mac: bytes | None, data: bytes, off: int
    ) -> Packet | None:
        if len(data) < off + 20:
            self.bad(frame, "truncated IPv4 header")
            return None
        vihl = data[off]
        ihl = (vihl & 15) * 4
        if vihl >> 4 != 4 or ihl < 20:
            self.bad(frame, f"bad IPv4 header (version {vihl >> 4}, header length {ihl})")
            return None
        total = (data[off + 2] << 8) | data[off + 3]
        end = off + total
        if total < ihl:
            self.bad(frame, f"IPv4 total length {total} < header length {ihl}")
            return None
        if end > len(data):
            self.bad(frame, f"IPv4 packet truncated: {len(data) - off} of {total} bytes captured")
            return None
        proto = data[off + 9]
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
        fl = (data[off + 6] << 8) | data[off + 7]
        if fl & 0x3FFF:  # MF set or offset != 0
            ident = (data[off + 4] << 8) | data[off + 5]
            got = self._fragment(
                frame,
                ts,
                (src, dst, ident, proto),
                (fl & 0x1FFF) * 8,
                fl & 0x2000,
                data[off + ihl : end],
            )
            if got is None:
                return None
            payload, frames = got
            return self._l4(frame, ts, mac, src, dst, proto, payload, 0, len(payload), frames)
        return self._l4(frame, ts, mac, src, dst, proto, data, off + ihl, end, None)

    def _ipv6(
        self, frame: int, ts: float, mac: bytes | None, data: bytes, off: int
    ) -> Packet | None:
        if len(data) < off + 40:
            self.bad(frame, "truncated IPv6 header")
            return None
        plen = (data[off + 4] << 8) | data[off + 5]
        nxt = data[off + 6]
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
        end = off + 40 + plen
        if end > len(data):
            self.bad(frame, f"IPv6 packet truncated: {len(data) - off - 40} of {plen} bytes")
            return None
        p = off + 40
        frag = None
        for _ in range(16):
            if nxt in _IPV6_EXT:
                if p + 2 > end:
                    self.bad(frame, "truncated IPv6 extension header")
                    return None
                hlen = (data[p + 1] + 2) * 4 if nxt == 51 else (data[p + 1] + 1) * 8
                nxt = data[p]
                p += hlen
            elif nxt == 44:
                if p + 8 > end:
                    self.bad(frame, "truncated IPv6 fragment header")
                    return None
                fo = (data[p + 2] << 8) | data[p + 3]
                frag = (fo & 0xFFF8, fo & 1, data[p + 4 : p + 8])
                nxt = data[p]
                p += 8
            else:
                break
        if p > end:
            self.bad(frame, "IPv6 extension headers overrun the packet")
            return None
        if frag is not None:
            got = self._fragment(frame, ts, (src, dst, frag[2], nxt), frag[0], frag[1], data[p:end])
            if got is None:
                return None
            payload, frames = got
            return self._l4(frame, ts, mac, src, dst, nxt, payload, 0, len(payload), frames)
        return self._l4(frame, ts, mac, src, dst, nxt, data, p, end, None)

    def _l4(
        self,
        frame: int,
        ts: float,
        mac: bytes | None,
        src: bytes,
        dst: bytes,
        proto: int,
        data: bytes,
        p: int,
        end: int,
        frames: tuple[int, ...] | None,
    ) -> Packet | None:
        if proto == 17:
            if end - p < 8:
                self.bad(frame, "truncated UDP header")
                return None
            sport, dport = _UDP(data, p)
            ulen = (data[p + 4] << 8) | data[p + 5]
            if ulen >= 8 and p + ulen < end:
                end = p + ulen  # Ethernet padding
            return Packet(
                frame, ts, mac, src, dst, 17, sport, dport, data[p + 8 : end], 0, 0, 0, frames
            )
        if proto == 6:
            if end - p < 20:
                self.bad(frame, "truncated TCP header")
                return None
            sport, dport, seq, ack, doff, flags = _TCP(data, p)
            hl = (doff >> 4) * 4
            if hl < 20 or p + hl > end:
                self.bad(frame, f"bad TCP header length {hl}")
                return None
            return Packet(
                frame,
                ts,
                mac,
                src,
                dst,
                6,
                sport,
                dport,
                data[p + hl : end],
                flags,
                seq,
                ack,
                frames,
            )
        if proto in (_ICMP_V4, _ICMP_V6):
            got = self._unreachable(frame, ts, mac, src, proto, data, p, end)
            if got is not None:
                return got
        self.stats["other_ip_proto"] += 1
        return None

    def _unreachable(
        self,
        frame: int,
        ts: float,
        mac: bytes | None,
        sender: bytes,
        proto: int,
        data: bytes,
        p: int,
        end: int,
    ) -> Packet | None:
        """An ICMP(v6) destination unreachable quoting TCP/UDP, as a Packet (see Packet)."""
        if end - p < 8:
            return None
        typ, code = data[p], data[p + 1]
        q = p + 8  # type, code, checksum, 4 unused bytes, then the quoted datagram
        if proto == _ICMP_V4:
            if typ != _ICMP_V4_UNREACH or code == _ICMP_V4_FRAG_NEEDED or end - q < 20:
                return None
            ihl = (data[q] & 15) * 4
            if data[q] >> 4 != 4 or ihl < 20:
                return None
            qproto, qsrc, qdst, l4 = (
                data[q + 9],
                data[q + 12 : q + 16],
                data[q + 16 : q + 20],
                q + ihl,
            )
        else:
            if typ != _ICMP_V6_UNREACH or end - q < 40 or data[q] >> 4 != 6:
                return None
            qproto, qsrc, qdst, l4 = (
                data[q + 6],
                data[q + 8 : q + 24],
                data[q + 24 : q + 40],
                q + 40,
            )
        if qproto not in (6, 17) or end - l4 < 4:
            return None
        sport, dport = _UDP(data, l4)
        return Packet(
            frame,
            ts,
            mac,
            qsrc,
            qdst,
            ICMP_UNREACHABLE,
            sport,
            dport,
            sender,
            qproto,
            typ,
            code,
            None,
        )

    def _fragment(
        self, frame: int, ts: float, key: tuple, offset: int, more: int, chunk: bytes
    ) -> tuple[bytes, tuple[int, ...]] | None:
        self.stats["fragments"] += 1
        entry = self._frags.get(key)
        if entry is None:
            if len(self._frags) >= FRAG_MAX_DATAGRAMS:
                self._expire(ts, force=True)
            entry = self._frags[key] = [ts, {}, -1, [], 0]
        if offset + len(chunk) > FRAG_MAX_BYTES:
            self.bad(frame, f"IP fragment beyond 65535 bytes (offset {offset})")
            del self._frags[key]
            return None
        parts: dict[int, bytes] = entry[1]
        if offset not in parts:
            parts[offset] = chunk
            entry[4] += len(chunk)
        entry[3].append(frame)
        if not more:
            entry[2] = offset + len(chunk)
        if entry[2] < 0 or entry[4] < entry[2]:
            if len(self._frags) > 64 and ts - next(iter(self._frags.values()))[0] > FRAG_TIMEOUT:
                self._expire(ts)
            return None
        # all bytes may be present: check contiguity
        out = bytearray()
        for o in sorted(parts):
            if o > len(out):
                return None  # a hole (overlapping fragments inflated the size)
            out += parts[o][len(out) - o :] if o < len(out) else parts[o]
        if len(out) < entry[2]:
            return None
        del self._frags[key]
        self.stats["reassembled"] += 1
        return bytes(out[: entry[2]]), tuple(entry[3])

    def _expire(self, now: float, force: bool = False) -> None:
        for key in list(self._frags):
            if force or now - self._frags[key][0] > FRAG_TIMEOUT:
                del self._frags[key]
                self.stats["fragments_dropped_limit" if force else "fragments_expired"] += 1
                if force:
                    return

    def finish(self) -> None:
        """End of capture: partial datagrams left are counted as expired."""
        self.stats["fragments_expired"] += len(self._frags)
        self._frags.clear()


def ip_text(addr: bytes) -> str:
    """Packed IPv4/IPv6 address as text."""
    if len(addr) == 4:
        return f"{addr[0]}.{addr[1]}.{addr[2]}.{addr[3]}"
    import ipaddress

    return str(ipaddress.IPv6Address(addr))


def mac_text(mac: bytes | None) -> str | None:
    """Lower-case hex MAC without separators (the DeviceKey form); None for all-zero."""
    if not mac or mac == ZERO_MAC:
        return None
    return mac.hex()
