"""Test helpers for real TLS traffic: a small PKI made with `cryptography`, an OpenSSL
s_server/s_client pair on an ephemeral loopback port, a tcpdump capture around them,
and a pcap -> per-direction TCP payload reader (scapy). Test-only; nothing here ships.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from harness.tls import TlsConversation
from tests.tshark_oracle import tshark_fields as oracle_fields

SERVER_NAME = "pv.example.test"


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    leaf: Path
    leaf_key: Path
    client: Path
    client_key: Path


def _name(**attrs: str) -> x509.Name:
    oids = {"CN": NameOID.COMMON_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "L": NameOID.LOCALITY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
            "O": NameOID.ORGANIZATION_NAME}  # fmt: skip
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


def _cert(subject, issuer, key, signer, *, ca: bool, san: tuple[str, ...] = ()):
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), False)
    return b.sign(signer, hashes.SHA256())


def _write(path: Path, cert=None, key=None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def make_pki(root: Path) -> Pki:
    """A CA, a server leaf (RSA, for RSA key-exchange suites), a client cert, another CA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(CN="Harness Test CA", O="harness")
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = _name(CN="Some Other CA")
    other = _cert(other_name, other_name, other_key, other_key, ca=True)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _cert(_name(CN=SERVER_NAME), ca_name, leaf_key, ca_key, ca=False,
                 san=(SERVER_NAME, "alt.example.test"))  # fmt: skip
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert(_name(CN="phone", OU="CP-8831-3PCC", L="FCH1234ABCD", ST="001122aabbcc"),
                   ca_name, client_key, ca_key, ca=False)  # fmt: skip
    return Pki(
        ca=_write(root / "ca.pem", ca),
        other_ca=_write(root / "other-ca.pem", other),
        leaf=_write(root / "leaf.pem", leaf),
        leaf_key=_write(root / "leaf.key", key=leaf_key),
        client=_write(root / "client.pem", client),
        client_key=_write(root / "client.key", key=client_key),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(stream, needle: bytes, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    seen = b""
    fd = stream.fileno()
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"{what}: no {needle!r} within {timeout}s (saw {seen!r})")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"{what} exited before {needle!r} (saw {seen!r})")
        seen += chunk


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def tcpdump(path: Path, port: int) -> Iterator[None]:
    """Capture `tcp port PORT` on lo into `path` while the block runs."""
    proc = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-n", "-w", str(path), f"tcp port {port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(proc.stderr, b"listening on", 10, "tcpdump")
        yield
        _wait_until_closed(path, port)
    finally:
        _stop(proc, signal.SIGINT)
        if proc.stderr:
            proc.stderr.close()


def _wait_until_closed(path: Path, port: int, timeout: float = 3.0) -> None:
    """Until both FINs (or a RST) of the connection are in the capture file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        segs = tcp_segments(path, port) if path.exists() and path.stat().st_size > 24 else []
        fins = {d for d, _p, flags in segs if flags & 0x01}
        if len(fins) == 2 or any(flags & 0x04 for _d, _p, flags in segs):
            return
        time.sleep(0.05)


def tcp_segments(path: Path, port: int) -> list[tuple[str, bytes, int]]:
    """(direction, payload, tcp flags) in capture order; retransmitted bytes dropped."""
    from scapy.layers.inet import TCP
    from scapy.utils import rdpcap

    out = []
    next_seq: dict[str, int] = {}
    for pkt in rdpcap(str(path)):
        if TCP not in pkt:
            continue
        tcp = pkt[TCP]
        direction = "server" if tcp.sport == port else "client"
        payload = bytes(tcp.payload)
        flags = int(tcp.flags)
        if flags & 0x02:  # SYN
            next_seq[direction] = tcp.seq + 1
        expected = next_seq.get(direction, tcp.seq)
        if payload and tcp.seq < expected:
            payload = payload[expected - tcp.seq :]
        if payload:
            next_seq[direction] = tcp.seq + len(bytes(tcp.payload))
        out.append((direction, payload, flags))
    return out


def conversation_from_pcap(path: Path, port: int) -> TlsConversation:
    """Feed a capture's TCP payloads to a TlsConversation in capture order."""
    conv = TlsConversation()
    for direction, payload, _flags in tcp_segments(path, port):
        if payload:
            (conv.feed_client if direction == "client" else conv.feed_server)(payload)
    return conv


def streams_from_pcap(path: Path, port: int) -> tuple[bytes, bytes]:
    """The whole client->server and server->client byte streams."""
    c, s = bytearray(), bytearray()
    for direction, payload, _flags in tcp_segments(path, port):
        (c if direction == "client" else s).extend(payload)
    return bytes(c), bytes(s)


@dataclass
class Run:
    pcap: Path
    port: int
    client_rc: int
    client_output: str


def openssl_session(
    tmp: Path,
    pki: Pki,
    *,
    client_args: list[str],
    server_args: list[str] = (),
    send: bytes = b"GET / HTTP/1.0\r\n\r\n",
) -> Run:
    """One s_server (-www, one connection) and one s_client, captured by tcpdump."""
    port = free_port()
    pcap = tmp / f"tls-{port}.pcap"
    server_cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "1",
                  "-www", "-cert", str(pki.leaf), "-key", str(pki.leaf_key),
                  "-cert_chain", str(pki.ca), *server_args]  # fmt: skip
    client_cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                  "-servername", SERVER_NAME, "-ign_eof", *client_args]  # fmt: skip
    with tcpdump(pcap, port):
        server = subprocess.Popen(
            server_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            _wait_for(server.stdout, b"ACCEPT", 10, "openssl s_server")
            client = subprocess.run(
                client_cmd, input=send, capture_output=True, timeout=20, check=False
            )
        finally:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            _stop(server)
            for f in (server.stdin, server.stdout):
                if f:
                    f.close()
    output = (client.stdout + client.stderr).decode("utf-8", "replace")
    return Run(pcap, port, client.returncode, output)


def tshark_fields(pcap: Path, port: int, display_filter: str, *fields: str) -> list[list[str]]:
    """tshark's dissection (through pyshark): one row per matching frame, one string per field."""
    return oracle_fields(pcap, display_filter, fields, [f"tcp.port=={port},tls"])
