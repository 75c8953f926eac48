"""Live capture: a capture tool (dumpcap or tcpdump) as a subprocess, started and stopped safely.

`LiveCapture(interface="lo", bpf="port 8080 or port 69", path=..., tool="auto", netns=None)`:

- `start()` returns only once the tool really captures. Both tools print their
  "Capturing on" / "listening on" line a moment before packets flow (dumpcap
  hands packets over in blocks), so readiness is proven instead: the filter is
  widened with `or (ether proto 0x88b5)` (IEEE "local experimental" ethertype,
  which no IP stack answers) and a probe frame carrying a random token is sent
  on the interface (an AF_PACKET socket, made inside the namespace when there is
  one) until the token shows up in the file.
- `stop()` sends a stop token the same way and waits until it is in the file
  (so every packet sent before `stop()` has been written), then SIGINT, wait,
  and removes the probe frames from the file (so frame numbers are the test's
  own). If the tool died, `CaptureError` carries its stderr.

dumpcap writes pcapng; tcpdump writes classic pcap (`LiveCapture.format` says
which; `tool="auto"` prefers dumpcap). Interfaces that carry no Ethernet
header (tun, "any" is handled by probing on lo) fall back to the tool's ready
line plus a settle delay. Only the capture process's life cycle and the probe
frames live here: reading captures is harness.capture.reader's job.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from harness.capture.netns import NETNS_DIR, setns_net

PROBE_ETHERTYPE = 0x88B5
PROBE_SRC_MAC = bytes.fromhex("020000c0ffee")  # locally administered
PROBE_INTERVAL = 0.05  # seconds between probe frames while waiting
SETTLE_WITHOUT_PROBE = 1.2  # seconds: dumpcap's block timeout is 1 s
TOOLS = ("dumpcap", "tcpdump")
READY_MARKERS = ("Capturing on", "listening on")


class CaptureError(RuntimeError):
    """The capture tool could not start, died, or never saw the probe (message says why)."""


def pick_tool(tool: str = "auto") -> str:
    """The capture tool to use: "dumpcap", "tcpdump", or "auto" (dumpcap, else tcpdump)."""
    if tool not in (*TOOLS, "auto"):
        raise ValueError(f"capture tool {tool!r}: use one of {', '.join(TOOLS)} or 'auto'")
    wanted = TOOLS if tool == "auto" else (tool,)
    for name in wanted:
        if shutil.which(name):
            return name
    raise CaptureError(
        f"no capture tool: {' or '.join(wanted)} is not installed (apt: wireshark-common / tcpdump)"
    )


def probe_frame(token: bytes) -> bytes:
    """The broadcast probe frame carrying `token` (never IP: no stack answers it)."""
    return b"\xff" * 6 + PROBE_SRC_MAC + struct.pack("!H", PROBE_ETHERTYPE) + token


class LiveCapture:
    """One capture run on one interface (see the module docstring)."""

    def __init__(
        self,
        interface: str = "lo",
        bpf: str | None = None,
        path: str | os.PathLike[str] = "capture.pcapng",
        *,
        tool: str = "auto",
        netns: str | None = None,
        snaplen: int = 262144,
        probe: bool = True,
        strip_probes: bool = True,
    ) -> None:
        self.interface = interface
        self.bpf = bpf or None
        self.path = Path(path)
        self.tool = pick_tool(tool)
        self.netns = netns
        self.snaplen = snaplen
        self.probe = probe
        self.strip_probes = strip_probes
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_lines: list[str] = []
        self.probes_sent = 0
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._ready_line = threading.Event()
        self._stopped = False

    # -- description ----------------------------------------------------------------
    @property
    def format(self) -> str:
        """ "pcapng" (dumpcap) or "pcap" (tcpdump)."""
        return "pcapng" if self.tool == "dumpcap" else "pcap"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def filter_expression(self) -> str | None:
        """The BPF the tool gets: the user's, widened to let the probe frames through."""
        if not self.probe:
            return self.bpf
        probe = f"(ether proto {PROBE_ETHERTYPE:#06x})"
        return f"({self.bpf}) or {probe}" if self.bpf else None

    def argv(self) -> list[str]:
        bpf = self.filter_expression()
        if self.tool == "dumpcap":
            argv = ["dumpcap", "-q", "-i", self.interface, "-s", str(self.snaplen)]
            argv += ["-w", str(self.path)]
            if bpf:
                argv += ["-f", bpf]
        else:
            argv = ["tcpdump", "-i", self.interface, "-n", "-U", "--immediate-mode", "-Z", "root"]
            argv += ["-s", str(self.snaplen), "-w", str(self.path)]
            if bpf:
                argv.append(bpf)
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        return argv

    def _where(self) -> str:
        return f"{self.tool} on {self.netns + ':' if self.netns else ''}{self.interface}"

    def _stderr(self) -> str:
        text = "".join(self.stderr_lines).strip()
        return text or "(nothing on stderr)"

    # -- life cycle -------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> LiveCapture:
        """Start the tool; return once a probe frame is in the file. CaptureError otherwise."""
        if self.proc is not None:
            raise CaptureError(f"{self._where()}: start() called twice")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C on the test run does not hit it twice
        )
        self._reader = threading.Thread(target=self._drain, daemon=True, name="capture-stderr")
        self._reader.start()
        try:
            if self.probe:
                self._sock = self._probe_socket()
            if self._sock is not None:
                self._wait_token(secrets.token_bytes(12), timeout, "start")
            else:
                self._wait_ready_line(timeout)
                time.sleep(SETTLE_WITHOUT_PROBE)
        except BaseException:
            self._kill()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> Path:
        """Flush (stop token), SIGINT, wait, strip probes; the file's path. Idempotent."""
        proc = self.proc
        if proc is None:
            raise CaptureError(f"{self._where()}: stop() before start()")
        if self._stopped:
            return self.path
        self._stopped = True
        try:
            if proc.poll() is None:
                if self._sock is not None:
                    self._wait_token(secrets.token_bytes(12), timeout, "stop")
                else:
                    time.sleep(SETTLE_WITHOUT_PROBE)
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill()
                    raise CaptureError(
                        f"{self._where()} did not stop within {timeout} s of SIGINT; killed. "
                        f"stderr: {self._stderr()}"
                    ) from None
        finally:
            self._kill()
            if self._reader is not None:
                self._reader.join(2)
        if proc.returncode != 0:
            raise CaptureError(f"{self._where()} exited with {proc.returncode}: {self._stderr()}")
        if not self.path.exists():
            raise CaptureError(f"{self._where()} wrote no file {self.path}: {self._stderr()}")
        if self.strip_probes and self.probes_sent:
            remove_probe_frames(self.path)
        return self.path

    def __enter__(self) -> LiveCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            try:
                self.stop()
            except CaptureError:
                if exc[0] is None:
                    raise

    # -- internals --------------------------------------------------------------------
    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr_lines.append(line)
            if any(m in line for m in READY_MARKERS):
                self._ready_line.set()
        self._ready_line.set()

    def _probe_socket(self) -> socket.socket | None:
        """An AF_PACKET socket on the interface (inside the namespace), or None if impossible."""
        iface = "lo" if self.interface == "any" else self.interface
        box: list[socket.socket | BaseException] = []

        def make() -> None:
            try:
                if self.netns:
                    setns_net(os.path.join(NETNS_DIR, self.netns))
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                try:
                    s.bind((iface, 0))
                except OSError:
                    s.close()
                    raise
                box.append(s)
            except BaseException as exc:  # reported below
                box.append(exc)

        if self.netns:  # namespaces are per thread: make the socket in a throwaway thread
            t = threading.Thread(target=make, name="capture-probe-socket")
            t.start()
            t.join()
        else:
            make()
        got = box[0]
        if isinstance(got, BaseException):
            if isinstance(got, OSError):
                return None  # no AF_PACKET here (not root, odd interface): ready line + delay
            raise got
        return got

    def _close_sock(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _wait_token(self, token: bytes, timeout: float, phase: str) -> None:
        assert self.proc is not None and self._sock is not None
        frame = probe_frame(b"HARNESS-PROBE" + token)
        deadline = time.monotonic() + timeout
        try:
            seen = self.path.stat().st_size
        except FileNotFoundError:
            seen = 0
        while True:
            if self.proc.poll() is not None:
                if self._reader is not None:
                    self._reader.join(2)
                raise CaptureError(
                    f"{self._where()} exited with {self.proc.returncode} during {phase}: "
                    f"{self._stderr()}"
                )
            try:
                self._sock.send(frame)
                self.probes_sent += 1
            except OSError as exc:
                raise CaptureError(f"{self._where()}: cannot send the probe frame: {exc}") from exc
            time.sleep(PROBE_INTERVAL)
            seen = _find_from(self.path, token, seen)
            if seen < 0:
                return
            if time.monotonic() > deadline:
                self._kill()
                raise CaptureError(
                    f"{self._where()}: the probe frame never reached {self.path} within "
                    f"{timeout} s ({phase}); is the filter valid and the interface up? "
                    f"stderr: {self._stderr()}"
                )

    def _wait_ready_line(self, timeout: float) -> None:
        assert self.proc is not None
        ok = self._ready_line.wait(timeout)
        if ok and self._reader is not None and not self._reader.is_alive():
            ok = False  # stderr ended: the tool is exiting, whatever it printed
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(2)
        if not ok or self.proc.poll() is not None:
            self._kill()
            raise CaptureError(f"{self._where()} did not start: {self._stderr()}")

    def _kill(self) -> None:
        proc = self.proc
        self._close_sock()
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _find_from(path: Path, token: bytes, start: int) -> int:
    """-1 when `token` is in the file at or after byte `start`; else where to look next time."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, start))
            data = f.read()
    except FileNotFoundError:
        return start
    if token in data:
        return -1
    return max(0, start + len(data) - len(token))


# -- removing the probe frames ------------------------------------------------------------
def _is_probe(data: bytes) -> bool:
    return (
        len(data) >= 14
        and data[12:14] == struct.pack("!H", PROBE_ETHERTYPE)
        and (data[6:12] == PROBE_SRC_MAC)
    )


def remove_probe_frames(path: str | os.PathLike[str]) -> int:
    """Drop the probe frames from a pcap or pcapng file in place; how many were removed.

    Works on blocks/records byte for byte (every other block, option and
    statistic is kept as written). A file it cannot walk is left untouched.
    """
    p = Path(path)
    raw = p.read_bytes()
    try:
        kept, removed = _without_probes(raw)
    except (ValueError, struct.error):
        return 0
    if removed:
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_bytes(kept)
        os.replace(tmp, p)
    return removed


def _without_probes(raw: bytes) -> tuple[bytes, int]:
    head = raw[:4]
    out = bytearray()
    removed = 0
    if head in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if head[0] in (0xD4, 0x4D) else ">"
        out += raw[:24]
        pos = 24
        while pos + 16 <= len(raw):
            incl = struct.unpack_from(e + "I", raw, pos + 8)[0]
            end = pos + 16 + incl
            if end > len(raw):
                break
            if _is_probe(raw[pos + 16 : end]):
                removed += 1
            else:
                out += raw[pos:end]
            pos = end
        out += raw[pos:]
        return bytes(out), removed
    if head != b"\x0a\x0d\x0d\x0a":
        raise ValueError("not a capture file")
    pos = 0
    e = "<"
    while pos + 12 <= len(raw):
        if raw[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if raw[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(e + "II", raw, pos)
        if blen < 12 or pos + blen > len(raw):
            break
        block = raw[pos : pos + blen]
        if btype == 6 and blen >= 28:  # enhanced packet block
            cap = struct.unpack_from(e + "I", block, 20)[0]
            if _is_probe(block[28 : 28 + cap]):
                removed += 1
                pos += blen
                continue
        out += block
        pos += blen
    out += raw[pos:]
    return bytes(out), removed
