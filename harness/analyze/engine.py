"""The streaming analyzer: one capture file in, observations and counts out.

`analyze_capture(path)` reads records (`harness.capture.reader`), decodes them
to TCP/UDP (`harness.capture.packets`), and routes only the packets a
provisioning dissector wants, decided by cheap tests before any object is
built: UDP by port (DNS, DHCP, TFTP, syslog; `Ports` lists them) plus the
ports of open TFTP transfers and a one-byte syslog test; TCP by flow, typed on
its first payload (HTTP request/response, TLS handshake) and otherwise
ignored for its lifetime (and forgotten once it closes). Memory is bounded: open
flows, transfers and reassembly buffers all have limits, and what hits a limit is
counted; profiles seen are parsed once per distinct body (docs/analyzer-memory.md).

A TCP connection the client opened (SYN) that never got a SYN-ACK is a failed
attempt: refused (a RST answered the SYN), unreachable (an ICMP/ICMPv6
destination unreachable quoted the SYN) or never answered (the client gave up,
or the capture ended). It is checked on the flags of flows already tracked, no
object per packet; at the end, those to a provisioning port (`Ports.http`,
`Ports.https`, and any port HTTP or TLS was seen on in the capture) become
`HttpExchange` records with no request (`method` "", outcome
`connection-error`, the Table 3-1 transport outcome). An HTTP request whose
answer never came is outcome `timeout` when the client closed first or the
capture ended, `no-response` when the server closed without answering; a TLS
ClientHello that got nothing back is such a record too (`method` "", outcome
`timeout`, or `connection-error` when the server closed).

Devices are attributed at the end: the client's IP, its Ethernet source MAC
(when that MAC is seen with one IP only: a router's MAC names nobody), the
serial and product of its User-Agent or client certificate, DHCP chaddr.
TLS decryption with a key log and the naming of captured server chains are
`harness.analyze.tls.TlsWire` (`tls=TlsOptions(...)`; hooked where a TLS flow
starts and at `finish`). With `keep=KeepOptions(...)` every observation goes
through `harness.analyze.keep.Keeper`: other clients' are counted, not kept
(`CaptureResult.other_clients`). With `share=(i, n)` the analyzer dissects only
the packets whose `split_key` is i modulo n and hands its state over with
`share_result`; another analyzer `absorb`s the shares and `complete`s
(harness.analyze.split). No rules and no output formats here.

The cyclic garbage collector is paused while a capture is read (`gc_paused`):
the records kept hold no cycles, and the collector's full passes over a growing
heap of records cost a fifth of a run. Flows break their own cycles when they
close; the young generation is collected at every sweep, so what little cyclic
garbage dissectors leave (XML parsers) is still freed as the run goes.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.analyze.dhcp import DhcpError, dhcp_observation
from harness.analyze.dns import DnsTracker
from harness.analyze.http import HttpConnection, looks_like_http
from harness.analyze.keep import ChainHook, Keeper, KeeperState, KeepOptions, decode, encode
from harness.analyze.params import sniff_profile
from harness.analyze.syslog import looks_like_syslog, syslog_observation
from harness.analyze.tcp import MOD, TcpDirection
from harness.analyze.tftp import TftpTracker, parse_request
from harness.analyze.tls import TlsConnection, TlsOptions, TlsWire, looks_like_tls
from harness.capture.packets import (
    ICMP_UNREACHABLE,
    MAX_KEPT,
    Packet,
    PacketDecoder,
    ip_text,
    mac_text,
)
from harness.capture.reader import CaptureReader
from harness.gc_pause import gc_paused
from harness.observe.events import DeviceKey, Evidence, HttpExchange, Observation
from harness.observe.others import OtherClient
from harness.spec.family import Family, family_names, load_family
from harness.spec.user_agent import UserAgent, parse_user_agent

MAX_FLOWS = 20000
FLOW_IDLE = 300.0
MAX_IGNORED = 200000
MAX_PROBLEMS = 1000
SWEEP_EVERY = 1 << 16
GENERIC_SERIALS = frozenset({"ciscogeneric"})
_TCP_HEADER = struct.Struct("!HHIIBB").unpack_from
_PORTS = struct.Struct("!HH").pack
_PORTS_AT = struct.Struct("!HH").unpack_from
_tuple_new = tuple.__new__  # a Packet without the Python-level __new__ of NamedTuple


def _app_type(data: bytes, from_client: bool) -> str | None:
    """The dissector an untyped flow's first in-order bytes call for (None: no dissector)."""
    if from_client and looks_like_http(data):
        return "http"
    if looks_like_tls(data):
        return "tls"
    return None


def raw_key(key: tuple) -> bytes:
    """(src, sport, dst, dport) as the bytes an IPv4 header and its TCP header hold at
    offsets 12-23 of the IP packet: src, dst, sport, dport (`Analyzer.ignored`'s keys)."""
    src, sport, dst, dport = key
    return src + dst + _PORTS(sport, dport)


def _reverse(raw: bytes) -> bytes:
    n = (len(raw) - 4) >> 1
    return raw[n : 2 * n] + raw[:n] + raw[2 * n + 2 :] + raw[2 * n : 2 * n + 2]


_MISSING = object()
MAX_FAILED = 100000  # failed connection attempts kept (a SYN scan must not fill memory)
MAX_PROFILE_HASHES = 65536  # distinct bodies remembered for sharing parsed profiles
MAX_FAILED_FRAMES = 16  # frames named per failed connection attempt
CONNECTION_ERROR = "connection-error"  # the Table 3-1 transport outcome (harness.spec)


@dataclass(frozen=True)
class Ports:
    """Which UDP ports carry which protocol (TCP protocols are recognised by content)."""

    dns: frozenset[int] = frozenset({53})
    dhcp: frozenset[int] = frozenset({67, 68})
    tftp: frozenset[int] = frozenset({69})
    syslog: frozenset[int] = frozenset({514})
    sniff_syslog: bool = True  # treat "<PRI>..." datagrams on other ports as syslog
    sniff_tftp: bool = True  # treat RRQ/WRQ-shaped datagrams on other ports as TFTP
    # TCP ports where a refused / unreachable / unanswered connection is a failed
    # provisioning attempt (ports HTTP or TLS was seen on in the capture count too)
    http: frozenset[int] = frozenset({80, 8080})
    https: frozenset[int] = frozenset({443, 8443})

    def with_extra(self, extra: dict[str, set[int]]) -> Ports:
        return dataclasses.replace(
            self, **{k: getattr(self, k) | frozenset(v) for k, v in extra.items()}
        )


@dataclass
class CaptureResult:
    """What one capture gave: observations, counts, and every problem with its frame."""

    path: str
    packets: int = 0
    malformed: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (frame, why)
    read_problems: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    profiles: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    linktypes: list[int] = field(default_factory=list)
    format: str = ""
    other_clients: list[OtherClient] = field(default_factory=list)  # keep=: summarized


class _Flow:
    __slots__ = (
        "client",
        "server",
        "c2s",
        "s2c",
        "app",
        "last",
        "ts",
        "fins",
        "key",
        "syns",
        "synack",
        "failure",
        "frames",
        "start",
        "closer",
        "isn_c",
        "isn_s",
    )

    def __init__(self) -> None:
        # the directions are made at a direction's first payload (most flows of a site are
        # typed as of no interest by it, and then never need one); until then the sequence
        # number of a SYN waits in isn_c / isn_s
        self.c2s: TcpDirection | None = None
        self.s2c: TcpDirection | None = None
        self.isn_c: int | None = None
        self.isn_s: int | None = None
        self.app = None
        self.ts = 0.0
        self.fins = 0
        self.syns = 0  # SYNs the client sent before any SYN-ACK
        self.synack = False
        self.failure = ""  # why the connection failed: "refused", "unreachable: ..."
        self.frames: list[int] | None = None  # frames of a connection not (yet) accepted
        self.start = 0.0
        self.closer = ""  # who closed first: "client" | "server" ("" : nobody yet)


@dataclass(frozen=True, slots=True)
class _FailedConnection:
    client: tuple[bytes, int]
    server: tuple[bytes, int]
    start: float
    end: float
    syns: int
    why: str
    frames: tuple[int, ...]
    outcome: str = CONNECTION_ERROR


class Analyzer:
    """Feed it records; it keeps the state of every flow and transfer (see module docstring)."""

    def __init__(
        self,
        source: str,
        ports: Ports | None = None,
        profile_key: str | None = None,
        tls: TlsOptions | None = None,
        share: tuple[int, int] | None = None,
        keep: KeepOptions | None = None,
    ):
        self.source = source
        # (index, count): dissect only the packets whose split key falls to this share
        # (`split_key`; harness.analyze.split runs one Analyzer per share)
        self.share = share if share is not None and share[1] > 1 else None
        self._mac_frames: dict[bytes, int] | None = {} if self.share else None
        self._profile_order: list[tuple[int, tuple[int, ...]]] = []
        self.tls_wire = TlsWire(tls)  # key log, trust anchors, chain classification
        self.ports = ports or Ports()
        self.profile_key = profile_key
        self.result = CaptureResult(path=source.removeprefix("capture:"))
        self.decoder = PacketDecoder()
        # the fast path's packets that still need decoding: their own decoder in a share
        self.fdecoder = PacketDecoder() if self.share else self.decoder
        self.observations: list[Observation] = self.result.observations
        # where every observation goes: all kept (keep=None), or other clients summarized
        self.keeper: Keeper | None = None
        self._keep: Callable[[Observation], None] = self.observations.append
        if keep is not None:
            hook = ChainHook(self.tls_wire.pop_chain, self.tls_wire.put_chain)
            self.keeper = Keeper(
                self.observations,
                spill=keep.spill,
                stated=keep.stated,
                chains=hook,
                named=self.share is not None,
            )
            self._keep = self.keeper.add
        self.http_ports_seen: set[int] = set()  # server ports of HTTP (plain) and TLS seen
        self.tls_ports_seen: set[int] = set()
        self.flows: dict[tuple, _Flow] = {}
        self.ignored: dict[bytes, int] = {}  # raw_key of both directions -> FINs seen
        self.ip_macs: dict[bytes, bytes] = {}
        self.mac_ips: dict[bytes, set[bytes]] = {}
        self._ipcache: dict[bytes, str] = {}
        self._ip_keys: dict[str, DeviceKey] = {}
        self._ua_cache: dict[str, object] = {}
        self._profiles: dict[bytes, dict[str, str] | None] = {}  # body hash -> parameters
        self._families: list[Family] | None = None
        self.tftp = TftpTracker(source, self._emit_with_body, self.problem, self._ip)
        self.tftp_ports: set[int] = set()
        # the UDP ports any dissector watches: the configured ones and the open transfers'
        # (`run` drops a datagram on neither with two lookups; kept equal to their union)
        p = self.ports
        self._udp_wanted = p.dns | p.dhcp | p.tftp | p.syslog
        self._udp_watch: set[int] = set(self._udp_wanted)
        self.dns = DnsTracker(
            source, self._emit, self.problem, self.keeper.add_dns if self.keeper else None
        )
        self.failed: list[_FailedConnection] = []
        self.frame = 0
        self.now = 0.0
        self.last_time: float | None = None  # timestamp of the last record `run` read
        self.stats = {
            "tcp_flows": 0,
            "tcp_flows_ignored": 0,
            "tcp_flows_dropped_limit": 0,
            "tcp_retransmissions": 0,
            "tcp_overlaps": 0,
            "tcp_gaps": 0,
            "tcp_gap_bytes": 0,
            "tcp_failed_connections": 0,
        }

    # -- plumbing -------------------------------------------------------------
    def problem(self, frame: int, why: str) -> None:
        self.result.malformed += 1
        if len(self.result.problems) < MAX_PROBLEMS:
            self.result.problems.append((frame, why))

    def _ip(self, raw: bytes) -> str:
        s = self._ipcache.get(raw)
        if s is None:
            if len(self._ipcache) > 65536:
                self._ipcache.clear()
            s = self._ipcache[raw] = ip_text(raw)
        return s

    def _learn_mac(self, ip: bytes, mac: bytes | None, frame: int) -> None:
        if mac is None:
            return
        if self._mac_frames is not None:  # a share: the parent keeps the last MAC of all shares
            self._mac_frames[ip] = frame
        if self.ip_macs.get(ip) == mac:
            return
        self.ip_macs[ip] = mac
        ips = self.mac_ips.setdefault(mac, set())
        if len(ips) < 4:
            ips.add(ip)

    def _emit(self, obs: Observation) -> None:
        self._keep(obs)

    def _emit_with_body(self, obs: Observation, body: bytes) -> None:
        dev = obs.device
        ua = getattr(obs, "user_agent", None)
        if ua:
            parts = self._ua_cache.get(ua, _MISSING)
            if parts is _MISSING:
                if len(self._ua_cache) > 4096:
                    self._ua_cache.clear()
                parts = self._ua_cache[ua] = self._identify(ua)
            if parts is not None and (parts.serial or parts.product or parts.mac):
                dev = DeviceKey(
                    ip=dev.ip,
                    mac=parts.mac or dev.mac,
                    serial=parts.serial or dev.serial,
                    product=parts.product or dev.product,
                )
                obs = dataclasses.replace(obs, device=dev)
        if obs.server is not None and getattr(obs, "scheme", "") == "http":
            self.http_ports_seen.add(obs.server[1])
        self._keep(obs)
        if body:
            params = self._profile(body)
            if params:
                what = getattr(obs, "url", None) or getattr(obs, "filename", "")
                self.result.profiles.append((dev.ip or "", what, params))
                if self.share:  # where it comes in the capture order of all shares
                    self._profile_order.append((self.frame, obs.evidence.frames[:1]))

    def _profile(self, body: bytes) -> dict[str, str] | None:
        """The parameters of a body, one shared dict per distinct content (by hash): a fleet
        fetching one profile thousands of times holds it once (judging only reads them)."""
        digest = hashlib.blake2b(body, digest_size=16).digest()
        got = self._profiles.get(digest, _MISSING)
        if got is _MISSING:
            if len(self._profiles) >= MAX_PROFILE_HASHES:  # most are not profiles: web pages
                self._profiles.clear()
            got = self._profiles[digest] = sniff_profile(body, self.profile_key)
        return got  # type: ignore[return-value]

    def _identify(self, ua: str) -> UserAgent | None:
        """`identify_user_agent(ua)[1]`, with the shipped families loaded once per capture."""
        if self._families is None:
            self._families = [load_family(name) for name in family_names()]
        for fam in self._families:
            parsed = parse_user_agent(fam, ua)
            if parsed is not None:
                return parsed
        return None

    def _emit_tls(self, obs: Observation) -> None:
        subj = getattr(obs, "client_cert_subject", None)
        if subj:
            serial = subj.get("L")
            if serial and serial.lower() not in GENERIC_SERIALS:
                dev = obs.device
                mac = (subj.get("ST") or subj.get("S") or "").replace(":", "").lower()
                obs = dataclasses.replace(
                    obs,
                    device=DeviceKey(
                        ip=dev.ip,
                        mac=mac if len(mac) == 12 else dev.mac,
                        serial=serial,
                        product=subj.get("OU") or dev.product,
                    ),
                )
        if obs.server is not None:
            self.tls_ports_seen.add(obs.server[1])
        self._keep(obs)

    # -- the hot loop -----------------------------------------------------------
    def run(
        self, reader: CaptureReader, progress: Callable[[int, int], None] | None = None
    ) -> None:
        decode = self.decoder.decode
        ports = self.ports
        dns_p, dhcp_p, tftp_p, syslog_p = ports.dns, ports.dhcp, ports.tftp, ports.syslog
        sniff_sys, sniff_tftp = ports.sniff_syslog, ports.sniff_tftp
        tftp_ports, watch = self.tftp_ports, self._udp_watch
        flows, ignored = self.flows, self.ignored
        frame = begun = self.frame
        udp_wanted = self._udp_wanted
        sniff_first = (60 if sniff_sys else -1, 0 if sniff_tftp else -1)
        tftp_packet = self.tftp.packet
        dns_raw = self._dns_raw
        tcp_header = _TCP_HEADER
        # a share (harness.analyze.split): keep only the packets whose split_key is ours;
        # packets of the fast path are decoded (when they are) by a decoder of their own,
        # whose counts the parent adds up (the general decoder sees every packet in all shares)
        mine, shares = self.share or (0, 0)
        fdecode = self.fdecoder.decode
        for ts, lt, data in reader:
            frame += 1
            if frame & (SWEEP_EVERY - 1) == 0:
                self.frame, self.now = frame, ts
                self._sweep(ts)
                if progress is not None:
                    progress(reader.position, frame)
            pkt = None
            fast = False
            # fast path: untagged Ethernet + IPv4 without options or fragments, whole in the
            # capture; packets no dissector wants are dropped here, before any object is built,
            # and TCP packets and datagrams of open TFTP transfers skip the general decoder
            if (
                lt == 1
                and len(data) >= 42
                and data[12] == 8
                and data[13] == 0
                and data[14] == 69
                and not (data[20] & 0x3F or data[21])
            ):
                proto = data[23]
                end = 14 + ((data[16] << 8) | data[17])
                if shares and (proto == 17 or proto == 6):
                    fast = True
                    c = -1  # the client's address (DNS), else the pair of addresses
                    if proto == 17:
                        sport, dport = _PORTS_AT(data, 34)
                        if dport in dns_p:
                            if sport not in dns_p:
                                c = 26
                        elif sport in dns_p:
                            c = 30
                    if c < 0:
                        k = ((data[28] ^ data[32]) << 8) | (data[29] ^ data[33])
                    else:
                        k = (data[c + 2] << 8) | data[c + 3]
                    if k % shares != mine:
                        continue
                    self.frame = frame  # orders the profiles of all shares (_emit_with_body)
                if proto == 17:
                    sport, dport = _PORTS_AT(data, 34)
                    if sport not in watch and dport not in watch:
                        if len(data) == 42 or data[42] not in sniff_first:
                            continue  # RTP, NTP, NetBIOS...: most of a VoIP site's packets
                    elif dport in tftp_ports or sport in tftp_ports:
                        if 42 <= end <= len(data):
                            ulen = (data[38] << 8) | data[39]
                            if ulen >= 8 and 34 + ulen < end:
                                end = 34 + ulen
                            if tftp_packet(
                                frame,
                                ts,
                                (data[26:30], sport),
                                (data[30:34], dport),
                                data[42:end],
                            ):
                                continue
                    elif dport in dns_p or sport in dns_p:
                        if 42 <= end <= len(data):  # DNS: no Packet object either
                            ulen = (data[38] << 8) | data[39]
                            if ulen >= 8 and 34 + ulen < end:
                                end = 34 + ulen
                            dns_raw(
                                frame, ts, data[26:30], sport, data[30:34], dport, data[6:12],
                                data[42:end],
                            )  # fmt: skip
                            continue
                    elif (
                        dport not in udp_wanted
                        and sport not in udp_wanted
                        and (len(data) == 42 or data[42] not in sniff_first)
                    ):
                        continue
                elif proto == 6 and len(data) >= 54:
                    rk = data[26:38]
                    if rk in ignored:
                        if data[47] & 0x05:  # FIN/RST: forget the flow once closed
                            self._ignored_end(rk, data[47])
                        continue
                    sport, dport, seq, ack, doff, flags = tcp_header(data, 34)
                    hl = (doff >> 4) * 4
                    if hl >= 20 and 34 + hl <= end <= len(data):
                        pkt = _tuple_new(Packet, (frame, ts, data[6:12], data[26:30],
                                                  data[30:34], 6, sport, dport,
                                                  data[34 + hl : end], flags, seq, ack, None))  # fmt: skip
            if pkt is None:
                if fast:
                    pkt = fdecode(frame, ts, lt, data)
                    if pkt is None:
                        continue
                else:
                    pkt = decode(frame, ts, lt, data)
                    if pkt is None:
                        continue
                    if shares:
                        if split_key(pkt, dns_p) % shares != mine:
                            continue
                        self.frame = frame
                sport, dport = pkt.sport, pkt.dport
                if pkt.proto == ICMP_UNREACHABLE:
                    self._unreachable(pkt)
                    continue
                if pkt.proto == 17:
                    if (dport in tftp_ports or sport in tftp_ports) and self._tftp(pkt):
                        pass
                    elif dport in dns_p or sport in dns_p:
                        self._dns(pkt)
                    elif dport in tftp_p:
                        self._tftp_request(pkt)
                    elif dport in syslog_p:
                        self._syslog(pkt)
                    elif dport in dhcp_p and sport in dhcp_p:
                        self._dhcp(pkt)
                    else:
                        p = pkt.payload
                        if not p:
                            continue
                        b0 = p[0]
                        if b0 == 60 and sniff_sys and looks_like_syslog(p):
                            self._syslog(pkt)
                        elif (
                            b0 == 0 and sniff_tftp and len(p) > 4 and p[1] in (1, 2) and p[-1] == 0
                        ):
                            self._tftp_request(pkt)
                    continue
            key = (pkt.src, sport, pkt.dst, dport)
            fl = flows.get(key)
            if fl is None:
                fl = flows.get((pkt.dst, dport, pkt.src, sport))
                if fl is None:
                    if raw_key(key) in ignored:
                        continue
                    fl = self._new_flow(pkt, key)
                    if fl is None:
                        continue
            self._tcp(fl, pkt)
        if frame != begun:
            self.last_time = ts
        self.frame = frame

    # -- UDP ----------------------------------------------------------------------
    def _dns(self, pkt) -> None:  # noqa: ANN001 - Packet
        self._dns_raw(
            pkt.frame, pkt.time, pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.src_mac, pkt.payload
        )

    def _dns_raw(
        self,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        mac: bytes | None,
        payload: bytes,
    ) -> None:
        if dport in self.ports.dns:
            self._learn_mac(src, mac, frame)
        ip = self._ip
        self.dns.packet(frame, ts, (ip(src), sport), (ip(dst), dport), payload, self._device_key)

    def _device_key(self, ip: str) -> DeviceKey:
        """The key of a client known by its address only (one shared object per address)."""
        key = self._ip_keys.get(ip)
        if key is None:
            if len(self._ip_keys) > 65536:
                self._ip_keys.clear()
            key = self._ip_keys[ip] = DeviceKey(ip=ip)
        return key

    def _dhcp(self, pkt) -> None:  # noqa: ANN001
        try:
            obs = dhcp_observation(
                pkt.frame,
                pkt.time,
                (self._ip(pkt.src), pkt.sport),
                (self._ip(pkt.dst), pkt.dport),
                pkt.payload,
                self.source,
            )
        except DhcpError as exc:
            self.problem(pkt.frame, str(exc))
            return
        self._keep(obs)

    def _syslog(self, pkt) -> None:  # noqa: ANN001
        self._learn_mac(pkt.src, pkt.src_mac, pkt.frame)
        src = (self._ip(pkt.src), pkt.sport)
        self._keep(
            syslog_observation(
                pkt.frame,
                pkt.time,
                src,
                (self._ip(pkt.dst), pkt.dport),
                pkt.payload,
                self._device_key(src[0]),
                self.source,
            )
        )

    def _tftp_request(self, pkt) -> None:  # noqa: ANN001
        if parse_request(pkt.payload) is None:
            if pkt.dport in self.ports.tftp:
                self.problem(pkt.frame, "datagram to the TFTP port is not a read/write request")
            return
        self._learn_mac(pkt.src, pkt.src_mac, pkt.frame)
        self.tftp.request(
            pkt.frame,
            pkt.time,
            (pkt.src, pkt.sport),
            (pkt.dst, pkt.dport),
            DeviceKey(),
            pkt.payload,
        )
        self.tftp_ports.add(pkt.sport)
        self._udp_watch.add(pkt.sport)

    def _tftp(self, pkt) -> bool:  # noqa: ANN001
        """A datagram to or from the port of an open transfer; False when it is not TFTP
        (another host's datagram on a port that is a transfer's here, a DNS answer...)."""
        src, dst = (pkt.src, pkt.sport), (pkt.dst, pkt.dport)
        if self.tftp.packet(pkt.frame, pkt.time, src, dst, pkt.payload):
            return True
        p = pkt.payload
        # Not part of a transfer: a request to the TFTP port, or one shaped like an RRQ/WRQ
        # from a port an earlier transfer used (a client run reusing its source port).
        if pkt.dport in self.ports.tftp or (len(p) > 4 and p[0] == 0 and p[1] in (1, 2)):
            self._tftp_request(pkt)
            return True
        return False

    # -- TCP ----------------------------------------------------------------------
    def _new_flow(self, pkt, key: tuple) -> _Flow | None:  # noqa: ANN001
        flags, p = pkt.flags, pkt.payload
        if flags & 0x12 == 0x02:  # SYN: the sender is the client
            client_is_src = True
            typ = None
        elif p:
            if looks_like_http(p):
                typ = "http"
                client_is_src = not p.startswith(b"HTTP/1.")
            elif looks_like_tls(p):
                typ = "tls"
                client_is_src = not (len(p) > 5 and p[5] == 2)
            else:
                self._ignore(key)
                return None
        else:
            return None
        if len(self.flows) >= MAX_FLOWS:
            self.stats["tcp_flows_dropped_limit"] += 1
            oldest = min(self.flows.values(), key=lambda f: f.last)
            self._close(oldest)
        fl = _Flow()
        if client_is_src:
            fl.client, fl.server = (pkt.src, pkt.sport), (pkt.dst, pkt.dport)
        else:
            fl.client, fl.server = (pkt.dst, pkt.dport), (pkt.src, pkt.sport)
        fl.key = (*fl.client, *fl.server)
        fl.last = pkt.time
        if typ is not None:
            self._start_app(fl, typ, pkt.time)
        self.flows[fl.key] = fl
        self.stats["tcp_flows"] += 1
        return fl

    def _ignore(self, key: tuple) -> None:
        if len(self.ignored) >= MAX_IGNORED:
            self.ignored.clear()
        raw = raw_key(key)
        self.ignored[raw] = 1
        self.ignored[_reverse(raw)] = 1
        self.stats["tcp_flows_ignored"] += 1

    def _ignored_end(self, key: bytes, flags: int) -> None:
        """Forget an ignored flow after a RST or a FIN each way (the table holds open flows);
        a late packet of it with no payload is then dropped as any such packet is."""
        rev = _reverse(key)
        if flags & 0x04 or self.ignored.get(rev) == 2:
            self.ignored.pop(key, None)
            self.ignored.pop(rev, None)
        else:
            self.ignored[key] = 2  # this side sent its FIN

    def _start_app(self, fl: _Flow, typ: str, ts: float) -> None:
        client = (self._ip(fl.client[0]), fl.client[1])
        server = (self._ip(fl.server[0]), fl.server[1])
        dev = self._device_key(client[0])
        if typ == "http":
            fl.app = HttpConnection(
                client, server, dev, self.source, self._emit_with_body, self.problem
            )
        else:
            wire = self.tls_wire
            https = None
            if wire.keylog:  # decrypted records feed the HTTP dissector
                https = HttpConnection(
                    client, server, dev, self.source, self._emit_with_body, self.problem, "https"
                )
            fl.app = TlsConnection(
                client, server, dev, self.source, self._emit_tls, self.problem, ts, wire, https
            )

    def _sink(self, fl: _Flow, from_client: bool) -> Callable[[bytes, int], None]:
        def sink(data: bytes, frame: int) -> None:
            if fl.app is None:
                typ = _app_type(data, from_client)
                if typ is None:
                    self._drop(fl)
                    return
                self._start_app(fl, typ, fl.ts)
            if fl.app:
                if from_client:
                    fl.app.client_data(data, frame, fl.ts)
                else:
                    fl.app.server_data(data, frame, fl.ts)

        return sink

    def _gap(self, seq: int, size: int) -> None:
        self.stats["tcp_gaps"] += 1
        self.stats["tcp_gap_bytes"] += size

    def _direction(self, fl: _Flow, from_client: bool) -> TcpDirection:
        """The direction's reassembly, made at its first payload (see `_Flow`)."""
        d = TcpDirection(self._sink(fl, from_client), self._gap)
        isn = fl.isn_c if from_client else fl.isn_s
        if isn is not None:
            d.syn(isn)
        if from_client:
            fl.c2s = d
        else:
            fl.s2c = d
        return d

    def _not_ours(self, fl: _Flow, from_client: bool, seq: int, data: bytes) -> bool:
        """An untyped flow's first payload, in order, that no dissector takes: the flow is
        ignored at once (what its sink would do, without making the directions)."""
        isn = fl.isn_c if from_client else fl.isn_s
        if isn is not None and (seq - isn - 1) % MOD:
            return False  # out of order: the reassembly decides
        if _app_type(data, from_client) is not None:
            return False
        self._drop(fl)
        return True

    def _drop(self, fl: _Flow) -> None:
        """An untyped flow whose first bytes no dissector takes: ignored from now on."""
        fl.app = False  # not ours: stop feeding
        fl.c2s = fl.s2c = None  # break the flow <-> sink cycle (freed at once)
        self._ignore(fl.key)
        self.flows.pop(fl.key, None)
        self.stats["tcp_flows_ignored"] -= 1

    def _tcp(self, fl: _Flow, pkt) -> None:  # noqa: ANN001
        from_client = pkt.src == fl.client[0] and pkt.sport == fl.client[1]
        d = fl.c2s if from_client else fl.s2c
        fl.ts = fl.last = pkt.time
        flags = pkt.flags
        if from_client:
            self._learn_mac(pkt.src, pkt.src_mac, pkt.frame)
        if flags & 0x02:
            if d is not None:
                d.syn(pkt.seq)
            elif from_client:
                fl.isn_c = pkt.seq
            else:
                fl.isn_s = pkt.seq
            if not from_client:
                fl.synack = True
                fl.frames = None
            elif not fl.synack and not flags & 0x10:
                if not fl.syns:
                    fl.start, fl.frames = pkt.time, []
                fl.syns += 1
                if len(fl.frames) < MAX_FAILED_FRAMES:  # type: ignore[arg-type]
                    fl.frames.append(pkt.frame)  # type: ignore[union-attr]
        if pkt.payload and fl.app is not False:
            if d is None:
                if fl.app is None and self._not_ours(fl, from_client, pkt.seq, pkt.payload):
                    return
                d = self._direction(fl, from_client)
            d.segment(pkt.seq, pkt.payload, pkt.frame)
        if fl.app is False:
            return
        if flags & 0x05 and not fl.closer:
            fl.closer = "client" if from_client else "server"
        if flags & 0x04:  # RST
            if fl.syns and not fl.synack and not from_client:
                fl.failure = "refused: the server answered the SYN with a RST"
                if len(fl.frames) < MAX_FAILED_FRAMES:  # type: ignore[arg-type]
                    fl.frames.append(pkt.frame)  # type: ignore[union-attr]
            self._close(fl)
        elif flags & 0x01:
            fl.fins |= 1 if from_client else 2
            if fl.fins == 3:
                self._close(fl)

    def _close(self, fl: _Flow) -> None:
        if self.flows.get(fl.key) is fl:
            del self.flows[fl.key]
        for d in (fl.c2s, fl.s2c):
            if d is None:  # closed before
                continue
            d.close()
            self.stats["tcp_retransmissions"] += d.retransmissions
            self.stats["tcp_overlaps"] += d.overlaps
        if fl.app:
            if isinstance(fl.app, HttpConnection):
                fl.app.closed_by = fl.closer
            elif fl.c2s is not None and fl.c2s.delivered and not (fl.s2c and fl.s2c.delivered):
                self._tls_unanswered(fl)
            fl.app.close(fl.ts)
        elif fl.app is None and fl.syns and not fl.synack and len(self.failed) < MAX_FAILED:
            self.failed.append(
                _FailedConnection(
                    fl.client,
                    fl.server,
                    fl.start,
                    fl.last,
                    fl.syns,
                    fl.failure or "",
                    tuple(fl.frames or ()),
                )
            )
        fl.app = False
        fl.c2s = fl.s2c = None  # break the flow <-> sink cycle (freed at once)

    def _tls_unanswered(self, fl: _Flow) -> None:
        """A TLS client whose hello got nothing back: a timeout (or an error if the server
        closed), as a request never answered is; what it asked for is encrypted anyway."""
        if len(self.failed) >= MAX_FAILED:
            return
        start = fl.app.time  # type: ignore[union-attr]
        if fl.closer == "server":
            why, outcome = "TLS: the server closed without answering the ClientHello", None
        else:
            end = "the client gave up" if fl.closer else "the capture ends"
            why, outcome = (
                f"TLS: no answer to the ClientHello within {fl.ts - start:.1f} s; {end}",
                "timeout",
            )
        self.failed.append(
            _FailedConnection(
                fl.client,
                fl.server,
                start,
                fl.ts,
                fl.syns,
                why,
                tuple(fl.app.frames),  # type: ignore[union-attr]
                outcome or CONNECTION_ERROR,
            )
        )

    def _unreachable(self, pkt: Packet) -> None:
        """An ICMP(v6) destination unreachable: fail the SYN or TFTP request it quotes."""
        sender = self._ip(pkt.payload)
        icmp = "ICMPv6" if len(pkt.src) == 16 else "ICMP"
        why = f"unreachable: {icmp} destination unreachable (code {pkt.ack}) from {sender}"
        if pkt.flags == 6:
            fl = self.flows.get((pkt.src, pkt.sport, pkt.dst, pkt.dport))
            if fl is None or fl.synack or not fl.syns or fl.app is not None:
                return
            fl.failure = why
            fl.last = pkt.time
            if len(fl.frames) < MAX_FAILED_FRAMES:  # type: ignore[arg-type]
                fl.frames.append(pkt.frame)  # type: ignore[union-attr]
        else:
            self.tftp.unreachable(pkt.frame, pkt.time, (pkt.src, pkt.sport), (pkt.dst, pkt.dport))

    def _failed_attempts(self) -> list[Observation]:
        """The failed connections to provisioning ports, as HttpExchange records (no request)."""
        if not self.failed:
            return []
        http_ports = set(self.ports.http) | self.http_ports_seen
        tls_ports = set(self.ports.https) | self.tls_ports_seen
        out: list[Observation] = []
        for f in self.failed:
            port = f.server[1]
            if port not in http_ports and port not in tls_ports:
                continue
            self.stats["tcp_failed_connections"] += 1
            client = (self._ip(f.client[0]), f.client[1])
            tries = f"{f.syns} SYN" + ("s" if f.syns > 1 else "")
            why = f.why or f"never answered: no SYN-ACK to {tries} over {f.end - f.start:.1f} s"
            out.append(
                HttpExchange(
                    time=f.start,
                    client=client,
                    server=(self._ip(f.server[0]), port),
                    device=DeviceKey(ip=client[0]),
                    evidence=Evidence(self.source, f.frames),
                    method="",
                    url="",
                    scheme="https" if port in tls_ports and port not in http_ports else "http",
                    outcome=f.outcome,
                    note=why if why.startswith(("never", "TLS")) else f"{why} ({tries})",
                    duration=f.end - f.start,
                )
            )
        return out

    def _sweep(self, now: float) -> None:
        if not gc.isenabled():
            gc.collect(0)  # the cyclic garbage of the last sweep period (see module docstring)
        for fl in [f for f in self.flows.values() if now - f.last > FLOW_IDLE]:
            self._close(fl)
        self.tftp.expire(now)
        open_ports = {t.client[1] for t in self.tftp.by_client.values()} | {
            c[1] for c, _ in self.tftp.by_pair
        }
        self.tftp_ports.intersection_update(open_ports)
        self._udp_watch.intersection_update(self._udp_wanted | self.tftp_ports)

    def finish(self) -> CaptureResult:
        """End of the capture: close what is open, then `complete`."""
        self._close_all()
        return self.complete()

    def _close_all(self) -> None:
        for fl in list(self.flows.values()):
            self._close(fl)
        self.tftp.finish()
        self.dns.finish()
        self.decoder.finish()

    def complete(self) -> CaptureResult:
        """What needs every observation of the capture: the failed attempts (the ports HTTP
        and TLS were seen on), the MAC of each client, the naming of TLS chains (by the DNS
        answers of any client); the observations in capture order: by time, then first frame
        (the order does not depend on how the capture was split, harness.analyze.split)."""
        for o in self._failed_attempts():
            self._keep(o)
        r = self.result
        r.malformed += self.decoder.malformed_count
        r.problems.extend(self.decoder.malformed[: max(0, MAX_PROBLEMS - len(r.problems))])
        r.problems.sort()
        r.stats = {**self.decoder.stats, **self.stats, "tftp_dropped_limit": self.tftp.dropped}
        by_ip = self._macs_by_ip()
        dns = None
        if self.keeper is not None:
            try:
                r.other_clients = self.keeper.resolve(by_ip)
                points: dict[str, list[float]] = {}
                for _client, server, t in self.tls_wire.chains():
                    if server:
                        points.setdefault(server[0], []).append(t)
                for times in points.values():
                    times.sort()
                dns = self.keeper.dns_index(points, r.observations)
            finally:
                self.keeper.close()
        r.observations[:] = self._attribute(r.observations, by_ip)
        self.tls_wire.classify(r.observations, dns)
        r.problems.extend((0, f"TLS: {p}") for p in self.tls_wire.problems)
        r.observations.sort(key=_capture_order)
        return r

    # -- a share of a split capture (harness.analyze.split) -------------------------
    def share_result(self) -> ShareResult:
        """Close what is open and hand over what `absorb` needs (picklable)."""
        self._close_all()
        tftp_dropped = self.tftp.dropped
        return ShareResult(
            observations=[encode(o) for o in self.observations],
            failed=self.failed,
            profiles=list(zip(self._profile_order, self.result.profiles, strict=True)),
            ip_macs={ip: (self._mac_frames.get(ip, 0), mac) for ip, mac in self.ip_macs.items()}
            if self._mac_frames is not None
            else {ip: (0, mac) for ip, mac in self.ip_macs.items()},
            mac_ips=self.mac_ips,
            problems=self.result.problems,
            malformed=self.result.malformed,
            stats={**self.stats, "tftp_dropped_limit": tftp_dropped},
            decoder=_decoder_state(self.decoder),
            fdecoder=_decoder_state(self.fdecoder) if self.fdecoder is not self.decoder else None,
            chains=self.tls_wire.chains(),
            frame=self.frame,
            last_time=self.last_time,
            ports_seen=(self.http_ports_seen, self.tls_ports_seen),
            keeper=self.keeper.state() if self.keeper is not None else None,
        )

    def absorb(self, parts: list[ShareResult]) -> None:
        """Take the shares' results as if this analyzer had read the capture itself (then
        `complete`): the general decoder's counts are the first share's (every share decodes
        those packets), the rest is added up or merged in capture order."""
        stats = self.stats
        profiles: list[tuple[tuple[int, tuple[int, ...]], tuple]] = []
        last_mac: dict[bytes, tuple[int, bytes]] = {}
        dec = self.decoder
        for i, part in enumerate(parts):
            self.observations.extend(decode(r) for r in part.observations)
            self.failed.extend(part.failed)
            profiles.extend(part.profiles)
            for ip, seen in part.ip_macs.items():
                if ip not in last_mac or seen[0] > last_mac[ip][0]:
                    last_mac[ip] = seen
            for mac, ips in part.mac_ips.items():
                mine = self.mac_ips.setdefault(mac, set())
                mine.update(list(ips)[: max(0, 4 - len(mine))])
            self.result.problems.extend(part.problems)
            self.result.malformed += part.malformed
            for k, v in part.stats.items():
                if k == "tftp_dropped_limit":
                    self.tftp.dropped += v
                else:
                    stats[k] = stats.get(k, 0) + v
            for state in (part.decoder if i == 0 else None, part.fdecoder):
                if state is None:
                    continue
                malformed, count, dstats = state
                dec.malformed_count += count
                dec.malformed.extend(malformed)
                for k, v in dstats.items():
                    dec.stats[k] = dec.stats.get(k, 0) + v
            self.tls_wire.add_chains(part.chains)
            self.http_ports_seen |= part.ports_seen[0]
            self.tls_ports_seen |= part.ports_seen[1]
            if part.keeper is not None and self.keeper is not None:
                self.keeper.absorb(part.keeper)
            self.frame = max(self.frame, part.frame)
            if part.last_time is not None:
                self.last_time = part.last_time
        self.ip_macs = {ip: mac for ip, (_, mac) in last_mac.items()}
        dec.malformed.sort()
        del dec.malformed[MAX_KEPT:]
        self.result.problems.sort()
        del self.result.problems[MAX_PROBLEMS:]
        profiles.sort(key=lambda entry: entry[0])  # stable: a share's own order is kept
        self.result.profiles = [p for _, p in profiles]

    def _macs_by_ip(self) -> dict[str, str]:
        """The MAC seen for each client IP (unless that MAC speaks for several IPs)."""
        by_ip: dict[str, str] = {}
        for ip, mac in self.ip_macs.items():
            text = mac_text(mac)
            if text and len(self.mac_ips.get(mac, ())) == 1:
                by_ip[self._ip(ip)] = text
        return by_ip

    def _attribute(
        self, observations: list[Observation], by_ip: dict[str, str]
    ) -> list[Observation]:
        """Add the MAC seen for each client IP (`_macs_by_ip`)."""
        out = []
        for o in observations:
            d = o.device
            if d.ip and not d.mac and d.ip in by_ip:
                # the record was built here and is not shared yet: set the field in place
                # (dataclasses.replace costs ~10 us a record, a visible share of the run)
                object.__setattr__(o, "device", DeviceKey(d.ip, by_ip[d.ip], d.serial, d.product))
            out.append(o)
        return out


@dataclass
class ShareResult:
    """What one share of a split capture hands the parent (`Analyzer.share_result`)."""

    observations: list[tuple]  # harness.analyze.keep.encode: ten times faster to pickle
    failed: list[_FailedConnection]
    profiles: list[tuple[tuple[int, tuple[int, ...]], tuple[str, str, dict[str, str]]]]
    ip_macs: dict[bytes, tuple[int, bytes]]  # ip -> (frame it was last seen at, MAC)
    mac_ips: dict[bytes, set[bytes]]
    problems: list[tuple[int, str]]
    malformed: int
    stats: dict[str, int]
    decoder: tuple[list[tuple[int, str]], int, dict[str, int]]
    fdecoder: tuple[list[tuple[int, str]], int, dict[str, int]] | None
    chains: dict[tuple, tuple[bytes, ...]]
    frame: int
    last_time: float | None
    ports_seen: tuple[set[int], set[int]]  # HTTP, TLS server ports
    keeper: KeeperState | None  # links and spill files of the other clients


def _decoder_state(d: PacketDecoder) -> tuple[list[tuple[int, str]], int, dict[str, int]]:
    return d.malformed, d.malformed_count, d.stats


def _capture_order(o: Observation) -> tuple[float, tuple[int, ...]]:
    return o.time, o.evidence.frames[:1]


def split_key(pkt: Packet, dns_ports: frozenset[int]) -> int:
    """Which share of a split capture dissects `pkt` (modulo the number of shares).

    Every transaction must be whole in one share: a DNS query and its answer by the
    client's address (an answer may come from another server address), anything else
    by the pair of addresses (a TFTP transfer's data come from a new server port, so
    ports cannot be part of it; an ICMP error by the datagram it quotes). Phones behind
    one address (NAT) stay in one share. The fast path of `Analyzer.run` computes the
    same key from the raw bytes.
    """
    proto = pkt.flags if pkt.proto == ICMP_UNREACHABLE else pkt.proto
    s, d = pkt.src, pkt.dst
    if proto == 17:
        if pkt.dport in dns_ports:
            if pkt.sport not in dns_ports:
                return (s[-2] << 8) | s[-1]
        elif pkt.sport in dns_ports:
            return (d[-2] << 8) | d[-1]
    return ((s[-2] ^ d[-2]) << 8) | (s[-1] ^ d[-1])


def analyze_capture(
    path: str | Path,
    *,
    ports: Ports | None = None,
    profile_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    tls: TlsOptions | None = None,
) -> CaptureResult:
    """Analyze one capture file; see the module docstring. Raises CaptureFormatError early.
    `tls`: key log, trust anchors and names for judging TLS from the wire."""
    reader = CaptureReader(path)
    analyzer = Analyzer(f"capture:{path}", ports, profile_key, tls)
    reader.on_secrets = analyzer.tls_wire.add_secrets
    with gc_paused():
        try:
            analyzer.run(reader, progress)
        finally:
            reader.close()
        result = analyzer.finish()
    result.packets = reader.records
    result.read_problems = [str(p) for p in reader.problems]
    result.malformed += len(reader.problems)
    result.problems[:0] = [(p.record, f"file: {p}") for p in reader.problems]
    result.linktypes = list(reader.linktypes)
    result.format = reader.format + (".gz" if reader.compressed else "")
    return result
