"""PEM blobs: bytes you can hand to a library or write to a file (trustme style).

`Blob` holds PEM text; `PrivateKeyBlob` is the same but always writes its file
with mode 0600. No certificate building here.
"""

from __future__ import annotations

import os
from pathlib import Path


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
