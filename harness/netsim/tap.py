"""A capture point inside a namespace: harness.capture.live.LiveCapture with netsim's defaults.

`Capture(ns, iface, path, bpf=, tool=)` keeps the netsim's call shape and
defaults (tcpdump, classic pcap, when installed; else dumpcap) and reports
failures as NetsimError. Readiness and flushing are LiveCapture's: probe
frames prove the tool captures before `start()` returns and that everything
sent before `stop()` is in the file (no fixed sleeps). Only the adaptation
lives here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.capture.live import CaptureError, LiveCapture
from harness.netsim.system import NetsimError


def default_tool() -> str:
    """tcpdump (pcap) when installed, else dumpcap (pcapng), as the netsim always did."""
    return "tcpdump" if shutil.which("tcpdump") else "dumpcap"


class Capture(LiveCapture):
    """A LiveCapture on `iface` inside namespace `ns`; errors are NetsimError."""

    def __init__(
        self,
        ns: str,
        iface: str,
        path: str | Path,
        *,
        bpf: str | None = None,
        tool: str | None = None,
    ) -> None:
        try:
            super().__init__(iface, bpf, path, tool=tool or default_tool(), netns=ns)
        except (CaptureError, ValueError) as exc:
            raise NetsimError(f"capture on {ns}:{iface}: {exc}") from exc
        self.ns, self.iface = ns, iface

    def start(self, timeout: float = 10.0) -> Capture:
        try:
            super().start(timeout)
        except CaptureError as exc:
            raise NetsimError(f"capture on {self.ns}:{self.iface} did not start: {exc}") from exc
        return self

    def stop(self, timeout: float = 10.0) -> Path:
        """Stop the capture and return the file's path (also when it never started)."""
        if self.proc is None:
            return self.path
        try:
            return super().stop(timeout)
        except CaptureError as exc:
            raise NetsimError(f"capture on {self.ns}:{self.iface}: {exc}") from exc

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            self.stop()
        except NetsimError:
            if exc[0] is None:
                raise
