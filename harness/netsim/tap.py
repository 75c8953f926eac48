"""A capture point: tcpdump (pcap) or dumpcap (pcapng) running inside a namespace.

`Capture.start()` waits until the tool says it is listening, so no packet sent
after it returns is missed; `stop()` sends SIGINT and waits for the file to be
flushed. tcpdump is the default: it prints "listening on" only once its socket
is bound, and runs in --immediate-mode; dumpcap prints "Capturing on" a moment
before it really captures and hands packets over in blocks, so it gets a
settle delay at start and a flush delay at stop. Only the capture process's life cycle lives here (reading pcaps is
harness/capture and harness/analyze's job).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from harness.netsim.system import NetsimError, in_ns

READY_MARKERS = ("Capturing on", "listening on")
DUMPCAP_SETTLE_S = 0.5
DUMPCAP_FLUSH_S = 1.2  # libpcap's ring blocks are handed over after up to 1 s


class Capture:
    def __init__(
        self,
        ns: str,
        iface: str,
        path: str | Path,
        *,
        bpf: str | None = None,
        tool: str | None = None,
    ) -> None:
        self.ns, self.iface, self.path = ns, iface, Path(path)
        self.bpf = bpf
        self.proc: subprocess.Popen[str] | None = None
        self.tool = tool or ("tcpdump" if shutil.which("tcpdump") else "dumpcap")
        self._stderr: list[str] = []

    def _argv(self) -> list[str]:
        if self.tool == "dumpcap":
            argv = ["dumpcap", "-i", self.iface, "-w", str(self.path)]
        else:
            argv = [
                "tcpdump",
                "-i",
                self.iface,
                "-n",
                "-U",
                "--immediate-mode",
                "-Z",
                "root",
                "-w",
                str(self.path),
            ]
        if self.bpf:
            argv += ["-f", self.bpf] if self.tool == "dumpcap" else [self.bpf]
        return argv

    def start(self, timeout: float = 10.0) -> Capture:
        if shutil.which(self.tool) is None:
            raise NetsimError("capture needs dumpcap or tcpdump; neither is installed")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            in_ns(self.ns, self._argv()),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self._stderr.append(line)
                if any(m in line for m in READY_MARKERS):
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True, name=f"capture-{self.iface}").start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            raise NetsimError(
                f"{self.tool} on {self.ns}:{self.iface} did not start: {''.join(self._stderr)}"
            )
        if self.tool == "dumpcap":
            time.sleep(DUMPCAP_SETTLE_S)
        return self

    def stop(self, timeout: float = 10.0) -> Path:
        """Stop the capture and return the file's path."""
        if self.proc is not None and self.proc.poll() is None:
            if self.tool == "dumpcap":
                time.sleep(DUMPCAP_FLUSH_S)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
