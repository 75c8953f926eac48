"""Immutable observation records, one type per kind of provisioning transaction.

Field names follow the JSON report contract (shared/spec/report.schema.json)
and Zeek's flat-record style: one record per transaction, fixed names. Every
record carries `time` (seconds since the epoch, from the injected clock or the
capture), `client`/`server` addresses, a `device` key and its `evidence`.
Only data here: no parsing, no I/O, no judging.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """What identifies the device a transaction belongs to (any subset may be known)."""

    ip: str | None = None
    mac: str | None = None  # lower-case hex, no separators
    serial: str | None = None
    product: str | None = None

    @property
    def id(self) -> str:
        """The device's display ID: serial, else MAC, else IP."""
        return self.serial or self.mac or self.ip or "unknown"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where an observation can be checked: a capture's frames or an endpoint's log."""

    source: str  # "capture:<path>" or "endpoint:<name>"
    frames: tuple[int, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    kind: ClassVar[str] = "observation"

    time: float
    client: Address | None = None
    server: Address | None = None
    device: DeviceKey = field(default_factory=DeviceKey)
    evidence: Evidence = field(default_factory=lambda: Evidence("unknown"))

    def to_dict(self) -> dict[str, Any]:
        """A flat dict with the report contract's names (kind, device, time, frames...)."""
        d = asdict(self)
        d.pop("evidence")
        d["device"] = self.device.id if self.device != DeviceKey() else None
        d["kind"] = self.kind
        d["frames"] = list(self.evidence.frames)
        d["evidence"] = self.evidence.source
        for k, v in list(d.items()):
            if isinstance(v, bytes):
                d[k] = v.decode("latin-1")
            elif isinstance(v, tuple):
                d[k] = list(v)
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpTransfer(Observation):
    kind: ClassVar[str] = "tftp"

    op: str  # "RRQ" or "WRQ"
    filename: str
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)  # requested (RFC 2347)
    accepted_options: dict[str, str] = field(default_factory=dict)  # the OACK
    outcome: str = "complete"  # complete | error | timeout | aborted | refused
    error_code: int | None = None
    error_message: str | None = None
    bytes: int | None = None
    blocks: int = 0
    retransmissions: int = 0
    duration: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpExchange(Observation):
    kind: ClassVar[str] = "http"

    method: str
    url: str  # the request target as sent (path and query)
    version: str = "HTTP/1.1"
    host: str | None = None
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    request_body: bytes = b""
    status: int | None = None  # None: no answer was sent (closed, timeout)
    reason: str | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_bytes: int | None = None
    scheme: str = "http"  # "http" or "https"
    # answered | no-response (the server closed without answering) | client-closed |
    # malformed | timeout (no answer: the client gave up waiting, or the capture ended) |
    # connection-error (no request was sent: refused, unreachable, never answered; method "")
    outcome: str = "answered"
    note: str = ""
    # What the answer carried (None: unknown); the body facts come from
    # harness.profiles.classify_profile_body, for 2xx answers with a body.
    response_version: str | None = None  # the status line's version, "HTTP/1.0" | "HTTP/1.1"
    response_chunked: bool | None = None  # sent with Transfer-Encoding: chunked
    response_body_sha256: str | None = None  # of the body after transfer decoding
    response_content_kind: str | None = None  # xml-profile|plain-profile|gzip|aes-openssl|other
    profile_valid: bool | None = None  # readable as a profile (None: e.g. encrypted, no key)
    profile_gzipped: bool | None = None  # the profile (after any decryption) was gzip
    duration: float | None = None  # request (or first SYN) to the answer's end or the give-up

    @property
    def request_sent(self) -> bool:
        """False for a connection that failed before any request was seen (method "")."""
        return bool(self.method)

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)


@dataclass(frozen=True, slots=True)
class TlsCertificate:
    """One certificate of a chain, summarised (Zeek x509.log style)."""

    subject: str
    issuer: str
    subject_cn: str | None = None
    san_dns: tuple[str, ...] = ()
    not_before: float | None = None
    not_after: float | None = None
    key_type: str | None = None
    key_bits: int | None = None
    signature_algorithm: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class TlsAlert:
    sender: str  # "client" or "server" (the report calls it "from")
    level: int
    description: int
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsHandshake(Observation):
    kind: ClassVar[str] = "tls"

    server_name: str | None = None
    offered_versions: tuple[str, ...] = ()
    offered_cipher_suites: tuple[int, ...] = ()
    chosen_version: str | None = None
    chosen_cipher_suite: int | None = None
    server_cert_subject_cn: str | None = None
    server_cert_chain: tuple[TlsCertificate, ...] = ()
    server_cert_variant: str | None = None  # the harness's name for the served certificate
    # how a captured chain was classified (harness.tls.server_chain); None on live runs
    server_cert_trusted: bool | None = None  # chains to --trust-ca; None: not checked
    server_cert_reason: str | None = None
    server_cert_defects: tuple[str, ...] = ()
    server_cert_checked_name: str | None = None
    server_cert_name_source: str | None = None  # profile-rule | sni | dns
    client_cert_subject: dict[str, str] | None = None
    client_cert_requested: bool = False
    alert: TlsAlert | None = None
    application_data: bool = False  # the client sent application data
    established: bool = False
    ja3: str | None = None
    ja4: str | None = None
    note: str = ""
    decrypted: bool = False  # records were decrypted with a key log

    def to_dict(self) -> dict[str, Any]:
        d = Observation.to_dict(self)
        if self.alert is not None:
            d["alert"] = {
                "from": self.alert.sender,
                "level": self.alert.level,
                "description": self.alert.name or self.alert.description,
            }
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class SyslogMessage(Observation):
    kind: ClassVar[str] = "syslog"

    message: str
    facility: int | None = None
    severity: int | None = None
    hostname: str | None = None
    app_name: str | None = None
    raw: str = ""
    format: str = "rfc3164"  # rfc3164 | rfc5424 | raw
    transport: str = "udp"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsQuery(Observation):
    kind: ClassVar[str] = "dns"

    qname: str
    qtype: str  # "A", "AAAA", "SRV", ...
    rcode: str | None = None  # NOERROR, NXDOMAIN, SERVFAIL, or None (no answer)
    answers: tuple[str, ...] = ()
    transport: str = "udp"


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpExchange(Observation):
    kind: ClassVar[str] = "dhcp"

    message_type: str  # DISCOVER, OFFER, REQUEST, ACK, ...
    client_mac: str | None = None
    requested_options: tuple[int, ...] = ()
    offered_options: dict[int, str] = field(default_factory=dict)
    your_ip: str | None = None


OBSERVATION_TYPES: dict[str, type[Observation]] = {
    t.kind: t
    for t in (TftpTransfer, HttpExchange, TlsHandshake, SyslogMessage, DnsQuery, DhcpExchange)
}
