"""TLS record decryption with a key log: records in, plaintext out (sans-I/O).

`TlsDecryptor(keylog)` is fed one connection's raw TCP payload both ways
(`feed_client`, `feed_server`, any split, capture order) and returns the
plaintext it could recover as `Plaintext(sender, content_type, data)`. It reads
the cleartext ClientHello/ServerHello itself (client random, version, suite,
encrypt_then_mac), takes the secrets for that client random from a
`harness.tls.keylog.KeyLog` and derives the record keys:

* TLS 1.0-1.2 (`CLIENT_RANDOM`): key block by the version's PRF (TLS 1.0/1.1:
  P_MD5 xor P_SHA1; TLS 1.2: P_SHA256, or P_SHA384 for SHA-384 suites); AES-CBC with
  HMAC-SHA1/SHA256/SHA384 (implicit IV chaining in TLS 1.0, explicit IVs after;
  MAC-then-encrypt or encrypt_then_mac), RC4 with SHA1/MD5, AES-GCM,
  ChaCha20-Poly1305. The kex (RSA, DHE, ECDHE) does not matter once the master secret
  is known. Record MACs and AEAD tags are checked: a wrong key says so.
* TLS 1.3 (`*_HANDSHAKE_TRAFFIC_SECRET`, `*_TRAFFIC_SECRET_0`): HKDF-Expand-Label key
  and IV, AES-GCM or ChaCha20-Poly1305; the encrypted handshake (the server's
  Certificate) is reassembled into `server_certificate_ders`; keys change at each
  side's Finished. KeyUpdate and 0-RTT are not followed (said in `problems`).

Every primitive is the `cryptography` package's (ARC4 from its decrepit module).
A failure (no key for the connection, an unknown suite, a record that does not
decrypt) becomes one line in `problems` and stops that direction; nothing raises.
No sockets, no clock, no spec knowledge here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from harness.tls.handshake import parse_client_hello_body, parse_server_hello_body
from harness.tls.keylog import KeyLog
from harness.tls.records import HandshakeReassembler
from harness.tls.tables import (
    ALERT,
    APPLICATION_DATA,
    CERTIFICATE,
    CERTIFICATE_REQUEST,
    CHANGE_CIPHER_SPEC,
    CLIENT_HELLO,
    EXT_ENCRYPT_THEN_MAC,
    FINISHED,
    HANDSHAKE,
    MAX_RECORD_LENGTH,
    RECORD_CIPHERS,
    SERVER_HELLO,
)

TLS13 = 0x0304
_HASHES = {"md5": hashes.MD5, "sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384}
_SEQ = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Plaintext:
    """One decrypted record: who sent it, its (inner) content type, its plaintext."""

    sender: str
    content_type: int
    data: bytes


# -- key derivation ---------------------------------------------------------------------------
def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, _HASHES[name]())
    h.update(data)
    return h.finalize()


def _p_hash(name: str, secret: bytes, seed: bytes, size: int) -> bytes:
    out, a = b"", seed
    while len(out) < size:
        a = _hmac(name, secret, a)
        out += _hmac(name, secret, a + seed)
    return out[:size]


def prf(version: int, prf_hash: str, secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    """The TLS PRF: TLS 1.2's P_<hash>, or TLS 1.0/1.1's P_MD5 xor P_SHA1."""
    if version >= 0x0303:
        return _p_hash(prf_hash, secret, label + seed, size)
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, size)
    sha = _p_hash("sha1", secret[len(secret) - half :], label + seed, size)
    return bytes(x ^ y for x, y in zip(md5, sha, strict=True))


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: str, context: bytes, size: int
) -> bytes:
    """TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1)."""
    full = b"tls13 " + label.encode()
    info = struct.pack(">HB", size, len(full)) + full + bytes([len(context)]) + context
    return HKDFExpand(_HASHES[hash_name](), size, info).derive(secret)


# -- one direction's record protection ----------------------------------------------------------
class _Protection:
    """Keys and state of one direction in one epoch; `open(type, version, fragment)`."""

    def __init__(
        self,
        kind: str,
        key: bytes,
        iv: bytes,
        mac: str,
        *,
        version: int,
        etm: bool = False,
        mac_key: bytes = b"",
    ) -> None:
        self.kind, self.key, self.iv, self.version, self.etm = kind, key, iv, version, etm
        self.mac, self.mac_key = mac, mac_key
        self.mac_len = _HASHES[mac].digest_size if mac else 0
        self.seq = 0
        self.stream: Any = None
        if kind == "rc4":
            from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4

            self.stream = Cipher(ARC4(key), mode=None).decryptor()
        elif kind == "gcm":
            self.aead: Any = AESGCM(key)
        elif kind == "chacha":
            self.aead = ChaCha20Poly1305(key)

    def _nonce_xor(self) -> bytes:
        pad = bytes(len(self.iv) - 8) + _SEQ.pack(self.seq)
        return bytes(a ^ b for a, b in zip(self.iv, pad, strict=True))

    def open(self, ctype: int, version: int, fragment: bytes) -> tuple[int, bytes]:
        """(content type, plaintext) of one record; raises ValueError when it does not open."""
        try:
            if self.version == TLS13:
                return self._open13(ctype, version, fragment)
            return ctype, self._open12(ctype, version, fragment)
        finally:
            self.seq += 1

    def _open13(self, ctype: int, version: int, fragment: bytes) -> tuple[int, bytes]:
        aad = struct.pack(">BHH", ctype, version, len(fragment))
        try:
            inner = self.aead.decrypt(self._nonce_xor(), fragment, aad)
        except Exception as e:
            raise ValueError(f"AEAD tag check failed ({type(e).__name__})") from e
        end = len(inner)
        while end and inner[end - 1] == 0:
            end -= 1
        if not end:
            raise ValueError("TLS 1.3 record has no inner content type")
        return inner[end - 1], inner[: end - 1]

    def _check_mac(self, ctype: int, version: int, data: bytes, mac: bytes) -> None:
        """The record MAC (RFC 5246 6.2.3.1; over the ciphertext with encrypt_then_mac)."""
        head = _SEQ.pack(self.seq) + struct.pack(">BHH", ctype, version, len(data))
        if len(mac) != self.mac_len or _hmac(self.mac, self.mac_key, head + data) != mac:
            raise ValueError("record MAC check failed (wrong key?)")

    def _open12(self, ctype: int, version: int, fragment: bytes) -> bytes:
        if self.kind == "rc4":
            plain = self.stream.update(fragment)
            cut = len(plain) - self.mac_len
            self._check_mac(ctype, version, plain[:cut], plain[cut:])
            return plain[:cut]
        if self.kind in ("gcm", "chacha"):
            if self.kind == "gcm":
                nonce, body = self.iv[:4] + fragment[:8], fragment[8:]
            else:
                nonce, body = self._nonce_xor(), fragment
            if len(body) < 16:
                raise ValueError(f"AEAD record of {len(fragment)} bytes is too short")
            aad = _SEQ.pack(self.seq) + struct.pack(">BHH", ctype, version, len(body) - 16)
            try:
                return self.aead.decrypt(nonce, body, aad)
            except Exception as e:
                raise ValueError(f"AEAD tag check failed ({type(e).__name__})") from e
        # AES-CBC
        if self.etm:
            cut = len(fragment) - self.mac_len
            self._check_mac(ctype, version, fragment[:cut], fragment[cut:])
            fragment = fragment[:cut]
        if self.version >= 0x0302:
            iv, body = fragment[:16], fragment[16:]
        else:
            iv, body = self.iv, fragment
        if not body or len(body) % 16:
            raise ValueError(f"CBC record body of {len(body)} bytes is not whole blocks")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
        plain = dec.update(body) + dec.finalize()
        if self.version < 0x0302:
            self.iv = body[-16:]
        pad = plain[-1] + 1
        if pad > len(plain):
            raise ValueError("CBC padding longer than the record (wrong key?)")
        plain = plain[:-pad]
        if self.etm:
            return plain
        cut = len(plain) - self.mac_len
        if cut < 0:
            raise ValueError("CBC record shorter than its MAC (wrong key?)")
        self._check_mac(ctype, version, plain[:cut], plain[cut:])
        return plain[:cut]


@dataclass
class _Side:
    sender: str
    buf: bytearray = field(default_factory=bytearray)
    clear_hs: HandshakeReassembler = field(default_factory=HandshakeReassembler)
    secret_hs: HandshakeReassembler = field(default_factory=HandshakeReassembler)
    current: _Protection | None = None  # protecting this side's records now
    pending: _Protection | None = None  # TLS <= 1.2: active after ChangeCipherSpec
    application: _Protection | None = None  # TLS 1.3: active after this side's Finished
    ccs: bool = False
    stopped: bool = False


class TlsDecryptor:
    """One connection's decryption (see the module docstring)."""

    def __init__(self, keylog: KeyLog) -> None:
        self.keylog = keylog
        self.client = _Side("client")
        self.server = _Side("server")
        self.client_random: bytes | None = None
        self.version: int | None = None
        self.suite: int | None = None
        self.keys_found = False
        self.problems: list[str] = []
        self.server_certificate_ders: list[bytes] = []
        self.client_certificate_ders: list[bytes] = []
        self.certificate_request = False
        self.decrypted_records = 0

    # -- feeding -------------------------------------------------------------------------------
    def feed_client(self, data: bytes) -> list[Plaintext]:
        return self._feed(self.client, data)

    def feed_server(self, data: bytes) -> list[Plaintext]:
        return self._feed(self.server, data)

    def _problem(self, side: _Side, why: str) -> None:
        side.stopped = True
        side.buf.clear()
        self.problems.append(f"{side.sender}: {why}")

    def _feed(self, side: _Side, data: bytes) -> list[Plaintext]:
        if side.stopped:
            return []
        side.buf += data
        out: list[Plaintext] = []
        buf = side.buf
        pos = 0
        while len(buf) - pos >= 5 and not side.stopped:
            ctype, version, length = struct.unpack_from(">BHH", buf, pos)
            if length > MAX_RECORD_LENGTH or version >> 8 != 3:
                self._problem(side, "record stream lost sync; decryption stops")
                return out
            if len(buf) - pos - 5 < length:
                break
            fragment = bytes(buf[pos + 5 : pos + 5 + length])
            pos += 5 + length
            try:
                self._record(side, ctype, version, fragment, out)
            except Exception as e:  # a bug here must not take the analyzer down
                self._problem(side, f"internal error: {type(e).__name__}: {e}")
        if not side.stopped:
            del buf[:pos]
        return out

    # -- records -------------------------------------------------------------------------------
    def _record(self, side: _Side, ctype: int, version: int, frag: bytes, out: list) -> None:
        if ctype == CHANGE_CIPHER_SPEC:
            if self.version != TLS13:
                side.ccs = True
                if side.pending is not None:
                    side.current, side.pending = side.pending, None
            return
        prot = side.current
        if prot is None:
            if side.ccs or (self.version == TLS13 and ctype == APPLICATION_DATA):
                if not self.keys_found:
                    self._problem(side, self._missing_why())
            elif ctype == HANDSHAKE:
                for msg in side.clear_hs.add(frag, 0):
                    self._clear_message(side, msg.msg_type, msg.body)
            return
        try:
            inner_type, plain = prot.open(ctype, version, frag)
        except ValueError as e:
            if (
                self.version == TLS13
                and side.application is not None
                and prot is not side.application
            ):
                try:  # a Finished we could not see: try the application keys
                    side.current = side.application
                    inner_type, plain = side.current.open(ctype, version, frag)
                except ValueError:
                    self._problem(side, f"record does not decrypt: {e}")
                    return
            else:
                self._problem(side, f"record does not decrypt: {e}")
                return
        self.decrypted_records += 1
        if inner_type == HANDSHAKE:
            if self.version == TLS13:
                for msg in side.secret_hs.add(plain, 0):
                    self._secret_message(side, msg.msg_type, msg.body)
            return
        if inner_type in (APPLICATION_DATA, ALERT):
            out.append(Plaintext(side.sender, inner_type, plain))

    def _missing_why(self) -> str:
        rnd = self.client_random.hex() if self.client_random else "unknown"
        want = "TLS 1.3 traffic secrets" if self.version == TLS13 else "CLIENT_RANDOM"
        return f"no {want} in the key log for client random {rnd}"

    def _clear_message(self, side: _Side, msg_type: int, body: bytes) -> None:
        if side is self.client and msg_type == CLIENT_HELLO:
            self.client_random = parse_client_hello_body(body).random
        elif side is self.server and msg_type == SERVER_HELLO:
            hello = parse_server_hello_body(body)
            if hello.is_hello_retry_request:
                return
            self.version, self.suite = hello.negotiated_version, hello.cipher_suite
            self._keys(hello.random, EXT_ENCRYPT_THEN_MAC in hello.extensions)
        elif side is self.server and msg_type == CERTIFICATE:
            self.server_certificate_ders = _certificate_ders(body, tls13=False)
        elif side is self.server and msg_type == CERTIFICATE_REQUEST:
            self.certificate_request = True

    def _secret_message(self, side: _Side, msg_type: int, body: bytes) -> None:
        if msg_type == CERTIFICATE:
            ders = _certificate_ders(body, tls13=True)
            if side is self.server:
                self.server_certificate_ders = ders
            else:
                self.client_certificate_ders = ders
        elif msg_type == CERTIFICATE_REQUEST and side is self.server:
            self.certificate_request = True
        elif msg_type == FINISHED and side.application is not None:
            side.current = side.application
        elif msg_type == 24:  # key_update
            self.problems.append(
                f"{side.sender}: KeyUpdate is not followed; later records stay opaque"
            )

    # -- keys ----------------------------------------------------------------------------------
    def _keys(self, server_random: bytes, etm: bool) -> None:
        cipher = RECORD_CIPHERS.get(self.suite or -1)
        name = f"0x{self.suite:04x}" if self.suite is not None else "none"
        if self.client_random is None:
            self.problems.append("no ClientHello seen: cannot find the connection's keys")
            return
        if cipher is None:
            self.problems.append(f"cipher suite {name}: its records cannot be decrypted here")
            return
        secrets = self.keylog.get(self.client_random)
        kind, key_len, mac, prf_hash = cipher
        if self.version == TLS13:
            self._keys13(secrets, kind, key_len, prf_hash)
            return
        if self.version is None or self.version < 0x0301:
            self.problems.append("SSL 3.0 records are not decrypted")
            return
        master = secrets.get("CLIENT_RANDOM")
        if master is None:
            return  # said when the first encrypted record comes
        mac_len = _HASHES[mac].digest_size if mac else 0
        iv_len = {"cbc": 16 if self.version < 0x0302 else 0, "gcm": 4, "chacha": 12}.get(kind, 0)
        size = 2 * (mac_len + key_len + iv_len)
        block = prf(
            self.version,
            prf_hash,
            master,
            b"key expansion",
            server_random + self.client_random,
            size,
        )
        cut = [mac_len, mac_len, key_len, key_len, iv_len, iv_len]
        parts, at = [], 0
        for n in cut:
            parts.append(block[at : at + n])
            at += n
        cmac, smac, ckey, skey, civ, siv = parts
        common = {"version": self.version, "etm": etm and kind == "cbc"}
        self.client.pending = _Protection(kind, ckey, civ, mac, mac_key=cmac, **common)
        self.server.pending = _Protection(kind, skey, siv, mac, mac_key=smac, **common)
        self.keys_found = True

    def _keys13(self, secrets: dict[str, bytes], kind: str, key_len: int, h: str) -> None:
        def prot(label: str) -> _Protection | None:
            secret = secrets.get(label)
            if secret is None:
                return None
            key = hkdf_expand_label(h, secret, "key", b"", key_len)
            iv = hkdf_expand_label(h, secret, "iv", b"", 12)
            return _Protection(kind, key, iv, "", version=TLS13)

        self.client.current = prot("CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        self.server.current = prot("SERVER_HANDSHAKE_TRAFFIC_SECRET")
        self.client.application = prot("CLIENT_TRAFFIC_SECRET_0")
        self.server.application = prot("SERVER_TRAFFIC_SECRET_0")
        for side in (self.client, self.server):
            if side.current is None:
                side.current = side.application
        self.keys_found = self.client.current is not None or self.server.current is not None


def _certificate_ders(body: bytes, *, tls13: bool) -> list[bytes]:
    """The DER certificates of a Certificate message (TLS 1.3: skipping context and extensions)."""
    pos = 0
    if not body:
        return []
    if tls13:
        pos = 1 + body[0]
    end = pos + 3 + int.from_bytes(body[pos : pos + 3], "big")
    pos += 3
    out = []
    while pos + 3 <= min(end, len(body)):
        n = int.from_bytes(body[pos : pos + 3], "big")
        out.append(bytes(body[pos + 3 : pos + 3 + n]))
        pos += 3 + n
        if tls13:
            pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
    return out
