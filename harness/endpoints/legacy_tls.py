"""Server-side TLS on tlslite-ng, for the suites this machine's OpenSSL cannot serve (RC4...).

`LegacyTlsServer` holds what one personality serves on this path (its suites, TLS
versions, certificate and key from harness.pki); `LegacyTlsStream` runs tlslite-ng's
server handshake over a raw `ByteStream` and offers the same interface as
`harness.endpoints.tls_stream.TlsStream` (handshake/receive/send/close, version,
cipher, the raw-byte taps both ways), so `HttpsServer` serves HTTP and records the
same `TlsHandshake` whichever stack ran the connection. tlslite-ng is driven through
its generator ("async") API on an in-memory socket, so nothing blocks the event loop
and every byte on the wire passes through the taps.
No HTTP, no recording and no spec judgement here; suite numbers come from the caller.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from harness.endpoints.stream import Address, ByteStream
from harness.endpoints.tls_stream import TappedRawSide, TlsClosed
from harness.pki import Certificate

with warnings.catch_warnings():  # the tlslite package imports asyncore (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from tlslite.constants import AlertDescription, CipherSuite
    from tlslite.errors import (
        TLSAbruptCloseError,
        TLSAuthenticationError,
        TLSError,
        TLSLocalAlert,
        TLSRemoteAlert,
    )
    from tlslite.handshakesettings import HandshakeSettings
    from tlslite.tlsconnection import TLSConnection
    from tlslite.utils.keyfactory import parsePEMKey
    from tlslite.x509certchain import X509CertChain

Tap = Callable[[bytes], None]

# tlslite-ng's own names for the parts of a TLS <= 1.2 suite, and its lists of suites
# having each part (HandshakeSettings.cipherNames / macNames / keyExchangeNames).
_CIPHER_LISTS = {
    "rc4": "rc4Suites",
    "3des": "tripleDESSuites",
    "aes128": "aes128Suites",
    "aes256": "aes256Suites",
}
_MAC_LISTS = {"md5": "md5Suites", "sha": "shaSuites", "sha256": "sha256Suites"}
# key exchanges that work with the RSA certificates of harness.pki
_KEX_LISTS = {"rsa": "certSuites", "dhe_rsa": "dheCertSuites", "ecdhe_rsa": "ecdheCertSuites"}
_KEX_GETTERS = ("getCertSuites", "getDheCertSuites", "getEcdheCertSuites")

# Harness version names -> (major, minor) on the wire. TLS 1.3 has suites of its own.
TLSLITE_VERSIONS: dict[str, tuple[int, int]] = {
    "SSL3.0": (3, 0),
    "TLS1.0": (3, 1),
    "TLS1.1": (3, 2),
    "TLS1.2": (3, 3),
}
_VERSION_NAMES = {(3, 0): "SSLv3", (3, 1): "TLSv1", (3, 2): "TLSv1.1", (3, 3): "TLSv1.2"}


@cache
def tlslite_suite_parts() -> dict[int, tuple[str, str, str]]:
    """Suite number -> (cipher, mac, key exchange) in tlslite-ng's names, for every
    TLS <= 1.2 suite tlslite-ng can serve with an RSA certificate."""
    out: dict[int, tuple[str, str, str]] = {}
    for cipher, clist in _CIPHER_LISTS.items():
        for mac, mlist in _MAC_LISTS.items():
            for kex, klist in _KEX_LISTS.items():
                common = (
                    set(getattr(CipherSuite, clist))
                    & set(getattr(CipherSuite, mlist))
                    & set(getattr(CipherSuite, klist))
                )
                for suite in common:
                    out[suite] = (cipher, mac, kex)
    return out


def can_serve(suite: int) -> bool:
    """Whether tlslite-ng here can serve `suite` as a server with an RSA certificate."""
    return suite in tlslite_suite_parts()


def suite_name(suite: int) -> str:
    """tlslite-ng's (IANA) name for `suite`, or its number."""
    return CipherSuite.ietfNames.get(suite, f"0x{suite:04x}")


def _served_suites(settings: HandshakeSettings) -> set[int]:
    out: set[int] = set()
    for version in TLSLITE_VERSIONS.values():
        for getter in _KEX_GETTERS:
            out |= set(getattr(CipherSuite, getter)(settings, version))
    return out


@dataclass
class LegacyTlsServer:
    """What one personality serves on the tlslite-ng path; build once, use per connection."""

    cert: Certificate
    cipher_suites: tuple[int, ...]
    min_version: str | None = None  # None: SSL3.0, the oldest tlslite-ng speaks
    max_version: str | None = None  # None: TLS1.2
    client_cert: str = "none"  # none | optional | required (as HttpsServer's personalities)
    client_ca_pem: bytes | None = None  # the CA a client certificate must be issued by

    def __post_init__(self) -> None:
        if self.client_cert not in ("none", "optional", "required"):
            raise ValueError(
                f"client_cert {self.client_cert!r}: expected none, optional or required"
            )
        self.client_cas: list[x509.Certificate] = []
        if self.client_cert != "none":
            if not self.client_ca_pem:
                raise ValueError(f"client_cert={self.client_cert!r} needs client_ca (a CA or PEM)")
            self.client_cas = x509.load_pem_x509_certificates(self.client_ca_pem)
        unknown = [s for s in self.cipher_suites if not can_serve(s)]
        if not self.cipher_suites or unknown:
            what = ", ".join(f"0x{s:04x}" for s in unknown) or "no suite"
            raise ValueError(f"legacy TLS path: tlslite-ng cannot serve {what}")
        self.settings = self._settings()
        pems = [b.text() for b in self.cert.cert_chain_pems]
        self.chain = X509CertChain()
        self.chain.parsePemList("".join(pems))
        try:
            self.key = parsePEMKey(self.cert.private_key_pem.text(), private=True)
        except SyntaxError as exc:
            raise ValueError(
                f"legacy TLS path: tlslite-ng cannot use the key of certificate variant "
                f"{self.cert.variant!r} ({exc}); it serves RSA certificates only"
            ) from None

    def _settings(self) -> HandshakeSettings:
        versions = {}
        for name, value in (("min_version", self.min_version), ("max_version", self.max_version)):
            if value is not None and value not in TLSLITE_VERSIONS:
                raise ValueError(
                    f"legacy TLS path: {name} {value!r}: these suites exist only in "
                    f"{list(TLSLITE_VERSIONS)}"
                )
            versions[name] = TLSLITE_VERSIONS[value] if value else None
        parts = [tlslite_suite_parts()[s] for s in self.cipher_suites]
        s = HandshakeSettings()
        s.cipherNames = sorted({p[0] for p in parts})
        s.macNames = sorted({p[1] for p in parts})
        s.keyExchangeNames = sorted({p[2] for p in parts})
        s.minVersion = versions["min_version"] or TLSLITE_VERSIONS["SSL3.0"]
        s.maxVersion = versions["max_version"] or TLSLITE_VERSIONS["TLS1.2"]
        if s.minVersion > s.maxVersion:
            raise ValueError(
                f"legacy TLS path: min_version {self.min_version} is above "
                f"max_version {self.max_version}"
            )
        served = _served_suites(s)
        if served != set(self.cipher_suites):
            extra = ", ".join(f"0x{x:04x}" for x in sorted(served - set(self.cipher_suites)))
            raise ValueError(
                f"legacy TLS path: cannot pin exactly "
                f"{', '.join(f'0x{x:04x}' for x in self.cipher_suites)} (tlslite-ng would also "
                f"serve {extra}); pin them one personality at a time"
            )
        return s.validate()

    def check_client(self, conn: TLSConnection) -> None:
        """tlslite-ng's checker: the client-certificate policy, as OpenSSL applies it (a
        certificate, when sent, must be issued by the client CA and be valid now; `required`
        wants one). tlslite-ng then ends the handshake with a fatal alert."""
        chain = conn.session.clientCertChain if conn.session else None
        if self.client_cert == "none":
            return
        if chain is None or not chain.getNumCerts():
            if self.client_cert == "required":
                raise TLSAuthenticationError("the client sent no certificate")
            return
        leaf = x509.load_der_x509_certificate(bytes(chain.x509List[0].bytes))
        now = dt.datetime.now(dt.UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise TLSAuthenticationError("the client certificate is not valid now")
        for ca in self.client_cas:
            try:
                leaf.verify_directly_issued_by(ca)
                return
            except (ValueError, TypeError, InvalidSignature):
                continue
        raise TLSAuthenticationError("the client certificate is not issued by the client CA")


class LegacyTlsError(ConnectionError):
    """The tlslite-ng handshake or record layer failed; `alert` is (sender, description, name)
    when an alert was sent ("server") or received ("client")."""

    def __init__(self, message: str, alert: tuple[str, int, str] | None = None) -> None:
        super().__init__(message)
        self.alert = alert


class _MemorySocket:
    """The socket tlslite-ng sees: reads from what the driver fed, writes to a buffer."""

    def __init__(self, peer: Address, local: Address) -> None:
        self.incoming = bytearray()
        self.outgoing = bytearray()
        self.eof = False
        self._peer, self._local = peer, local

    def recv(self, bufsize: int) -> bytes:
        if not self.incoming:
            if self.eof:
                return b""
            raise BlockingIOError(errno.EWOULDBLOCK, "no data fed yet")
        data = bytes(self.incoming[:bufsize])
        del self.incoming[:bufsize]
        return data

    def send(self, data: bytes) -> int:
        self.outgoing += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.outgoing += data

    def getpeername(self) -> Address:
        return self._peer

    def getsockname(self) -> Address:
        return self._local

    def settimeout(self, value: float | None) -> None:
        pass

    def gettimeout(self) -> None:
        return None

    def setsockopt(self, *args: Any) -> None:
        pass

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        pass


_keylog_lock = threading.Lock()


def _alert_of(exc: Exception) -> tuple[str, int, str] | None:
    """(sender, description, name) of the alert behind a tlslite-ng error, if any."""
    if isinstance(exc, TLSRemoteAlert | TLSLocalAlert):
        sender = "client" if isinstance(exc, TLSRemoteAlert) else "server"
        return (sender, exc.description, AlertDescription.toStr(exc.description))
    if isinstance(exc, TLSAuthenticationError):  # tlslite-ng then sends a fatal close_notify
        return ("server", AlertDescription.close_notify, "close_notify")
    return None


class LegacyTlsStream(TappedRawSide):
    """A server-side tlslite-ng connection on top of a raw ByteStream (TlsStream's interface)."""

    def __init__(
        self,
        raw: ByteStream,
        server: LegacyTlsServer,
        *,
        initial: bytes = b"",
        on_client_bytes: Tap | None = None,
        on_server_bytes: Tap | None = None,
        keylog_path: Path | None = None,
    ) -> None:
        self.raw = raw
        self.peer: Address = raw.peer
        self.local: Address = raw.local
        self.server = server
        self._sock = _MemorySocket(raw.peer, raw.local)
        self.conn = TLSConnection(self._sock)
        self.conn.ignoreAbruptClose = True
        self._tap_in = on_client_bytes
        self._tap_out = on_server_bytes
        self.keylog_path = keylog_path
        self.established = False
        self.error: LegacyTlsError | None = None
        self.app_bytes_received = 0
        self.eof = False
        self._version: str | None = None
        self._suite: int | None = None
        if initial:
            self._feed(initial)

    # -- raw side (the rest is TappedRawSide's) --------------------------------------
    def _put_in(self, data: bytes) -> None:
        self._sock.incoming += data

    def _take_out(self) -> bytes:
        data = bytes(self._sock.outgoing)
        self._sock.outgoing.clear()
        return b"" if self.eof else data  # nothing goes out once the peer is gone

    def _in_eof(self) -> None:
        self._sock.eof = True

    async def _drive(self, steps: Iterator[Any]) -> Any:
        """Run one tlslite-ng generator: 0 = wants to read, 1 = wants to write, else done."""
        result: Any = None
        for result in steps:
            await self._flush()
            if result == 0 and not self._sock.incoming and not self._sock.eof:
                await self._pull()
            elif result not in (0, 1):
                break
        await self._flush()
        return result

    # -- handshake ------------------------------------------------------------------
    async def handshake(self) -> None:
        """Complete the handshake; LegacyTlsError or TlsClosed when it fails."""
        steps = self.conn.handshakeServerAsync(
            certChain=self.server.chain,
            privateKey=self.server.key,
            settings=self.server.settings,
            reqCert=self.server.client_cert != "none",
            checker=self.server.check_client if self.server.client_cert != "none" else None,
        )
        try:
            await self._drive(steps)
        except TLSAbruptCloseError:
            await self._flush()
            raise TlsClosed("peer closed the connection during the handshake") from None
        except Exception as exc:  # tlslite-ng: its own errors, and parser ones on bad input
            await self._flush()
            self.error = LegacyTlsError(f"{type(exc).__name__}: {exc}", _alert_of(exc))
            raise self.error from None
        self.established = True
        self._version = _VERSION_NAMES.get(tuple(self.conn.version))
        self._suite = self.conn.session.cipherSuite if self.conn.session else None
        self._write_keylog()

    def _write_keylog(self) -> None:
        """SSLKEYLOGFILE line for TLS <= 1.2, so a capture of this connection decrypts."""
        session = self.conn.session
        random = bytes(getattr(self.conn, "_clientRandom", b""))
        if self.keylog_path is None or session is None or not random:
            return
        line = f"CLIENT_RANDOM {random.hex()} {bytes(session.masterSecret).hex()}\n"
        with _keylog_lock:
            fd = os.open(self.keylog_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="ascii") as f:  # a new key log is 0600
                f.write(line)

    # -- ByteStream -----------------------------------------------------------------
    async def receive(self, max_bytes: int = 65536) -> bytes:
        if not self.established or self.conn.closed:
            return b""
        try:
            data = await self._drive(self.conn.readAsync(max_bytes))
        except TLSAbruptCloseError:
            return b""
        except Exception as exc:  # a hostile client never stops the server
            self.error = LegacyTlsError(f"{type(exc).__name__}: {exc}", _alert_of(exc))
            return b""
        data = bytes(data or b"")
        self.app_bytes_received += len(data)
        return data

    async def send(self, data: bytes) -> None:
        if self.eof or self.conn.closed:
            raise ConnectionResetError("peer closed the TLS connection")
        try:
            await self._drive(self.conn.writeAsync(data))
        except TLSError as exc:
            raise ConnectionResetError(f"TLS write failed: {exc}") from None
        if self.eof:
            raise ConnectionResetError("peer closed the TLS connection")

    async def close(self) -> None:
        if self.established and not self.eof and not self.conn.closed:
            self.conn.closeSocket = True  # send close_notify, do not wait for the peer's
            try:
                await self._drive(self.conn.closeAsync())
            except (TLSError, OSError):
                pass
        await self.raw.close()

    # -- facts ----------------------------------------------------------------------
    @property
    def version(self) -> str | None:
        """Python ssl's spelling ('TLSv1.2', 'TLSv1', 'SSLv3'), as TlsStream gives it."""
        return self._version

    @property
    def cipher_suite(self) -> int | None:
        return self._suite

    @property
    def cipher_name(self) -> str | None:
        suite = self.cipher_suite
        return suite_name(suite) if suite is not None else None

    def peer_certificate_der(self) -> bytes | None:
        session = self.conn.session if self.established else None
        chain = session.clientCertChain if session else None
        return bytes(chain.x509List[0].bytes) if chain and chain.getNumCerts() else None
