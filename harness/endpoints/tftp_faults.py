"""Scriptable TFTP faults: what the server should do wrong, per filename or for all.

`FaultScript` is plain data with a chainable builder API:

    server.fault("/CP-8831-3PCC.cfg").drop_block(2).duplicate_block(3)
    server.fault().same_port()          # every file
    server.fault("/x.cfg").error(1, "nope")

Block numbers are 1-based absolute block indexes of the transfer (not the
16-bit wire number). Faults apply to every transfer of the file until cleared.
No I/O here: the server asks the script what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self


def fault_key(filename: str | None) -> str:
    """The key a fault is stored under: the name without leading slashes ('*' = all)."""
    if filename is None or filename == "*":
        return "*"
    return filename.lstrip("/")


@dataclass
class FaultScript:
    """The faults scripted for one filename (or '*' for every file)."""

    filename: str = "*"
    drops: dict[int, bool] = field(default_factory=dict)  # block -> always?
    delays: dict[int, float] = field(default_factory=dict)  # block -> seconds
    duplicates: set[int] = field(default_factory=set)
    from_listening_port: bool = False
    error_reply: tuple[int, str] | None = None
    stall_block: int | None = None

    # -- builder ---------------------------------------------------------------------
    def drop_block(self, block: int, *, always: bool = False) -> Self:
        """Do not send block N the first time (always=True: never send it)."""
        self.drops[_block(block)] = always
        return self

    def delay_block(self, block: int, seconds: float) -> Self:
        """Wait `seconds` before the first transmission of block N."""
        if seconds < 0:
            raise ValueError(f"delay_block({block}, {seconds}): the delay must be >= 0")
        self.delays[_block(block)] = float(seconds)
        return self

    def duplicate_block(self, block: int) -> Self:
        """Send block N twice in a row (its first transmission)."""
        self.duplicates.add(_block(block))
        return self

    def same_port(self) -> Self:
        """Answer from the listening port instead of a new TID."""
        self.from_listening_port = True
        return self

    def error(self, code: int, message: str = "") -> Self:
        """Answer the request with ERROR `code` instead of the file."""
        if not 0 <= code <= 0xFFFF:
            raise ValueError(f"error({code}): TFTP error codes are 16-bit")
        self.error_reply = (int(code), message)
        return self

    def stall_after(self, block: int) -> Self:
        """Send blocks 1..N, then fall silent (0: send nothing after the OACK/request)."""
        if block < 0:
            raise ValueError(f"stall_after({block}): the block must be >= 0")
        self.stall_block = block
        return self

    # -- queries (used by the server) ---------------------------------------------------
    def drops_block(self, block: int, first: bool) -> bool:
        if block not in self.drops:
            return False
        return self.drops[block] or first

    def merged(self, other: FaultScript | None) -> FaultScript:
        """This script with `other`'s entries added (other wins on conflicts)."""
        if other is None:
            return self
        return FaultScript(
            filename=other.filename,
            drops={**self.drops, **other.drops},
            delays={**self.delays, **other.delays},
            duplicates=self.duplicates | other.duplicates,
            from_listening_port=self.from_listening_port or other.from_listening_port,
            error_reply=other.error_reply or self.error_reply,
            stall_block=other.stall_block if other.stall_block is not None else self.stall_block,
        )


NO_FAULTS = FaultScript()


def _block(block: int) -> int:
    if block < 1:
        raise ValueError(f"block {block}: blocks are numbered from 1")
    return int(block)
