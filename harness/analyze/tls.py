"""TLS handshake dissection of a reassembled TCP connection into `TlsHandshake` records.

The parsing is `harness.tls.TlsConversation` (the project's TLS parser, shared
with the live HTTPS endpoint); this module only feeds it a connection's two
byte streams, keeps the frame numbers, and emits the observation at close.
With a key log (`TlsWire.keylog`, from `--keylog` or pcapng Decryption Secrets
Blocks) a `harness.tls.decrypt.TlsDecryptor` runs beside it and hands the
plaintext to an `HttpConnection` (scheme https), so HTTPS requests become the same
`HttpExchange` records as plain HTTP; TLS 1.3's encrypted Certificate joins the
record. `TlsWire.classify` names every captured server chain at the end of a
capture (`harness.tls.server_chain`), against the name the device meant to reach:
the host of an https Profile_Rule (unless the SNI names another host: then the
connection is not to the provisioning server), else the SNI, else the DNS query
whose answer gave the server's address. Sans-I/O: the caller reads files.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.observe.events import (
    Address,
    DeviceKey,
    DnsQuery,
    Evidence,
    Observation,
    TlsAlert,
    TlsHandshake,
)
from harness.tls import TlsConversation
from harness.tls.decrypt import TlsDecryptor
from harness.tls.keylog import KeyLog
from harness.tls.server_chain import ChainClass, classify_server_chain, load_anchors
from harness.tls.tables import ALERT, alert_name
from harness.tls.x509_summary import (
    CertificateSummaryError,
    subject_attributes,
    summarize_certificate,
)

CLASSIFY_CACHE = 1024
DSB_TLS_KEY_LOG = 0x544C534B  # pcapng Decryption Secrets Block: secrets type "TLSK"
_URL_HOST = re.compile(r"(https?|tftp)://\[?([^/:\s\]\[$]+)", re.I)
_PROFILE_RULES = ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")


@dataclass(frozen=True)
class TlsOptions:
    """What the analyzer needs to judge TLS from the wire (picklable: texts, not objects).

    keylog_text: an NSS key log; trust_pem: `--trust-ca` file contents; profile_hosts:
    the hosts of the https Profile_Rules; check_san / suffix_accepted: the family's [tls]
    settings."""

    keylog_text: str = ""
    trust_pem: tuple[bytes, ...] = ()
    profile_hosts: tuple[str, ...] = ()
    check_san: bool = False
    suffix_accepted: bool = True


def profile_rule_hosts(params: dict[str, str]) -> tuple[str, ...]:
    """The hosts the https URLs of Profile_Rule, _B, _C, _D point at (in order, no macros)."""
    hosts: list[str] = []
    for name in _PROFILE_RULES:
        for m in _URL_HOST.finditer(params.get(name) or ""):
            host = m.group(2).lower().rstrip(".")
            if m.group(1).lower() == "https" and host not in hosts:
                hosts.append(host)
    return tuple(hosts)


class TlsWire:
    """Per capture: the key log (grows with Decryption Secrets Blocks) and the chains seen."""

    def __init__(self, options: TlsOptions | None = None) -> None:
        self.options = options or TlsOptions()
        self.keylog = KeyLog()
        if self.options.keylog_text:
            self.keylog.add_text(self.options.keylog_text, "--keylog")
        self.anchors, self.problems = load_anchors(self.options.trust_pem)
        self.problems.extend(self.keylog.problems)
        # (client, server, time) of a handshake -> its chain (the record may be replaced
        # on its way to the list, e.g. with the device a client certificate names)
        self._chains: dict[tuple, tuple[bytes, ...]] = {}
        self._classified: dict[tuple, ChainClass] = {}  # a capture serves few distinct chains
        self._pool: dict[tuple[bytes, ...], tuple[bytes, ...]] = {}

    def add_secrets(self, secrets_type: int, data: bytes) -> None:
        """A pcapng Decryption Secrets Block (only TLS key logs are used)."""
        if secrets_type == DSB_TLS_KEY_LOG:
            before = len(self.keylog.problems)
            self.keylog.add_text(data.decode("utf-8", "replace"), "pcapng Decryption Secrets Block")
            self.problems.extend(self.keylog.problems[before:])

    def chain_seen(self, obs: TlsHandshake, ders: tuple[bytes, ...]) -> None:
        """Keep a handshake's chain for `classify` (one copy of each distinct chain)."""
        if len(self._pool) >= CLASSIFY_CACHE:
            self._pool.clear()
        ders = self._pool.setdefault(ders, ders)
        self._chains[_conn_key(obs)] = ders

    def pop_chain(self, obs: TlsHandshake) -> tuple[bytes, ...] | None:
        """Take a handshake's chain out of the table (its record goes elsewhere for a while)."""
        return self._chains.pop(_conn_key(obs), None)

    def put_chain(self, obs: TlsHandshake, ders: tuple[bytes, ...]) -> None:
        """Give back a chain `pop_chain` took."""
        self._chains[_conn_key(obs)] = ders

    def chains(self) -> dict[tuple, tuple[bytes, ...]]:
        """The chains kept for `classify` (a share of a split capture hands them over)."""
        return self._chains

    def add_chains(self, chains: dict[tuple, tuple[bytes, ...]]) -> None:
        """Chains another analyzer kept (harness.analyze.split): classified here."""
        self._chains.update(chains)

    def classify(
        self,
        observations: list[Observation],
        dns: dict[str, list[tuple[float, str]]] | None = None,
    ) -> None:
        """Set the server_cert_* fields of every handshake whose chain was seen (in place).
        `dns`: address -> sorted [(time, qname)] of the answers naming it (default: those
        of `observations`; harness.analyze.keep gives them when other clients' are elsewhere)."""
        if not self._chains:
            return
        if dns is None:
            dns = {}
            for o in observations:
                if isinstance(o, DnsQuery) and o.answers:
                    for a in o.answers:
                        dns.setdefault(a, []).append((o.time, o.qname))
            for asked in dns.values():
                asked.sort()
        for i, hs in enumerate(observations):
            if not isinstance(hs, TlsHandshake):
                continue
            ders = self._chains.get(_conn_key(hs))
            if ders is None:
                continue
            name, source = self._name(hs, dns)
            leaf = hs.server_cert_chain[0] if hs.server_cert_chain else None
            when = (  # where the time falls in the leaf's validity: all the time changes
                leaf is not None and leaf.not_before is not None and hs.time < leaf.not_before,
                leaf is not None and leaf.not_after is not None and hs.time > leaf.not_after,
            )
            key = (ders, name, source, when)
            c = self._classified.get(key)
            if c is None:
                c = classify_server_chain(
                    ders,
                    name=name,
                    at=hs.time,
                    check_san=self.options.check_san,
                    suffix_accepted=self.options.suffix_accepted,
                    anchors=self.anchors if self.options.trust_pem else None,
                    name_source=source,
                )
                if len(self._classified) >= CLASSIFY_CACHE:
                    self._classified.clear()
                self._classified[key] = c
            observations[i] = _with_class(hs, c)
        self._chains.clear()

    def _name(
        self, hs: TlsHandshake, dns: dict[str, list[tuple[float, str]]]
    ) -> tuple[str | None, str | None]:
        """(name, where it came from); `dns`: address -> [(time, qname)] sorted."""
        sni = hs.server_name.lower().rstrip(".") if hs.server_name else None
        looked_up = None
        asked = dns.get(hs.server[0], []) if hs.server is not None else []
        i = bisect_right(asked, (hs.time, "\uffff"))  # the last query before the handshake
        if i:
            looked_up = asked[i - 1][1].rstrip(".").lower()
        hosts = self.options.profile_hosts
        # a connection whose SNI names another host is not to the provisioning server
        if hosts and (sni is None or sni in hosts):
            if sni in hosts:
                return sni, "profile-rule"
            if looked_up in hosts:
                return looked_up, "profile-rule"
            return hosts[0], "profile-rule"
        if sni:
            return sni, "sni"
        if looked_up:
            return looked_up, "dns"
        return None, None


def _conn_key(hs: TlsHandshake) -> tuple:
    return (tuple(hs.client or ()), tuple(hs.server or ()), hs.time)


def _with_class(hs: TlsHandshake, c: ChainClass) -> TlsHandshake:
    return dataclasses.replace(
        hs,
        server_cert_variant=c.variant,
        server_cert_trusted=c.trusted,
        server_cert_reason=c.reason,
        server_cert_defects=c.defects,
        server_cert_checked_name=c.name,
        server_cert_name_source=c.name_source,
    )


MAX_FRAMES = 64
MAX_BUFFER = 256 * 1024


def looks_like_tls(first: bytes) -> bool:
    """Does a stream's first payload start a TLS handshake record (or SSLv2 hello)?"""
    if len(first) < 3:
        return False
    return (first[0] == 22 and first[1] == 3) or (first[0] & 0x80 != 0 and first[2] == 1)


class TlsConnection:
    """One TLS connection seen in a capture; emits one TlsHandshake at close."""

    def __init__(
        self,
        client: Address,
        server: Address,
        device: DeviceKey,
        source: str,
        emit: Callable[[TlsHandshake], None],
        problem: Callable[[int, str], None],
        time: float,
        wire: TlsWire | None = None,
        plaintext: Any = None,
    ) -> None:
        self.client, self.server, self.device, self.source = client, server, device, source
        self.emit, self.problem = emit, problem
        self.time = time
        self.conv = TlsConversation()
        self.frames: list[int] = []
        self.fed = 0
        self.broken = False
        self.wire = wire
        # with a key log: the decryptor, and the HttpConnection its plaintext feeds
        self.decryptor = TlsDecryptor(wire.keylog) if wire is not None and wire.keylog else None
        self.http = plaintext if self.decryptor is not None else None
        self.client_data_seen = False
        self.decrypted_alerts: list[TlsAlert] = []

    def _frame(self, frame: int) -> None:
        if len(self.frames) < MAX_FRAMES and (not self.frames or self.frames[-1] != frame):
            self.frames.append(frame)

    def client_data(self, data: bytes, frame: int, ts: float) -> None:
        self._feed(self.conv.feed_client, data, frame)
        if self.decryptor is not None:
            self._plain(self.decryptor.feed_client(data), frame, ts)

    def server_data(self, data: bytes, frame: int, ts: float) -> None:
        self._feed(self.conv.feed_server, data, frame)
        if self.decryptor is not None:
            self._plain(self.decryptor.feed_server(data), frame, ts)

    def _plain(self, records: list, frame: int, ts: float) -> None:  # list[Plaintext]
        for p in records:
            if p.content_type == ALERT:
                for i in range(0, len(p.data) - 1, 2):
                    level, desc = p.data[i], p.data[i + 1]
                    self.decrypted_alerts.append(TlsAlert(p.sender, level, desc, alert_name(desc)))
                continue
            if not p.data:
                continue
            if p.sender == "client":
                self.client_data_seen = True
                self.http.client_data(p.data, frame, ts)
            else:
                self.http.server_data(p.data, frame, ts)

    def _feed(self, fn: Callable[[bytes], Any], data: bytes, frame: int) -> None:
        if self.broken or self.fed > MAX_BUFFER * 4:
            return  # past the handshake: application data is not inspected
        self._frame(frame)
        self.fed += len(data)
        try:
            fn(data)
        except Exception as exc:
            self.broken = True
            self.problem(frame, f"TLS stream does not parse: {type(exc).__name__}: {exc}")

    def close(self, ts: float) -> None:
        extra: dict[str, Any] = {}
        ders = tuple(self.conv.server_certificate_ders)
        d = self.decryptor
        if d is not None:
            if self.http is not None:
                self.http.close(ts)
            extra = self._decrypted_fields(d)
            ders = ders or tuple(d.server_certificate_ders)
            for why in d.problems[:3]:
                self.problem(self.frames[0] if self.frames else 0, f"TLS decryption: {why}")
        try:
            obs = self.conv.to_observation(
                time=self.time,
                client=self.client,
                server=self.server,
                device=self.device,
                evidence=Evidence(self.source, tuple(self.frames)),
                **extra,
            )
        except Exception as exc:
            self.problem(self.frames[0] if self.frames else 0, f"TLS summary failed: {exc}")
            return
        if ders and self.wire is not None:
            self.wire.chain_seen(obs, ders)
        self.emit(obs)

    def _decrypted_fields(self, d: TlsDecryptor) -> dict[str, Any]:
        """What decryption adds to the record: TLS 1.3 chain, alerts, real application data."""
        extra: dict[str, Any] = {}
        if not d.keys_found or not d.decrypted_records:
            return extra
        extra["decrypted"] = True
        extra["application_data"] = self.client_data_seen or self.conv.client_application_data
        if d.version == 0x0304 and d.server_certificate_ders and not self.conv.server_certificates:
            chain = []
            for der in d.server_certificate_ders:
                try:
                    chain.append(summarize_certificate(der))
                except CertificateSummaryError:
                    continue
            extra["server_cert_chain"] = tuple(chain)
            extra["server_cert_subject_cn"] = chain[0].subject_cn if chain else None
        if d.version == 0x0304:
            extra["client_cert_requested"] = d.certificate_request
            if d.client_certificate_ders and not self.conv.client_certificate_subject:
                try:
                    extra["client_cert_subject"] = subject_attributes(d.client_certificate_ders[0])
                except CertificateSummaryError:
                    pass
        if self.conv.alert is None and self.decrypted_alerts:
            fatal = [a for a in self.decrypted_alerts if a.level == 2]
            extra["alert"] = (fatal or self.decrypted_alerts)[0]
            if fatal:
                extra["established"] = False
        return extra
