"""`TlsConversation`: one TCP connection's TLS, both directions, fed incrementally (sans-I/O).

Feed raw TCP payload bytes in any split with `feed_client` / `feed_server`, ideally in
capture order. Nothing here raises from `feed_*`: malformed input becomes an entry in
`errors` (sender, stream offset, reason) and that direction stops being parsed.
What can be seen without keys is recorded; everything that affects the conversation's
state lives in this module. No sockets, no clock, no spec judgement here.

Heuristics (what cannot be known without keys), stated once:

* A cleartext alert record is 2 bytes long; after ChangeCipherSpec (TLS <= 1.2) a longer
  alert record is an *encrypted* alert, recorded only by sender in `encrypted_alerts`.
* TLS <= 1.2: every application_data (type 23) record is application data.
* TLS 1.3: alerts and handshake messages travel inside type-23 records too. A type-23
  record whose length is 2 + 1 + AEAD tag (19 bytes for the RFC 8446 suites) is taken as
  an encrypted alert (no record padding assumed, as OpenSSL, BoringSSL and NSS send).
  The client's encrypted handshake flight ends with its Finished, whose record length is
  4 + hash length + 1 + tag (53 bytes, or 69 with TLS_AES_256_GCM_SHA384); client
  type-23 records before and including it are handshake, later ones (not alert-sized)
  are application data. The server's post-handshake NewSessionTicket records look like
  data, so `server_application_data` counts only server type-23 records that follow the
  client's first application-data record.
* If the client's stream is fed before the server's ServerHello, client records after
  its ClientHello are held (lengths and cleartext only, bounded) until the version is
  known, then interpreted; feeding in capture order needs no holding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.observe.events import DeviceKey, Evidence, TlsAlert, TlsCertificate, TlsHandshake
from harness.tls.fields import TlsParseError
from harness.tls.handshake import (
    ClientHello,
    ServerHello,
    parse_alerts,
    parse_certificate_body,
    parse_client_hello_body,
    parse_server_hello_body,
    parse_sslv2_client_hello,
)
from harness.tls.records import HandshakeMessage, HandshakeReassembler, Record, RecordStream
from harness.tls.tables import (
    ALERT,
    ALERT_LEVELS,
    APPLICATION_DATA,
    CERTIFICATE,
    CERTIFICATE_REQUEST,
    CHANGE_CIPHER_SPEC,
    CLIENT_HELLO,
    HANDSHAKE,
    HEARTBEAT,
    SERVER_HELLO,
    SSL2_CLIENT_HELLO,
    TLS13_SUITE_SIZES,
)
from harness.tls.x509_summary import (
    CertificateSummaryError,
    subject_attributes,
    summarize_certificate,
)

TLS13 = 0x0304
MAX_HELD_RECORDS = 1024


@dataclass
class _Direction:
    sender: str
    records: RecordStream
    handshake: HandshakeReassembler = field(default_factory=HandshakeReassembler)
    ccs: bool = False
    encrypted: bool = False
    reported: set[str] = field(default_factory=set)


class TlsConversation:
    """Everything visible in one TLS connection's cleartext (see the module docstring)."""

    def __init__(self) -> None:
        self._client = _Direction("client", RecordStream(allow_sslv2=True))
        self._server = _Direction("server", RecordStream(allow_sslv2=False))
        self.client_hello: ClientHello | None = None
        self.client_hello_retry: ClientHello | None = None  # the 2nd hello after an HRR
        self.server_hello: ServerHello | None = None
        self.hello_retry_request = False
        self.server_certificates: list[TlsCertificate] = []
        self.server_certificate_ders: list[bytes] = []  # the chain as sent (for classifying)
        self.certificate_request = False
        self.client_certificates: list[TlsCertificate] = []
        self.client_certificate_subject: dict[str, str] | None = None
        self.alerts: list[TlsAlert] = []
        self.encrypted_alerts: list[str] = []
        self.client_application_data = False
        self.server_application_data = False
        self.client_finished = False  # client's Finished seen (sent encrypted; by position)
        self.handshake_messages: list[tuple[str, str]] = []  # (sender, message name)
        self.errors: list[str] = []
        self.notes: list[str] = []
        self._client_hellos = 0
        self._held: list[Record] = []

    # ---- feeding ---------------------------------------------------------------------

    def feed_client(self, data: bytes) -> None:
        """Raw TCP payload bytes client -> server, any split. Never raises."""
        self._feed(self._client, data)

    def feed_server(self, data: bytes) -> None:
        """Raw TCP payload bytes server -> client, any split. Never raises."""
        self._feed(self._server, data)

    def _feed(self, d: _Direction, data: bytes) -> None:
        try:
            for rec in d.records.feed(data):
                self._record(d, rec)
            if d.records.error and "records" not in d.reported:
                d.reported.add("records")
                self.errors.append(f"{d.sender}: {d.records.error}")
        except Exception as e:  # a bug here must not take an analyzer down
            self.errors.append(
                f"{d.sender}: internal error near stream offset {d.records.consumed}: "
                f"{type(e).__name__}: {e}"
            )

    # ---- version state -----------------------------------------------------------------

    @property
    def _version_known(self) -> bool:
        return self.server_hello is not None and not self.hello_retry_request_pending

    @property
    def hello_retry_request_pending(self) -> bool:
        return self.server_hello is not None and self.server_hello.is_hello_retry_request

    @property
    def negotiated_version(self) -> int | None:
        return self.server_hello.negotiated_version if self._version_known else None

    @property
    def is_tls13(self) -> bool:
        return self.negotiated_version == TLS13

    def _tls13_sizes(self) -> tuple[int, int]:
        """(alert record length, Finished record length) for the chosen TLS 1.3 suite."""
        suite = self.server_hello.cipher_suite if self.server_hello else 0x1301
        hash_len, tag = TLS13_SUITE_SIZES.get(suite, (32, 16))
        return 2 + 1 + tag, 4 + hash_len + 1 + tag

    # ---- records -----------------------------------------------------------------------

    def _record(self, d: _Direction, rec: Record) -> None:
        if d is self._client and self._must_hold():
            if len(self._held) < MAX_HELD_RECORDS:
                self._held.append(rec)
            elif "held" not in d.reported:
                d.reported.add("held")
                self.errors.append(
                    f"client: record at stream offset {rec.offset}: more than "
                    f"{MAX_HELD_RECORDS} records before any ServerHello; later ones ignored"
                )
            return
        ct = rec.content_type
        if ct == HANDSHAKE:
            self._handshake_record(d, rec)
        elif ct == APPLICATION_DATA:
            self._application_data(d, rec)
        elif ct == CHANGE_CIPHER_SPEC:
            d.ccs = True
            if self._version_known:
                d.encrypted = True
        elif ct == ALERT:
            self._alert(d, rec)
        elif ct == SSL2_CLIENT_HELLO:
            self._sslv2_hello(d, rec)
        elif ct == HEARTBEAT and "heartbeat" not in d.reported:
            d.reported.add("heartbeat")
            self.notes.append(f"{d.sender} sent a heartbeat record at stream offset {rec.offset}")

    def _must_hold(self) -> bool:
        expected = 2 if self.hello_retry_request else 1
        return not self._version_known and self._client_hellos >= expected

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for rec in held:
            self._record(self._client, rec)

    def _handshake_record(self, d: _Direction, rec: Record) -> None:
        if d.encrypted:
            if d is self._client and not self.is_tls13:
                self.client_finished = True
            return
        for msg in d.handshake.add(rec.payload or b"", rec.offset + rec.header_length):
            self._message(d, msg)
        if d.handshake.error and "handshake" not in d.reported:
            d.reported.add("handshake")
            self.errors.append(f"{d.sender}: {d.handshake.error}")

    def _application_data(self, d: _Direction, rec: Record) -> None:
        if not self._version_known:
            if d is self._client:
                self.client_application_data = True
                self.notes.append(
                    f"client sent application data before any ServerHello (stream offset "
                    f"{rec.offset}): TLS 1.3 early data?"
                )
            return
        if not self.is_tls13:
            if d is self._client:
                self.client_application_data = True
            else:
                self.server_application_data = True
            return
        alert_len, finished_len = self._tls13_sizes()
        if rec.length == alert_len:
            self.encrypted_alerts.append(d.sender)
        elif d is self._client:
            if not self.client_finished:
                if rec.length == finished_len:
                    self.client_finished = True
            else:
                self.client_application_data = True
        elif self.client_application_data:
            self.server_application_data = True

    def _alert(self, d: _Direction, rec: Record) -> None:
        payload = rec.payload or b""
        cleartext = len(payload) == 2 and payload[0] in ALERT_LEVELS
        if d.encrypted and not cleartext:
            self.encrypted_alerts.append(d.sender)
            return
        try:
            for level, description, name in parse_alerts(payload):
                self.alerts.append(TlsAlert(d.sender, level, description, name))
        except TlsParseError as e:
            self.errors.append(f"{d.sender}: alert record at stream offset {rec.offset}: {e.why}")

    def _sslv2_hello(self, d: _Direction, rec: Record) -> None:
        try:
            hello = parse_sslv2_client_hello(rec.payload or b"")
        except TlsParseError as e:
            self.errors.append(
                f"client: SSLv2-compatible ClientHello at stream offset {rec.offset}: "
                f"{e.what} at stream offset {rec.offset + 2 + e.offset}: {e.why}"
            )
            return
        self._client_hellos += 1
        self.client_hello = self.client_hello or hello
        self.handshake_messages.append(("client", "sslv2_client_hello"))
        self.notes.append(
            "client sent an SSLv2-compatible ClientHello (record format of SSL 2.0; "
            f"{len(hello.cipher_suites)} TLS suites among its cipher specs)"
        )

    # ---- handshake messages --------------------------------------------------------------

    def _message(self, d: _Direction, msg: HandshakeMessage) -> None:
        self.handshake_messages.append((d.sender, msg.name))
        try:
            if d is self._client:
                self._client_message(msg)
            else:
                self._server_message(msg)
        except TlsParseError as e:
            self.errors.append(
                f"{d.sender}: {msg.name} at stream offset {msg.offset}: {e.what} at stream "
                f"offset {msg.stream_offset(e.offset)}: {e.why}"
            )

    def _client_message(self, msg: HandshakeMessage) -> None:
        if msg.msg_type == CLIENT_HELLO:
            hello = parse_client_hello_body(msg.body)
            self._client_hellos += 1
            if self.client_hello is None:
                self.client_hello = hello
            else:
                self.client_hello_retry = hello
        elif msg.msg_type == CERTIFICATE:
            ders = parse_certificate_body(msg.body)
            self.client_certificates = self._summaries("client", msg, ders)
            if ders:
                try:
                    self.client_certificate_subject = subject_attributes(ders[0][1])
                except CertificateSummaryError:
                    pass  # already reported by _summaries

    def _server_message(self, msg: HandshakeMessage) -> None:
        if msg.msg_type == SERVER_HELLO:
            hello = parse_server_hello_body(msg.body)
            self.server_hello = hello
            if hello.is_hello_retry_request:
                self.hello_retry_request = True
                self.notes.append("server sent a HelloRetryRequest")
            if self._version_known and self.is_tls13:
                self._server.encrypted = True
                self._client.encrypted = True
            self._release_held()
        elif msg.msg_type == CERTIFICATE:
            ders = parse_certificate_body(msg.body)
            self.server_certificates = self._summaries("server", msg, ders)
            self.server_certificate_ders = [bytes(der) for _, der in ders]
        elif msg.msg_type == CERTIFICATE_REQUEST:
            self.certificate_request = True

    def _summaries(
        self, sender: str, msg: HandshakeMessage, ders: tuple[tuple[int, bytes], ...]
    ) -> list[TlsCertificate]:
        out = []
        for index, (pos, der) in enumerate(ders):
            try:
                out.append(summarize_certificate(der))
            except CertificateSummaryError as e:
                self.errors.append(
                    f"{sender}: certificate {index} at stream offset {msg.stream_offset(pos)}: {e}"
                )
        return out

    # ---- results -------------------------------------------------------------------------

    @property
    def established(self) -> bool:
        """The handshake completed as far as the wire shows: TLS <= 1.2 both sides sent
        ChangeCipherSpec; TLS 1.3 the client sent its Finished; no fatal cleartext alert."""
        if not self._version_known or any(a.level == 2 for a in self.alerts):
            return False
        if self.is_tls13:
            return self.client_finished
        return self._client.ccs and self._server.ccs

    @property
    def alert(self) -> TlsAlert | None:
        """The first fatal cleartext alert, else the first cleartext alert."""
        fatal = [a for a in self.alerts if a.level == 2]
        return (fatal or self.alerts or [None])[0]

    def pending(self) -> list[str]:
        """Why either stream ends mid-record (notes for a truncated capture)."""
        out = []
        for d in (self._client, self._server):
            why = d.records.pending()
            if why:
                out.append(f"{d.sender}: {why}")
            elif d.handshake.partial:
                out.append(f"{d.sender}: stream ends inside a handshake message")
        return out

    def to_observation(
        self,
        *,
        time: float,
        client: Any = None,
        server: Any = None,
        device: DeviceKey | None = None,
        evidence: Evidence | None = None,
        **extra: Any,
    ) -> TlsHandshake:
        """The conversation as one `TlsHandshake` record; `extra` sets or overrides fields
        (e.g. server_cert_variant)."""
        ch = self.client_hello
        sh = self.server_hello if self._version_known else None
        chain = tuple(self.server_certificates)
        fields: dict[str, Any] = {
            "server_name": ch.server_name if ch else None,
            "offered_versions": ch.offered_versions if ch else (),
            "offered_cipher_suites": ch.cipher_suites if ch else (),
            "chosen_version": sh.chosen_version_name if sh else None,
            "chosen_cipher_suite": sh.cipher_suite if sh else None,
            "server_cert_subject_cn": chain[0].subject_cn if chain else None,
            "server_cert_chain": chain,
            "client_cert_subject": self.client_certificate_subject,
            "client_cert_requested": self.certificate_request,
            "alert": self.alert,
            "application_data": self.client_application_data,
            "established": self.established,
            "ja3": ch.ja3_hash if ch else None,
            "ja4": ch.ja4 if ch else None,
            "note": "; ".join(self.notes + self.errors + self.pending()),
        }
        fields.update(extra)
        return TlsHandshake(
            time=time,
            client=client,
            server=server,
            device=device if device is not None else DeviceKey(),
            evidence=evidence if evidence is not None else Evidence("unknown"),
            **fields,
        )
