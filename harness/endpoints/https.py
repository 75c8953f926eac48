"""`HttpsServer`: the scripted HTTP server over real TLS, with per-device personalities.

Each connection: peek the ClientHello (SNI, offered suites), pick the
personality for the client's address or SNI (certificate variant, suites, TLS
versions, client-certificate policy), run TLS through `TlsStream` (every raw
byte seen), serve HTTP with `HttpServer.handle_stream(scheme="https")`, and
record one `TlsHandshake` per connection. A TLS key log (SSLKEYLOGFILE format)
is written to `keylog_path`. Suites OpenSSL cannot serve (RC4) are served by the
tlslite-ng path of harness.endpoints.legacy_tls when a personality pins only such
suites; suites neither stack can offer (EXPORT) are reported as inconclusive,
never silently served by something else.
No spec judgement here; spec facts come from harness.spec, certificates from harness.pki.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from harness.endpoints.http import HttpServer
from harness.endpoints.legacy_tls import LegacyTlsServer, LegacyTlsStream, can_serve
from harness.endpoints.stream import TcpStream
from harness.endpoints.tls_stream import (
    HelloPeek,
    TlsClosed,
    TlsStream,
    peek_client_hello,
    received_alert,
)
from harness.observe.events import DeviceKey, TlsAlert, TlsHandshake
from harness.pki import CA, Certificate, ServerCA, subject_of
from harness.pki.blobs import private_file
from harness.pki.variants import build_server_cert
from harness.tls.conversation import TlsConversation
from harness.tls.x509_summary import summarize_certificate

_SSL_VERSIONS: dict[str, ssl.TLSVersion] = {
    "SSL3.0": ssl.TLSVersion.SSLv3,
    "TLS1.0": ssl.TLSVersion.TLSv1,
    "TLS1.1": ssl.TLSVersion.TLSv1_1,
    "TLS1.2": ssl.TLSVersion.TLSv1_2,
    "TLS1.3": ssl.TLSVersion.TLSv1_3,
}
CLIENT_CERT_POLICIES = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}
_TLS13_SUITES = frozenset({0x1301, 0x1302, 0x1303, 0x1304, 0x1305})


@cache
def openssl_suites() -> dict[int, str]:
    """Suite number -> OpenSSL name, for every suite the local OpenSSL can negotiate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {c["id"] & 0xFFFF: c["name"] for c in ctx.get_ciphers()}


def inconclusive_reason(suite: int) -> str | None:
    """None when this machine can offer `suite`; else the explicit inconclusive reason."""
    if suite in openssl_suites() or is_legacy_only(suite):
        return None
    return f"inconclusive: this machine's TLS stack cannot offer 0x{suite:04x}"


# -- legacy TLS hook: suites only tlslite-ng serves (harness.endpoints.legacy_tls) ------
def is_legacy_only(suite: int) -> bool:
    """A suite OpenSSL here cannot serve but the tlslite-ng path can (RC4)."""
    return suite not in openssl_suites() and can_serve(suite)


@cache
def ffdhe2048_pem() -> bytes:
    """RFC 7919 ffdhe2048 parameters (from the openssl tool), for DHE suites."""
    out = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    return out.stdout


def version_label(ssl_version: str | None) -> str | None:
    """'TLSv1.2' (ssl's name) -> 'TLS1.2' (the harness's name); 'TLSv1' -> 'TLS1.0'."""
    if not ssl_version:
        return None
    label = ssl_version.replace("TLSv", "TLS").replace("SSLv", "SSL")
    return label if "." in label else f"{label}.0"


@dataclass
class Personality:
    """How the server behaves toward one device (by client address or SNI) or by default."""

    cert: Certificate
    variant: str | None = None
    cipher_suites: tuple[int, ...] | None = None  # None: the OpenSSL default list
    min_version: str | None = None  # "TLS1.0" ... "TLS1.3"
    max_version: str | None = None
    client_cert: str = "none"  # none | optional | required
    client_ca: CA | bytes | None = None
    sni: str | None = None
    client_ip: str | None = None
    _ctx: ssl.SSLContext | None = field(default=None, repr=False)
    _legacy: LegacyTlsServer | None = field(default=None, repr=False)

    @property
    def legacy(self) -> bool:
        """Legacy TLS hook: every pinned suite is one only the tlslite-ng path serves."""
        return bool(self.cipher_suites) and all(map(is_legacy_only, self.cipher_suites or ()))

    def legacy_server(self) -> LegacyTlsServer:
        """Legacy TLS hook: the tlslite-ng side of this personality (built once)."""
        if self._legacy is None:
            ca = self.client_ca
            self._legacy = LegacyTlsServer(
                self.cert,
                tuple(self.cipher_suites or ()),
                self.min_version,
                self.max_version,
                client_cert=self.client_cert,
                client_ca_pem=ca.cert_pem.bytes() if isinstance(ca, CA) else ca,
            )
        return self._legacy

    def problems(self) -> list[str]:
        """Settings this machine cannot honour, as 'inconclusive: ...' reasons."""
        out = []
        for suite in self.cipher_suites or ():
            reason = inconclusive_reason(suite)
            if reason:
                out.append(reason)
        legacy = [s for s in self.cipher_suites or () if is_legacy_only(s)]
        if legacy and len(legacy) != len(self.cipher_suites or ()):
            out.append(
                f"cannot mix {', '.join(f'0x{s:04x}' for s in legacy)} (served by tlslite-ng, "
                f"not OpenSSL) with other suites in one personality; pin them separately"
            )
        return out

    def context(self, keylog_path: Path | None) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = self._build(keylog_path)
        return self._ctx

    def _build(self, keylog_path: Path | None) -> ssl.SSLContext:
        for name, value in (("min_version", self.min_version), ("max_version", self.max_version)):
            if value is not None and value not in _SSL_VERSIONS:
                raise ValueError(f"{name} {value!r}: expected one of {list(_SSL_VERSIONS)}")
        if self.client_cert not in CLIENT_CERT_POLICIES:
            raise ValueError(
                f"client_cert {self.client_cert!r}: expected one of {list(CLIENT_CERT_POLICIES)}"
            )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        if self.cipher_suites:
            problems = self.problems()
            if problems:
                raise ValueError("; ".join(problems))
            names = [openssl_suites()[s] for s in self.cipher_suites if s not in _TLS13_SUITES]
            if names:
                ctx.set_ciphers(":".join(names) + ":@SECLEVEL=0")
            if not any(s in _TLS13_SUITES for s in self.cipher_suites):
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # 1.3 suites are not selectable
        else:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # old versions are the point of a test server
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            if self.min_version:
                ctx.minimum_version = _SSL_VERSIONS[self.min_version]
            if self.max_version:
                ctx.maximum_version = _SSL_VERSIONS[self.max_version]
        with tempfile.TemporaryDirectory(prefix="harness-https-") as tmp:
            dh = Path(tmp, "dh.pem")
            dh.write_bytes(ffdhe2048_pem())
            ctx.load_dh_params(str(dh))
        self.cert.configure_cert(ctx)
        ctx.verify_mode = CLIENT_CERT_POLICIES[self.client_cert]
        if self.client_cert != "none":
            if self.client_ca is None:
                raise ValueError(f"client_cert={self.client_cert!r} needs client_ca (a CA or PEM)")
            if isinstance(self.client_ca, CA):
                self.client_ca.configure_trust(ctx)
            else:
                ctx.load_verify_locations(cadata=self.client_ca.decode("ascii"))
        if keylog_path is not None:
            private_file(keylog_path)  # 0600 before OpenSSL opens it (0644 otherwise)
            ctx.keylog_filename = str(keylog_path)
        return ctx


class HttpsServer(HttpServer):
    """HTTPS provisioning server: `HttpServer` over TLS, with a test PKI and personalities."""

    name = "https"
    scheme = "https"

    def __init__(
        self,
        *,
        ca: CA | None = None,
        fqdn: str = "prov.example.test",
        variant: str = "valid",
        cert: Certificate | None = None,
        cipher_suites: list[int] | tuple[int, ...] | None = None,
        min_version: str | None = None,
        max_version: str | None = None,
        client_cert: str = "none",
        client_ca: CA | bytes | None = None,
        keylog_path: str | Path | None = None,
        handshake_timeout: float = 10.0,
        **http_kwargs: Any,
    ) -> None:
        super().__init__(**http_kwargs)
        self.ca = ca or ServerCA()
        self.fqdn = fqdn
        self.keylog_path = Path(keylog_path) if keylog_path is not None else None
        self.handshake_timeout = handshake_timeout
        self.default = self._make_personality(
            variant=variant,
            cert=cert,
            cipher_suites=cipher_suites,
            min_version=min_version,
            max_version=max_version,
            client_cert=client_cert,
            client_ca=client_ca,
        )
        self.personalities: list[Personality] = []
        self._handshakes: list[TlsHandshake] = []
        self._hs_cond = threading.Condition()

    # -- configuration --------------------------------------------------------------
    def _make_personality(
        self, *, variant: str | None = None, cert: Certificate | None = None, **settings: Any
    ) -> Personality:
        if cert is None:
            cert = build_server_cert(self.ca, self.fqdn, variant or "valid")
        else:
            variant = cert.variant or variant
        suites = settings.pop("cipher_suites", None)
        p = Personality(
            cert=cert,
            variant=variant,
            cipher_suites=tuple(suites) if suites else None,
            **settings,
        )
        problems = p.problems()
        if problems:
            raise ValueError("; ".join(problems))
        if p.legacy:  # legacy TLS hook: fail now, in the test, not in a connection
            p.legacy_server()
        else:
            p.context(self.keylog_path)
        return p

    def personality(
        self, *, sni: str | None = None, client_ip: str | None = None, **settings: Any
    ) -> Personality:
        """Behave differently toward one device: by SNI and/or by client address.

        Settings default to the server's own (variant, cert, cipher_suites, min_version,
        max_version, client_cert, client_ca)."""
        if sni is None and client_ip is None:
            raise ValueError("personality() needs sni=... or client_ip=...")
        base = {
            "cipher_suites": self.default.cipher_suites,
            "min_version": self.default.min_version,
            "max_version": self.default.max_version,
            "client_cert": self.default.client_cert,
            "client_ca": self.default.client_ca,
        }
        if "variant" not in settings and "cert" not in settings:
            settings["cert"] = self.default.cert
        p = self._make_personality(**{**base, **settings})
        p.sni, p.client_ip = sni, client_ip
        self.personalities.insert(0, p)
        return p

    def choose(self, client_ip: str, sni: str | None) -> Personality:
        """The personality for a connection: address and SNI both, then address, then SNI."""

        def fits(p: Personality) -> bool:
            return (p.client_ip is None or p.client_ip == client_ip) and (
                p.sni is None or (sni is not None and p.sni.lower() == sni.lower())
            )

        ranked = sorted(
            (p for p in self.personalities if fits(p)),
            key=lambda p: (p.client_ip is None, p.sni is None),
        )
        return ranked[0] if ranked else self.default

    @staticmethod
    def can_offer(suite: int) -> bool:
        """Whether this machine's TLS stack can negotiate `suite` as a server."""
        return inconclusive_reason(suite) is None

    @staticmethod
    def offer_verdict(suite: int) -> str:
        """'ok', or 'inconclusive: this machine's TLS stack cannot offer 0x....'."""
        return inconclusive_reason(suite) or "ok"

    # -- what was seen ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://{self.fqdn}:{self.port}"

    @property
    def url_ip(self) -> str:
        return super().url

    @property
    def resolve(self) -> str:
        """curl's --resolve argument mapping the FQDN to this server."""
        return f"{self.fqdn}:{self.port}:{self.host}"

    @property
    def handshakes(self) -> list[TlsHandshake]:
        with self._hs_cond:
            return list(self._handshakes)

    def wait_for_handshakes(self, count: int, timeout: float = 5.0) -> list[TlsHandshake]:
        """Block until `count` connections are recorded; AssertionError on timeout."""
        with self._hs_cond:
            ok = self._hs_cond.wait_for(lambda: len(self._handshakes) >= count, timeout)
            got = list(self._handshakes)
        if not ok:
            raise AssertionError(
                f"https server at {self.url_ip}: expected {count} TLS connections within "
                f"{timeout} s, got {len(got)}"
            )
        return got

    def clear(self) -> None:
        super().clear()
        with self._hs_cond:
            self._handshakes.clear()

    def _busy(self) -> bool:
        # a TLS connection is recorded when it ends: an open one is not recorded yet
        return super()._busy() or bool(self._tasks)

    # -- one connection -------------------------------------------------------------
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve_tls(TcpStream(reader, writer))
        except Exception as exc:  # a hostile client never stops the server
            self.note_problem(f"https connection: {type(exc).__name__}: {exc}")
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _serve_tls(self, raw: TcpStream) -> None:
        started = self.clock.now()
        wire = TlsConversation()
        peek = await peek_client_hello(raw, self.handshake_timeout)
        if peek.hello is None:
            self.note_problem(f"TLS from {raw.peer[0]}:{raw.peer[1]}: {peek.error}")
        sni = peek.hello.server_name if peek.hello else None
        persona = self.choose(raw.peer[0], sni)
        tls: TlsStream | LegacyTlsStream
        if persona.legacy:  # legacy TLS hook: tlslite-ng serves what OpenSSL cannot
            tls = LegacyTlsStream(
                raw,
                persona.legacy_server(),
                initial=peek.data,
                on_client_bytes=wire.feed_client,
                on_server_bytes=wire.feed_server,
                keylog_path=self.keylog_path,
            )
        else:
            tls = TlsStream(
                raw,
                persona.context(self.keylog_path),
                initial=peek.data,
                on_client_bytes=wire.feed_client,
                on_server_bytes=wire.feed_server,
            )
        note = ""
        try:
            await asyncio.wait_for(tls.handshake(), self.handshake_timeout)
        except (ssl.SSLError, TlsClosed, TimeoutError, ConnectionError, OSError) as exc:
            note = f"handshake failed: {exc}"
            self._record_handshake(started, raw, peek, persona, wire, tls, note)
            await raw.close()
            return
        info = self._tls_info(peek, persona, tls)
        try:
            await self.handle_stream(tls, scheme="https", tls_info=info)
        finally:
            if tls.error is not None:
                note = f"after handshake: {tls.error}"
            self._record_handshake(started, raw, peek, persona, wire, tls, note)

    def _tls_info(
        self, peek: HelloPeek, persona: Personality, tls: TlsStream | LegacyTlsStream
    ) -> dict[str, Any]:
        return {
            "server_name": peek.hello.server_name if peek.hello else None,
            "version": version_label(tls.version),
            "cipher": tls.cipher_name,
            "server_cert_variant": persona.variant,
            "client_cert_subject": self._client_subject(tls),
        }

    @staticmethod
    def _client_subject(tls: TlsStream | LegacyTlsStream) -> dict[str, str] | None:
        der = tls.peer_certificate_der()
        return subject_of(der) if der else None

    def _record_handshake(
        self,
        started: float,
        raw: TcpStream,
        peek: HelloPeek,
        persona: Personality,
        wire: TlsConversation,
        tls: TlsStream | LegacyTlsStream,
        note: str,
    ) -> None:
        hello = peek.hello
        alert = wire.alert
        if alert is None and isinstance(tls, LegacyTlsStream):  # legacy TLS hook
            if tls.error is not None and tls.error.alert is not None:
                alert = TlsAlert(tls.error.alert[0], 2, tls.error.alert[1], tls.error.alert[2])
        elif alert is None and tls.error is not None:
            got = received_alert(tls.error)
            if got is not None:
                alert = TlsAlert("client", 2, got[0], got[1])
        extra: dict[str, Any] = {
            "server_cert_variant": persona.variant,
            "client_cert_requested": persona.client_cert != "none" or wire.certificate_request,
            "application_data": tls.app_bytes_received > 0,
            "established": tls.established,
            "alert": alert,
            "note": "; ".join(x for x in (note, "" if hello else peek.error or "") if x),
        }
        if tls.version:
            extra["chosen_version"] = version_label(tls.version)
        if isinstance(tls, LegacyTlsStream):  # legacy TLS hook: tlslite-ng knows the number
            if tls.cipher_suite is not None:
                extra["chosen_cipher_suite"] = tls.cipher_suite
        elif tls.cipher_name:
            suite = next((k for k, v in openssl_suites().items() if v == tls.cipher_name), None)
            extra["chosen_cipher_suite"] = suite
        subject = self._client_subject(tls)
        if subject:
            extra["client_cert_subject"] = subject
        if not wire.server_certificates:  # TLS 1.3: the chain went encrypted
            chain = (persona.cert.cert, *persona.cert.chain)
            extra["server_cert_chain"] = tuple(
                summarize_certificate(c.public_bytes(Encoding.DER)) for c in chain
            )
            extra["server_cert_subject_cn"] = persona.cert.subject.get("CN")
        handshake = wire.to_observation(
            time=started,
            client=raw.peer,
            server=raw.local,
            device=DeviceKey(ip=raw.peer[0]),
            evidence=self.evidence,
            **extra,
        )
        self.record(handshake)
        with self._hs_cond:
            self._handshakes.append(handshake)
            self.recorder.trim(self._handshakes)
            self._hs_cond.notify_all()
