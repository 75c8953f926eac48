"""Cleartext handshake messages: ClientHello (TLS and SSLv2-compatible), ServerHello,
Certificate, and alerts, declared as field layouts (data) and read by `fields.read_layout`.

Parsers take one message body and raise only `TlsParseError` with offsets relative to
that body; callers map them to stream offsets. `parse_client_hello` accepts records or a
bare handshake message. No connection state and no I/O here (see conversation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.spec.ciphers import cipher_suite_name, is_grease, is_signalling
from harness.tls.fields import (
    U8,
    U16,
    Layout,
    Reader,
    TlsParseError,
    extensions_block,
    fixed,
    opaque,
    read_layout,
    u8_list,
    u16_list,
    u24_blocks,
)
from harness.tls.fingerprint import ja3_hash, ja3_string, ja4
from harness.tls.records import HandshakeReassembler, RecordStream
from harness.tls.tables import (
    CLIENT_HELLO,
    GREASE_VALUES,
    HANDSHAKE,
    HELLO_RETRY_REQUEST_RANDOM,
    LEGACY_VERSION_LADDER,
    SSL2_CLIENT_HELLO,
    alert_name,
    version_name,
)

# ---- layouts (RFC 8446 section 4.1.2 / 4.1.3, RFC 5246 section 7.4.1) -------------------

CLIENT_HELLO_LAYOUT: Layout = (
    ("legacy_version", U16),
    ("random", fixed(32)),
    ("session_id", opaque(1, maximum=32)),
    ("cipher_suites", u16_list(2)),
    ("compression_methods", u8_list(1)),
    ("extensions?", extensions_block),
)

SERVER_HELLO_LAYOUT: Layout = (
    ("version", U16),
    ("random", fixed(32)),
    ("session_id", opaque(1, maximum=32)),
    ("cipher_suite", U16),
    ("compression_method", U8),
    ("extensions?", extensions_block),
)

# SSLv2 CLIENT-HELLO after the 2-byte record header (draft-hickman-netscape-ssl-00).
SSL2_CLIENT_HELLO_LAYOUT: Layout = (
    ("msg_type", U8),
    ("legacy_version", U16),
    ("cipher_specs_length", U16),
    ("session_id_length", U16),
    ("challenge_length", U16),
)


def _server_name(r: Reader, what: str) -> str | None:
    """server_name extension: the first host_name entry (RFC 6066 section 3)."""
    lst = r.sub(2, what)
    name = None
    while lst.remaining:
        name_type = lst.u8(f"{what} name_type")
        value = opaque(2)(lst, f"{what} host_name")
        if name_type == 0 and name is None:
            name = value.decode("ascii", "replace")
    return name


def _protocol_names(r: Reader, what: str) -> tuple[str, ...]:
    """ALPN ProtocolNameList (RFC 7301 section 3.1)."""
    lst = r.sub(2, what)
    out = []
    while lst.remaining:
        out.append(opaque(1)(lst, f"{what} protocol").decode("latin-1"))
    return tuple(out)


# Extension bodies the harness reads: type -> (field name, kind).
CLIENT_EXTENSION_FIELDS: dict[int, tuple[str, Any]] = {
    0x0000: ("server_name", _server_name),
    0x000A: ("supported_groups", u16_list(2)),
    0x000B: ("ec_point_formats", u8_list(1)),
    0x000D: ("signature_algorithms", u16_list(2)),
    0x0010: ("alpn", _protocol_names),
    0x002B: ("supported_versions", u16_list(1)),
}
SERVER_EXTENSION_FIELDS: dict[int, tuple[str, Any]] = {
    0x002B: ("selected_version", U16),
}


def _read_extensions(
    data: bytes,
    base: int,
    exts: tuple[tuple[int, int, int], ...] | None,
    table: dict[int, tuple[str, Any]],
    out: dict[str, Any],
) -> tuple[int, ...]:
    if not exts:
        return ()
    for ext_type, start, end in exts:
        spec = table.get(ext_type)
        if spec is None or spec[0] in out:
            continue
        name, kind = spec
        what = f"extension {name}"
        body = Reader(data, start, end, base)
        out[name] = kind(body, what)
        body.done(what)
    return tuple(e[0] for e in exts)


# ---- ClientHello --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]  # as sent: GREASE and signalling values included
    compression_methods: tuple[int, ...]
    extensions: tuple[int, ...]  # extension types in the order sent
    server_name: str | None
    supported_versions: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    supported_groups: tuple[int, ...]
    ec_point_formats: tuple[int, ...]
    alpn: tuple[str, ...]
    grease: tuple[int, ...]  # GREASE values seen anywhere (suites, extensions, groups...)
    ja3: str
    ja3_hash: str
    ja4: str
    sslv2_compatible: bool = False  # sent in an SSLv2-compatible record (cipher specs mapped)

    @property
    def offered_versions(self) -> tuple[str, ...]:
        """Version names offered, highest first as the client listed them.

        From supported_versions when present (GREASE dropped); otherwise implied by
        legacy_version: TLS1.x down to TLS1.0 (the client's floor is not on the wire)."""
        real = [v for v in self.supported_versions if not is_grease(v)]
        if real:
            return tuple(version_name(v) for v in real)
        v = self.legacy_version
        if v in LEGACY_VERSION_LADDER:
            return tuple(version_name(x) for x in LEGACY_VERSION_LADDER if x <= v)
        return (version_name(v),)

    @property
    def signalling_values(self) -> tuple[int, ...]:
        """Values in cipher_suites that are signals, not suites (0x00ff, 0x5600)."""
        return tuple(v for v in self.cipher_suites if is_signalling(v))

    @property
    def real_cipher_suites(self) -> tuple[int, ...]:
        return tuple(v for v in self.cipher_suites if not is_grease(v) and not is_signalling(v))

    @property
    def cipher_suite_names(self) -> tuple[str, ...]:
        return tuple(cipher_suite_name(v) for v in self.cipher_suites)


def _grease_seen(*lists: tuple[int, ...]) -> tuple[int, ...]:
    seen: dict[int, None] = {}
    for lst in lists:
        if not GREASE_VALUES.isdisjoint(lst):
            for v in lst:
                if v in GREASE_VALUES:
                    seen.setdefault(v, None)
    return tuple(seen)


def _build_client_hello(f: dict[str, Any], extensions: tuple[int, ...], sslv2: bool) -> ClientHello:
    suites = f["cipher_suites"]
    groups = f.get("supported_groups", ())
    versions = f.get("supported_versions", ())
    sigalgs = f.get("signature_algorithms", ())
    points = f.get("ec_point_formats", ())
    alpn = f.get("alpn", ())
    j3 = ja3_string(f["legacy_version"], suites, extensions, groups, points)
    return ClientHello(
        legacy_version=f["legacy_version"],
        random=f["random"],
        session_id=f["session_id"],
        cipher_suites=suites,
        compression_methods=f["compression_methods"],
        extensions=extensions,
        server_name=f.get("server_name"),
        supported_versions=versions,
        signature_algorithms=sigalgs,
        supported_groups=groups,
        ec_point_formats=points,
        alpn=alpn,
        grease=_grease_seen(suites, extensions, groups, versions, sigalgs),
        ja3=j3,
        ja3_hash=ja3_hash(j3),
        ja4=ja4(
            legacy_version=f["legacy_version"],
            supported_versions=versions,
            cipher_suites=suites,
            extensions=extensions,
            signature_algorithms=sigalgs,
            alpn=alpn,
        ),
        sslv2_compatible=sslv2,
    )


# A client repeats its hello but for random and session_id: the parse of a hello seen
# before is reused with those two set (a bounded cache of successful parses only).
_HELLOS: dict[bytes, ClientHello] = {}
_HELLOS_MAX = 512


def parse_client_hello_body(body: bytes) -> ClientHello:
    """A ClientHello from its handshake body (after the 4-byte message header)."""
    if len(body) < 35:
        return _parse_client_hello_body(body)
    sid_end = 35 + body[34]
    key = bytes(body[:2]) + bytes(body[34:35]) + bytes(body[sid_end:])
    seen = _HELLOS.get(key)
    if seen is None:
        hello = _parse_client_hello_body(body)
        if len(_HELLOS) >= _HELLOS_MAX:
            _HELLOS.clear()
        _HELLOS[key] = hello
        return hello
    hello = object.__new__(ClientHello)
    hello.__dict__.update(seen.__dict__)
    object.__setattr__(hello, "random", bytes(body[2:34]))
    object.__setattr__(hello, "session_id", bytes(body[35:sid_end]))
    return hello


def _parse_client_hello_body(body: bytes) -> ClientHello:
    r = Reader(body)
    f = read_layout(r, CLIENT_HELLO_LAYOUT, "ClientHello")
    r.done("ClientHello")
    ext_types = _read_extensions(body, 0, f.pop("extensions"), CLIENT_EXTENSION_FIELDS, f)
    return _build_client_hello(f, ext_types, sslv2=False)


def parse_sslv2_client_hello(payload: bytes) -> ClientHello:
    """An SSLv2-compatible CLIENT-HELLO (payload after the 2-byte header, from msg_type on).

    Cipher specs are 3 bytes; those with a zero first byte are TLS suites and are kept
    (SSLv2-only kinds are dropped). The challenge becomes `random`, left-padded to 32."""
    r = Reader(payload)
    f = read_layout(r, SSL2_CLIENT_HELLO_LAYOUT, "SSLv2 ClientHello")
    if f["cipher_specs_length"] % 3:
        raise TlsParseError(
            "SSLv2 ClientHello.cipher_specs", 3, f"length {f['cipher_specs_length']} is not 3*n"
        )
    specs = r.raw(f["cipher_specs_length"], "SSLv2 ClientHello.cipher_specs")
    session_id = r.raw(f["session_id_length"], "SSLv2 ClientHello.session_id")
    challenge = r.raw(f["challenge_length"], "SSLv2 ClientHello.challenge")
    r.done("SSLv2 ClientHello")
    suites = tuple(
        (specs[i + 1] << 8) | specs[i + 2] for i in range(0, len(specs), 3) if specs[i] == 0
    )
    fields = {
        "legacy_version": f["legacy_version"],
        "random": challenge.rjust(32, b"\0")[-32:],
        "session_id": session_id,
        "cipher_suites": suites,
        "compression_methods": (0,),
    }
    return _build_client_hello(fields, (), sslv2=True)


def parse_client_hello(data: bytes) -> ClientHello:
    """The ClientHello in `data`: one or more whole TLS records, an SSLv2-compatible
    record, or a bare handshake message. Raises only TlsParseError; its offset is a byte
    offset into `data`."""
    try:
        return _parse_client_hello(bytes(data))
    except TlsParseError:
        raise
    except (ValueError, IndexError, KeyError, UnicodeError) as e:  # defence in depth
        raise TlsParseError("ClientHello", 0, f"unparseable ({type(e).__name__}: {e})") from e


def _parse_client_hello(data: bytes) -> ClientHello:
    if not data:
        raise TlsParseError("ClientHello", 0, "no data")
    first = data[0]
    if first == CLIENT_HELLO:  # a bare handshake message
        r = Reader(data)
        r.u8("handshake type")
        body = r.sub(3, "ClientHello")
        r.done("ClientHello handshake message")
        try:
            return parse_client_hello_body(body.raw(body.remaining, "ClientHello"))
        except TlsParseError as e:
            raise _moved(e, e.offset + 4) from None
    if first != HANDSHAKE and not first & 0x80:
        raise TlsParseError(
            "ClientHello",
            0,
            f"first byte 0x{first:02x} is neither a handshake record (0x16), "
            "an SSLv2 header nor a ClientHello message (0x01)",
        )
    records = RecordStream()
    recs = records.feed(data)
    if records.error:
        raise TlsParseError("ClientHello record", records.error_offset, records.error)
    hs = HandshakeReassembler()
    for rec in recs:
        if rec.content_type == SSL2_CLIENT_HELLO:
            try:
                return parse_sslv2_client_hello(rec.payload or b"")
            except TlsParseError as e:
                raise _moved(e, e.offset + rec.offset + 2) from None
        if rec.content_type != HANDSHAKE:
            raise TlsParseError(
                "ClientHello record",
                rec.offset,
                f"content type {rec.content_type} is not handshake",
            )
        for msg in hs.add(rec.payload or b"", rec.offset + 5):
            if msg.msg_type != CLIENT_HELLO:
                raise TlsParseError(
                    "ClientHello", msg.offset, f"first handshake message is {msg.name}"
                )
            try:
                return parse_client_hello_body(msg.body)
            except TlsParseError as e:
                raise _moved(e, msg.stream_offset(e.offset)) from None
        if hs.error:
            raise TlsParseError("ClientHello", hs.error_offset, hs.error)
    raise TlsParseError(
        "ClientHello", len(data), records.pending() or "records end before the ClientHello does"
    )


def _moved(e: TlsParseError, offset: int) -> TlsParseError:
    return TlsParseError(e.what, offset, e.why)


# ---- ServerHello --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerHello:
    version: int  # legacy_version field (0x0303 in TLS 1.3)
    cipher_suite: int
    compression_method: int
    extensions: tuple[int, ...]
    selected_version: int | None  # from supported_versions (TLS 1.3)
    random: bytes = b""
    session_id: bytes = b""

    @property
    def negotiated_version(self) -> int:
        return self.selected_version if self.selected_version is not None else self.version

    @property
    def chosen_version_name(self) -> str:
        return version_name(self.negotiated_version)

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM


def parse_server_hello_body(body: bytes) -> ServerHello:
    r = Reader(body)
    f = read_layout(r, SERVER_HELLO_LAYOUT, "ServerHello")
    r.done("ServerHello")
    ext_types = _read_extensions(body, 0, f.pop("extensions"), SERVER_EXTENSION_FIELDS, f)
    return ServerHello(
        version=f["version"],
        cipher_suite=f["cipher_suite"],
        compression_method=f["compression_method"],
        extensions=ext_types,
        selected_version=f.get("selected_version"),
        random=f["random"],
        session_id=f["session_id"],
    )


# ---- Certificate, alerts ------------------------------------------------------------------

CERTIFICATE_LAYOUT: Layout = (("certificate_list", u24_blocks(3)),)


def parse_certificate_body(body: bytes) -> tuple[tuple[int, bytes], ...]:
    """TLS <= 1.2 Certificate: ((body offset, DER), ...) in the order sent."""
    r = Reader(body)
    f = read_layout(r, CERTIFICATE_LAYOUT, "Certificate")
    r.done("Certificate")
    return f["certificate_list"]


def parse_alerts(payload: bytes) -> list[tuple[int, int, str]]:
    """(level, description, name) for each 2-byte alert in a cleartext alert record."""
    if len(payload) % 2 or not payload:
        raise TlsParseError("alert record", 0, f"length {len(payload)} is not a multiple of 2")
    return [
        (payload[i], payload[i + 1], alert_name(payload[i + 1])) for i in range(0, len(payload), 2)
    ]
