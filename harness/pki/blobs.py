"""PEM blobs: bytes you can hand to a library or write to a file (trustme style).

`Blob` holds PEM text; `PrivateKeyBlob` is the same but always writes its file
with mode 0600. `private_file` makes a secret file (a TLS key log) 0600 before
anyone writes to it; `make_dirs` creates directories 0755 at most whatever the
umask. No certificate building here.
"""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    """The process umask, read without changing it (Linux /proc), else the usual 022."""
    try:
        with open("/proc/self/status") as fp:
            for line in fp:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """`mkdir -p` whose new directories are 0755 at most (a umask of 000 would give 0777)."""
    p = Path(path)
    missing = []
    for d in (p, *p.parents):
        if d.exists():
            break
        missing.append(d)
    mode = 0o755 & ~_umask()
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        os.chmod(d, mode)
    return p


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create `path` if missing and make it 0600 (for secrets others append to: key logs)."""
    p = Path(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return p


class Blob:
    """PEM data, as bytes or written to a file."""

    mode = 0o644

    def __init__(self, data: bytes) -> None:
        self._data = data

    def bytes(self) -> bytes:
        return self._data

    def text(self) -> str:
        return self._data.decode("ascii")

    def write_to_path(self, path: str | os.PathLike[str], append: bool = False) -> Path:
        """Write (or append) the PEM data to `path`; returns the path."""
        p = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        fd = os.open(p, flags, self.mode)
        try:
            os.fchmod(fd, self.mode)
            os.write(fd, self._data)
        finally:
            os.close(fd)
        return p

    def __add__(self, other: Blob) -> Blob:
        cls = PrivateKeyBlob if isinstance(self, PrivateKeyBlob) else Blob
        return cls(self._data + other._data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._data)} bytes>"


class PrivateKeyBlob(Blob):
    """A PEM private key; files are written mode 0600."""

    mode = 0o600
