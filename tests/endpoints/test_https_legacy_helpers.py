"""Helpers (no tests): a tlslite-ng HTTPS client, for suites OpenSSL here cannot offer (RC4).

`tlslite_settings(suites)` makes tlslite-ng offer exactly those suites; `tlslite_get(...)`
fetches one path over one connection (blocking; call it from a thread when the server
runs on the same event loop); `refuse` makes the client give up right after the
server's first flight when the server picked one of those suites (a deliberately
faulty device: it closes mid-handshake, before its key exchange).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from harness.endpoints.legacy_tls import (  # tlslite-ng, imported without its asyncore warning
    TLSLITE_VERSIONS,
    HandshakeSettings,
    TLSConnection,
    X509CertChain,
    parsePEMKey,
    tlslite_suite_parts,
)
from harness.pki import Certificate
from harness.tls import TlsConversation


def tlslite_settings(suites: list[int], max_version: str = "TLS1.2") -> HandshakeSettings:
    """Client settings offering exactly `suites` (those tlslite-ng knows) up to `max_version`."""
    parts = [tlslite_suite_parts()[s] for s in suites if s in tlslite_suite_parts()]
    if not parts:
        raise ValueError(f"tlslite-ng offers none of {[hex(s) for s in suites]}")
    s = HandshakeSettings()
    s.cipherNames = sorted({p[0] for p in parts})
    s.macNames = sorted({p[1] for p in parts})
    s.keyExchangeNames = sorted({p[2] for p in parts})
    s.minVersion = TLSLITE_VERSIONS["TLS1.0"]
    s.maxVersion = TLSLITE_VERSIONS[max_version]
    return s


class Refused(ConnectionAbortedError):
    """The client gave up on the suite the server picked."""


@dataclass
class _WatchingSocket:
    """A real socket whose received bytes are parsed; closes when the server picks a refused
    suite."""

    sock: socket.socket
    refuse: frozenset[int]
    wire: TlsConversation = field(default_factory=TlsConversation)

    def recv(self, n: int) -> bytes:
        data = self.sock.recv(n)
        self.wire.feed_server(data)
        hello = self.wire.server_hello
        if hello is not None and hello.cipher_suite in self.refuse:
            self.sock.close()
            raise Refused(f"gave up after the server picked 0x{hello.cipher_suite:04x}")
        return data

    def __getattr__(self, name: str):  # send, sendall, getpeername... of the real socket
        return getattr(self.sock, name)


@dataclass
class Fetched:
    status: int
    body: bytes
    cipher_suite: int
    version: tuple[int, int]
    master_secret: bytes
    client_random: bytes


def tlslite_get(
    host: str,
    port: int,
    path: str,
    *,
    sni: str | None,
    suites: list[int],
    max_version: str = "TLS1.2",
    refuse: frozenset[int] = frozenset(),
    user_agent: str = "tlslite-ng test client",
    client_cert: Certificate | None = None,
    timeout: float = 10.0,
) -> Fetched:
    """GET `path` over one TLS connection offering `suites`; raises on a failed handshake."""
    raw = socket.create_connection((host, port), timeout=timeout)
    conn = TLSConnection(_WatchingSocket(raw, refuse) if refuse else raw)
    try:
        chain = key = None
        if client_cert is not None:
            chain = X509CertChain()
            chain.parsePemList("".join(b.text() for b in client_cert.cert_chain_pems))
            key = parsePEMKey(client_cert.private_key_pem.text(), private=True)
        conn.handshakeClientCert(
            chain, key, settings=tlslite_settings(suites, max_version), serverName=sni
        )
        version = tuple(conn.version)
        head = f"GET {path} HTTP/1.1\r\nHost: {sni or host}\r\nUser-Agent: {user_agent}\r\n"
        conn.write((head + "Connection: close\r\n\r\n").encode("ascii"))
        data = b""
        while chunk := conn.read():
            data += bytes(chunk)
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        session = conn.session
        return Fetched(
            status,
            body,
            session.cipherSuite,
            version,  # type: ignore[arg-type]
            bytes(session.masterSecret),
            bytes(conn._clientRandom),
        )
    finally:
        try:
            conn.close()
        except Exception:  # the server may already have closed
            pass
        raw.close()
