"""NSS key log files (SSLKEYLOGFILE): parse lines into secrets by client random.

The format (one secret a line, `LABEL <client_random hex> <secret hex>`, `#` comments)
is written by curl/NSS/OpenSSL (`SSLKEYLOGFILE`, `openssl s_client -keylogfile`), by the
harness's HTTPS endpoints, and is embedded in pcapng Decryption Secrets Blocks.
Labels kept: `CLIENT_RANDOM` (TLS <= 1.2 master secret), and for TLS 1.3
`CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
`CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`. Bad lines become problems
(line number and why), never exceptions. Pure: the caller reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = frozenset(
    {
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    }
)
IGNORED_LABELS = frozenset(
    {"EXPORTER_SECRET", "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "RSA"}
)
MAX_PROBLEMS = 20


@dataclass
class KeyLog:
    """Secrets by client random: `secrets[client_random][label] = secret`."""

    secrets: dict[bytes, dict[str, bytes]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: int = 0

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def get(self, client_random: bytes) -> dict[str, bytes]:
        return self.secrets.get(bytes(client_random), {})

    def add_text(self, text: str, where: str = "key log") -> None:
        """Add every line of an NSS key log text; problems name `where` and the line."""
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            self.lines += 1
            why = self._line(line)
            if why and len(self.problems) < MAX_PROBLEMS:
                self.problems.append(f"{where} line {number}: {why}")

    def _line(self, line: str) -> str | None:
        parts = line.split()
        if len(parts) != 3:
            return f"expected LABEL CLIENT_RANDOM SECRET, got {len(parts)} fields"
        label, random_hex, secret_hex = parts
        if label in IGNORED_LABELS:
            return None
        if label not in LABELS:
            return f"unknown label {label[:40]!r}"
        try:
            random, secret = bytes.fromhex(random_hex), bytes.fromhex(secret_hex)
        except ValueError:
            return "client random or secret is not hex"
        if len(random) != 32:
            return f"client random is {len(random)} bytes, not 32"
        if label == "CLIENT_RANDOM" and len(secret) != 48:
            return f"master secret is {len(secret)} bytes, not 48"
        if not 16 <= len(secret) <= 64:
            return f"secret is {len(secret)} bytes"
        self.secrets.setdefault(random, {})[label] = secret
        return None


def parse_keylog(text: str, where: str = "key log") -> KeyLog:
    """A `KeyLog` from the text of an NSS key log file."""
    log = KeyLog()
    log.add_text(text, where)
    return log
