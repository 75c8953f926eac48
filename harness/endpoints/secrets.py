"""Files an endpoint must never hand out: private keys and TLS key logs, by their content.

`secret_kind(data)` says what secret a file holds (None: nothing recognised). The
HTTP/HTTPS and TFTP endpoints ask it before serving a file from their root, so a
key can never leave the lab whatever the directory layout (a `--pki-dir` inside
`--root`, a key copied next to the profiles). Recognised: PEM private keys of any
kind (PKCS#1, PKCS#8, EC, encrypted, OpenSSH) and NSS key log files
(SSLKEYLOGFILE). A DER-encoded key is not recognised. No I/O here.
"""

from __future__ import annotations

# The NSS key log labels (the first word of each line), TLS 1.2 and 1.3.
KEYLOG_LABELS = (
    b"CLIENT_RANDOM",
    b"RSA",
    b"CLIENT_EARLY_TRAFFIC_SECRET",
    b"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    b"SERVER_HANDSHAKE_TRAFFIC_SECRET",
    b"CLIENT_TRAFFIC_SECRET_0",
    b"SERVER_TRAFFIC_SECRET_0",
    b"EARLY_EXPORTER_SECRET",
    b"EXPORTER_SECRET",
)


def secret_kind(data: bytes) -> str | None:
    """'a private key' or 'a TLS key log' when `data` holds one, else None."""
    if b"PRIVATE KEY-----" in data:
        return "a private key"
    for line in data[:4096].splitlines():
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        word = line.split(maxsplit=1)[0]
        return "a TLS key log" if word in KEYLOG_LABELS else None
    return None


__all__ = ["KEYLOG_LABELS", "secret_kind"]
