"""Test-only TLS byte builders: records, hellos, extensions, SSLv2 hellos, and real
handshakes made in memory by Python's `ssl` module (OpenSSL) over MemoryBIOs."""

from __future__ import annotations

import ssl
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from tests.tls.wire import SERVER_NAME, Pki


def vec(width: int, body: bytes) -> bytes:
    return len(body).to_bytes(width, "big") + body


def u16s(values: Sequence[int]) -> bytes:
    return struct.pack(f">{len(values)}H", *values)


def ext(ext_type: int, body: bytes = b"") -> bytes:
    return struct.pack(">H", ext_type) + vec(2, body)


def sni(name: str) -> bytes:
    return ext(0x0000, vec(2, b"\x00" + vec(2, name.encode())))


def alpn(*names: str) -> bytes:
    return ext(0x0010, vec(2, b"".join(vec(1, n.encode()) for n in names)))


def groups(*values: int) -> bytes:
    return ext(0x000A, vec(2, u16s(values)))


def point_formats(*values: int) -> bytes:
    return ext(0x000B, vec(1, bytes(values)))


def sigalgs(*values: int) -> bytes:
    return ext(0x000D, vec(2, u16s(values)))


def versions(*values: int) -> bytes:
    return ext(0x002B, vec(1, u16s(values)))


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + vec(3, body)


def client_hello_body(
    ciphers: Sequence[int],
    extensions: Sequence[bytes] | None = (),
    *,
    version: int = 0x0303,
    session_id: bytes = b"",
    compression: bytes = b"\x00",
) -> bytes:
    body = struct.pack(">H", version) + bytes(range(32)) + vec(1, session_id)
    body += vec(2, u16s(ciphers)) + vec(1, compression)
    if extensions is not None:
        body += vec(2, b"".join(extensions))
    return body


def client_hello(ciphers: Sequence[int], extensions: Sequence[bytes] | None = (), **kw) -> bytes:
    """A ClientHello handshake message (4-byte header included)."""
    return handshake(1, client_hello_body(ciphers, extensions, **kw))


def record(content_type: int, payload: bytes, version: int = 0x0301) -> bytes:
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


def records(content_type: int, payload: bytes, size: int, version: int = 0x0303) -> bytes:
    """`payload` cut into records of at most `size` bytes."""
    return b"".join(
        record(content_type, payload[i : i + size], version) for i in range(0, len(payload), size)
    )


def sslv2_client_hello(specs: Sequence[int], version: int = 0x0301) -> bytes:
    """An SSLv2-compatible CLIENT-HELLO record with 3-byte cipher specs."""
    cipher_specs = b"".join(s.to_bytes(3, "big") for s in specs)
    challenge = bytes(range(16))
    body = struct.pack(">BHHHH", 1, version, len(cipher_specs), 0, len(challenge))
    body += cipher_specs + challenge
    return struct.pack(">H", 0x8000 | len(body)) + body


# ---- real handshakes in memory ---------------------------------------------------------


@dataclass
class Flights:
    """The bytes each side wrote, in the order written: [("client"|"server", bytes), ...]."""

    chunks: list[tuple[str, bytes]]

    def stream(self, side: str) -> bytes:
        return b"".join(b for s, b in self.chunks if s == side)


def memory_handshake(
    pki: Pki,
    *,
    version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    ciphers: str | None = None,
    trust: str | None = None,
    client_cert: bool = False,
    request: bytes = b"GET / HTTP/1.0\r\n\r\n",
) -> Flights:
    """A real OpenSSL (Python ssl) client and server talking through MemoryBIOs."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(pki.leaf, pki.leaf_key)
    sctx.minimum_version = sctx.maximum_version = version
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(trust or str(pki.ca))
    cctx.minimum_version = cctx.maximum_version = version
    if ciphers:
        sctx.set_ciphers(ciphers)
        cctx.set_ciphers(ciphers)
    if client_cert:
        sctx.verify_mode = ssl.CERT_REQUIRED
        sctx.load_verify_locations(str(pki.ca))
        cctx.load_cert_chain(pki.client, pki.client_key)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = cctx.wrap_bio(bios[0], bios[1], server_hostname=SERVER_NAME)
    s = sctx.wrap_bio(bios[2], bios[3], server_side=True)
    chunks: list[tuple[str, bytes]] = []

    def pump() -> None:
        for side, out, into in (("client", bios[1], bios[2]), ("server", bios[3], bios[0])):
            data = out.read()
            if data:
                chunks.append((side, data))
                into.write(data)

    def step(obj, fn) -> bool:
        try:
            fn()
            return True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except ssl.SSLError:
            obj.failed = True
            return True

    done_c = done_s = False
    for _ in range(20):
        done_c = done_c or step(c, c.do_handshake)
        pump()
        done_s = done_s or step(s, s.do_handshake)
        pump()
        if done_c and done_s:
            break
    if not getattr(c, "failed", False) and not getattr(s, "failed", False):
        c.write(request)
        pump()
        for _ in range(3):
            try:
                s.read(65536)
                break
            except ssl.SSLWantReadError:
                pump()
        s.write(b"HTTP/1.0 200 OK\r\n\r\nhello")
        pump()
        try:
            c.read(65536)
        except ssl.SSLError:
            pass
        for obj in (c, s):
            try:
                obj.unwrap()
            except ssl.SSLError:
                pass
            pump()
    return Flights(chunks)
