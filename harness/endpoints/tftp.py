"""The TFTP endpoint: an asyncio TFTP server that serves and accepts files and records them.

`TftpServer` speaks RFC 1350 (read and write, octet and netascii) with the
RFC 2347/2348/2349 options (blksize, tsize, timeout) and RFC 7440 windowsize.
Each transfer runs from a new ephemeral port (a new TID) unless a fault says
otherwise, retransmits on timeout a bounded number of times, answers strangers
with ERROR 5, and ends with one `TftpTransfer` record. Files come from memory,
a provider callback, or a root directory; no path ever leaves the root.

Uploads (WRQ) are bounded: `max_upload` bytes per file and `upload_quota` bytes
in all (uploads kept plus uploads in progress); with `keep_uploads` they are also
kept in memory (`uploads`, for tests), with `write_dir` they are streamed to disk
under it. Every refusal is a TFTP ERROR packet and a recorded problem.

The packet format lives in `harness.wire.tftp`, the fault scripts in `tftp_faults.py`;
this module holds only the sockets and the per-transfer state machine.
Retransmit waits and fault delays are real time (network I/O stays real);
record timestamps and durations come from the injected clock.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from harness.clock import Clock
from harness.endpoints.base import Endpoint
from harness.endpoints.secrets import secret_kind
from harness.endpoints.tftp_faults import NO_FAULTS, FaultScript, fault_key
from harness.observe.events import Address, DeviceKey, TftpTransfer
from harness.observe.recorder import Recorder
from harness.wire.tftp import (
    DEFAULT_BLKSIZE,
    MAX_DATAGRAM,
    MODES,
    Ack,
    Data,
    Error,
    ErrorCode,
    OptionAck,
    Packet,
    ReadRequest,
    TftpDecodeError,
    WriteRequest,
    decode,
    encode,
    encode_ack,
    encode_data,
    encode_error,
    from_netascii,
    negotiate,
    to_netascii,
)

Provider = Callable[[str, Address], "bytes | None | Awaitable[bytes | None]"]
MAX_INBOX = 1024  # datagrams queued for one transfer before further ones are dropped
DEFAULT_MAX_UPLOAD = 16 * 1024 * 1024  # bytes per uploaded file
DEFAULT_UPLOAD_QUOTA = 64 * 1024 * 1024  # bytes of all uploads together (kept + in progress)


class Refusal(Exception):
    """A request the server answers with an ERROR instead of a transfer."""

    def __init__(self, code: int, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.problem = problem


def safe_relative_name(filename: str) -> str:
    """The request's name relative to the root ('/' prefix = root); Refusal if it leaves it."""
    if "\x00" in filename:
        raise Refusal(
            ErrorCode.ACCESS_VIOLATION,
            "Access violation",
            f"file name {filename!r} contains a NUL byte; refused",
        )
    parts = filename.replace("\\", "/").split("/")
    if ".." in parts:
        raise Refusal(
            ErrorCode.ACCESS_VIOLATION,
            "Access violation",
            f"file name {filename!r} climbs out of the root with '..'; refused",
        )
    return "/".join(p for p in parts if p not in ("", "."))


class TftpServer(Endpoint):
    """A scriptable TFTP server on 127.0.0.1:<ephemeral> by default.

    root:        directory served (a leading '/' in a request is relative to it).
    files:       in-memory files, {"/CP-8831-3PCC.cfg": b"..."}; looked up first.
    provider:    callback (filename, client_addr) -> bytes | None (may be async),
                 asked after `files` and before `root`; None means "not mine".
    write_dir:   where WRQ uploads are written (streamed to a `.part` file, then renamed).
    writable:    accept WRQ at all.
    keep_uploads: also keep each upload in memory in `uploads` (tests read it there).
    max_upload / upload_quota: bytes per file / bytes of all uploads (ERROR 3 beyond).
    retransmit_timeout / max_retries: the server's retransmission policy.
    """

    name = "tftp"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        files: Mapping[str, bytes | str] | None = None,
        provider: Provider | None = None,
        write_dir: str | os.PathLike[str] | None = None,
        writable: bool = True,
        retransmit_timeout: float = 1.0,
        max_retries: int = 5,
        max_blksize: int = 65464,
        max_windowsize: int = 64,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        upload_quota: int = DEFAULT_UPLOAD_QUOTA,
        keep_uploads: bool = True,
        max_transfers: int = 256,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(host=host, port=port, clock=clock, recorder=recorder)
        self.root = Path(root) if root is not None else None
        self.files: dict[str, bytes] = {}
        for name, data in (files or {}).items():
            self.add_file(name, data)
        self.provider = provider
        self.write_dir = Path(write_dir) if write_dir is not None else None
        self.writable = writable
        self.retransmit_timeout = float(retransmit_timeout)
        self.max_retries = int(max_retries)
        self.max_blksize = int(max_blksize)
        self.max_windowsize = int(max_windowsize)
        self.max_upload = int(max_upload)
        self.upload_quota = int(upload_quota)
        self.keep_uploads = keep_uploads
        self._stored: dict[str, int] = _sizes_under(self.write_dir)  # key -> bytes kept
        self._in_flight = 0  # bytes of uploads still in progress
        self.max_transfers = int(max_transfers)
        self.uploads: dict[str, bytes] = {}
        self.transfers: list[TftpTransfer] = []
        self._faults: dict[str, FaultScript] = {}
        self._done = threading.Condition()
        self._listener: asyncio.DatagramTransport | None = None
        self._sessions: set[_Transfer] = set()
        self._same_port: dict[Address, _Transfer] = {}

    # -- configuration (any thread) ----------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tftp://{host}:{self.port}"

    def add_file(self, name: str, data: bytes | str) -> None:
        """Serve `data` as `name` (leading '/' optional)."""
        key = safe_relative_name(name)
        self.files[key] = data.encode() if isinstance(data, str) else bytes(data)

    def fault(self, filename: str | None = None) -> FaultScript:
        """The fault script for `filename` (None or '*': every file); chain its methods."""
        key = fault_key(filename)
        return self._faults.setdefault(key, FaultScript(filename=key))

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults_for(self, filename: str) -> FaultScript:
        everyone = self._faults.get("*")
        mine = self._faults.get(fault_key(filename))
        if everyone is None:
            return mine or NO_FAULTS
        return everyone.merged(mine)

    def wait_transfers(self, count: int = 1, timeout: float = 5.0) -> list[TftpTransfer]:
        """Block until `count` transfers are recorded (sync tests); returns them all.

        Do not call from the loop the server runs on (use `await wait_transfers_async`).
        """
        with self._done:
            self._done.wait_for(lambda: len(self.transfers) >= count, timeout)
            found = list(self.transfers)
        if len(found) < count:
            raise TimeoutError(f"tftp: {len(found)} transfer(s) recorded, wanted {count}")
        return found

    async def wait_transfers_async(
        self, count: int = 1, timeout: float = 5.0
    ) -> list[TftpTransfer]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.transfers) < count:
            if loop.time() > deadline:
                raise TimeoutError(
                    f"tftp: {len(self.transfers)} transfer(s) recorded, wanted {count}"
                )
            await asyncio.sleep(0.01)
        return list(self.transfers)

    # -- life cycle ----------------------------------------------------------------------
    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ListenerProtocol(self), local_addr=(self.host, self.port)
        )
        self._listener = _small_reads(transport)
        self._watch_datagrams(transport)
        self.port = transport.get_extra_info("sockname")[1]
        self._closers.append(transport.close)
        self._closers.append(self._stop_sessions)

    async def _stop_sessions(self) -> None:
        tasks = [s.task for s in list(self._sessions) if s.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _busy(self) -> bool:
        return super()._busy() or any(not s.recorded for s in self._sessions)

    def _finish(self, transfer: TftpTransfer) -> None:
        self.record(transfer)
        with self._done:
            self.transfers.append(transfer)
            self.recorder.trim(self.transfers)
            self._done.notify_all()

    # -- the listening port ----------------------------------------------------------------
    def _on_listener_datagram(self, raw: bytes, addr: Address) -> None:
        client = (addr[0], addr[1])
        session = self._same_port.get(client)
        if session is not None:
            session.feed(raw)
            return
        assert self._listener is not None
        try:
            packet = decode(raw)
        except TftpDecodeError as exc:
            self.note_problem(f"malformed datagram from {client[0]}:{client[1]}: {exc}")
            if raw[:2] != b"\x00\x05":
                self._listener.sendto(
                    encode_error(ErrorCode.ILLEGAL_OPERATION, f"Illegal TFTP operation: {exc}"),
                    addr,
                )
            return
        if isinstance(packet, ReadRequest | WriteRequest):
            for other in self._sessions:
                if other.client == client and other.raw_request == raw:
                    return  # the client retransmitted its request; the transfer answers it
            if len(self._sessions) >= self.max_transfers:
                self.note_problem(
                    f"request from {client[0]}:{client[1]} refused: "
                    f"{self.max_transfers} transfers already running"
                )
                self._listener.sendto(encode_error(ErrorCode.NOT_DEFINED, "Server busy"), addr)
                return
            session = _Transfer(self, packet, raw, client)
            self._sessions.add(session)
            session.task = asyncio.get_running_loop().create_task(session.run())
            return
        if isinstance(packet, Error):
            self.note_problem(
                f"ERROR {packet.code} {packet.message!r} from {client[0]}:{client[1]} "
                "reached the listening port, which has no transfer with it"
            )
            return
        self.note_problem(
            f"{packet.opcode.name} from {client[0]}:{client[1]} reached the listening port, "
            "which takes only RRQ/WRQ; answered ERROR 5"
        )
        self._listener.sendto(encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID"), addr)

    # -- content -----------------------------------------------------------------------------
    async def load(self, filename: str, client: Address) -> bytes:
        """The bytes served for `filename`; Refusal with the ERROR to send otherwise."""
        key = safe_relative_name(filename)
        if not key:
            raise Refusal(ErrorCode.FILE_NOT_FOUND, "File not found (empty file name)")
        if key in self.files:
            return self.files[key]
        if self.provider is not None:
            try:
                result = self.provider(filename, client)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                raise Refusal(
                    ErrorCode.NOT_DEFINED,
                    "Server error",
                    f"provider failed for {filename!r} ({client[0]}): {type(exc).__name__}: {exc}",
                ) from exc
            if result is not None:
                if isinstance(result, str):
                    result = result.encode()
                return bytes(result)
        if self.root is not None:
            path = self._inside(self.root, key, filename)
            try:
                if path.is_dir():
                    raise Refusal(ErrorCode.ACCESS_VIOLATION, "Access violation (not a file)")
                data = path.read_bytes()
            except FileNotFoundError:
                pass
            except PermissionError as exc:
                raise Refusal(ErrorCode.ACCESS_VIOLATION, "Access violation") from exc
            except OSError as exc:
                raise Refusal(ErrorCode.NOT_DEFINED, f"Cannot read file: {exc.strerror}") from exc
            else:
                if (secret := secret_kind(data)) is not None:
                    raise Refusal(
                        ErrorCode.ACCESS_VIOLATION,
                        "Access violation",
                        f"{filename!r} ({path}) holds {secret}; never served",
                    )
                return data
        raise Refusal(ErrorCode.FILE_NOT_FOUND, "File not found")

    @staticmethod
    def _inside(base: Path, key: str, filename: str) -> Path:
        real_base = base.resolve()
        path = (real_base / key).resolve()
        if not path.is_relative_to(real_base):
            raise Refusal(
                ErrorCode.ACCESS_VIOLATION,
                "Access violation",
                f"file name {filename!r} resolves to {path}, outside the root {real_base} "
                "(symlink); refused",
            )
        return path

    def check_writable(self, filename: str) -> str:
        key = safe_relative_name(filename)
        if not self.writable:
            raise Refusal(
                ErrorCode.ACCESS_VIOLATION,
                "Access violation (uploads disabled)",
                f"upload of {filename!r} refused: this server is read-only",
            )
        if not key:
            raise Refusal(
                ErrorCode.ACCESS_VIOLATION,
                "Access violation (empty file name)",
                "upload with an empty file name refused",
            )
        if self.write_dir is not None:
            self._inside(self.write_dir, key, filename)
        return key

    @property
    def upload_bytes(self) -> int:
        """Bytes counted against `upload_quota`: uploads kept plus uploads in progress."""
        return sum(self._stored.values()) + self._in_flight

    def reserve_upload(self, filename: str, size: int, more: int) -> None:
        """Count `more` bytes of an upload now `size` long; Refusal (ERROR 3) past a quota."""
        if size > self.max_upload:
            raise Refusal(
                ErrorCode.DISK_FULL,
                f"Disk full or allocation exceeded (> {self.max_upload} bytes per file)",
                f"upload of {filename!r} passed the per-file quota of {self.max_upload} bytes",
            )
        if self.upload_bytes + more > self.upload_quota:
            raise Refusal(
                ErrorCode.DISK_FULL,
                f"Disk full or allocation exceeded (upload quota of {self.upload_quota} bytes)",
                f"upload of {filename!r} passed the total upload quota of "
                f"{self.upload_quota} bytes ({self.upload_bytes} in use)",
            )
        self._in_flight += more

    def open_upload(self, key: str, filename: str) -> _UploadSink:
        return _UploadSink(self, key, filename)


def _sizes_under(directory: Path | None) -> dict[str, int]:
    """Sizes of the files already under an upload directory (they count against the quota)."""
    sizes: dict[str, int] = {}
    if directory is None or not directory.is_dir():
        return sizes
    for base, _dirs, names in os.walk(directory):
        for name in names:
            path = Path(base, name)
            try:
                sizes[path.relative_to(directory).as_posix()] = path.stat().st_size
            except OSError:
                continue
    return sizes


class _UploadSink:
    """Where one upload's bytes go as they arrive: memory (`keep_uploads`) and/or a `.part` file.

    Counts them against the server's quotas as they come; `commit()` keeps the upload
    (rename onto its name), `discard()` drops it. Either releases the in-progress count.
    """

    def __init__(self, server: TftpServer, key: str, filename: str) -> None:
        self.server, self.key, self.filename = server, key, filename
        self.size = 0
        self.memory = bytearray() if server.keep_uploads else None
        self.path: Path | None = None
        self.file: Any = None
        if server.write_dir is not None:
            self.path = server._inside(server.write_dir, key, filename)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.tmp = self.path.with_name(f".{self.path.name}.{id(self):x}.part")
                self.file = open(self.tmp, "wb")  # noqa: SIM115 (closed in commit/discard)
            except OSError as exc:
                raise Refusal(
                    ErrorCode.DISK_FULL,
                    f"Cannot store: {exc.strerror}",
                    f"upload of {filename!r}: cannot write under {server.write_dir}: {exc}",
                ) from exc

    def write(self, chunk: bytes) -> None:
        self.server.reserve_upload(self.filename, self.size + len(chunk), len(chunk))
        self.size += len(chunk)
        if self.memory is not None:
            self.memory += chunk
        if self.file is not None:
            try:
                self.file.write(chunk)
            except OSError as exc:
                raise Refusal(
                    ErrorCode.DISK_FULL,
                    f"Cannot store: {exc.strerror}",
                    f"upload of {self.filename!r}: write failed: {exc}",
                ) from exc

    def commit(self, netascii: bool) -> None:
        server, size = self.server, self.size
        server._in_flight -= size
        self.size = 0
        data = bytes(self.memory) if self.memory is not None else None
        if netascii and data is not None:
            data = from_netascii(data)
        if self.file is not None and self.path is not None:
            try:
                self.file.close()
                if netascii:
                    self.tmp.write_bytes(
                        data if data is not None else from_netascii(self.tmp.read_bytes())
                    )
                os.replace(self.tmp, self.path)
            except OSError as exc:
                self.tmp.unlink(missing_ok=True)
                raise Refusal(
                    ErrorCode.DISK_FULL,
                    f"Cannot store: {exc.strerror}",
                    f"upload of {self.filename!r}: cannot store: {exc}",
                ) from exc
            self.file = None
        server._stored[self.key] = size
        if data is not None:
            server.uploads[self.key] = data

    def discard(self) -> None:
        self.server._in_flight -= self.size
        self.size = 0
        self.memory = None
        if self.file is not None:
            self.file.close()
            self.file = None
            self.tmp.unlink(missing_ok=True)


def _small_reads(transport: asyncio.DatagramTransport) -> asyncio.DatagramTransport:
    """Read datagrams into MAX_DATAGRAM-sized buffers instead of asyncio's 256 KiB.

    asyncio's selector transport reads every datagram into a fresh `max_size` (256 KiB)
    bytes object; glibc serves that size with mmap, so each ACK cost an mmap, a page
    fault and a munmap. No UDP datagram is larger than MAX_DATAGRAM, which malloc serves
    from its heap. A transport without the attribute (another loop) is left as it is.
    """
    if hasattr(transport, "max_size"):
        transport.max_size = MAX_DATAGRAM  # type: ignore[attr-defined]
    return transport


class _ListenerProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: TftpServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            self.server._on_listener_datagram(data, addr)
        except Exception as exc:  # the listening port must survive anything
            self.server.note_problem(f"internal error on a datagram from {addr}: {exc!r}")

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors (a client went away) are not the listener's business


class _TransferProtocol(asyncio.DatagramProtocol):
    """The transfer's own port (its TID): the client's datagrams in, strangers get ERROR 5."""

    def __init__(self, session: _Transfer) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: Any) -> None:
        session = self.session
        if (addr[0], addr[1]) == session.client:
            session.feed(data)
            return
        session.server.note_problem(
            f"datagram from {addr[0]}:{addr[1]} to the transfer port of "
            f"{session.client[0]}:{session.client[1]} ({session.filename!r}): wrong TID, "
            "answered ERROR 5"
        )
        if data[:2] != b"\x00\x05" and session.transport is not None:
            session.transport.sendto(
                encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID"), addr
            )

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable: the client is gone; retries will time out


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _End(Exception):
    """Ends a transfer with an outcome."""

    def __init__(self, outcome: str, code: int | None = None, message: str | None = None) -> None:
        super().__init__(outcome)
        self.outcome, self.code, self.message = outcome, code, message


class _Transfer:
    """One transfer's state machine (read or write), on its own port or the listener's."""

    def __init__(
        self, server: TftpServer, request: ReadRequest | WriteRequest, raw: bytes, client: Address
    ) -> None:
        self.server = server
        self.request = request
        self.raw_request = raw
        self.client = client
        self.filename = request.filename
        self.faults = server.faults_for(request.filename)
        self.task: asyncio.Task[None] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.own_transport = False
        self.inbox: deque[bytes] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.on_datagram: Callable[[bytes], None] | None = None  # set by _ReadPump
        self.timeout = server.retransmit_timeout
        self.accepted: dict[str, str] = {}
        self.blocks = 0
        self.bytes = 0
        self.retransmissions = 0
        self.recorded = False  # settling waits for unrecorded transfers

    # -- plumbing ----------------------------------------------------------------------------
    def feed(self, raw: bytes) -> None:
        handler = self.on_datagram
        if handler is not None:  # a read's data phase: handled right here, no task switch
            handler(raw)
            return
        if len(self.inbox) < MAX_INBOX:
            self.inbox.append(raw)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def send(self, raw: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(raw, self.client)

    async def receive(self, deadline: float) -> Packet | None:
        """The client's next packet, or None at `deadline` (loop time)."""
        loop = asyncio.get_running_loop()
        if not self.inbox:
            delay = deadline - loop.time()
            if delay <= 0:
                return None
            waiter = self.waiter = loop.create_future()
            handle = loop.call_later(delay, _wake, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self.waiter = None
            if not self.inbox:
                return None
        return self.parse(self.inbox.popleft())

    def parse(self, raw: bytes) -> Packet:
        """A datagram of the client's, decoded; a malformed one ends the transfer (ERROR 4)."""
        if len(raw) == 4 and raw[:2] == b"\x00\x04":
            return Ack(int.from_bytes(raw[2:], "big"))
        try:
            return decode(raw)
        except TftpDecodeError as exc:
            self.server.note_problem(
                f"malformed datagram from {self.client[0]}:{self.client[1]} during the transfer "
                f"of {self.filename!r}: {exc}"
            )
            if raw[:2] != b"\x00\x05":
                self.send(encode_error(ErrorCode.ILLEGAL_OPERATION, f"Illegal operation: {exc}"))
            raise _End("error", ErrorCode.ILLEGAL_OPERATION, f"malformed packet: {exc}") from None

    def deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout

    def refuse(self, refusal: Refusal) -> _End:
        if refusal.problem:
            self.server.note_problem(
                f"{self.request.opcode.name} from {self.client[0]}: {refusal.problem}"
            )
        self.send(encode_error(refusal.code, refusal.message))
        return _End("refused", refusal.code, refusal.message)

    def unexpected(self, packet: Packet) -> _End:
        """The client sent an ERROR (abort) or a packet that has no place here."""
        if isinstance(packet, Error):
            return _End("aborted", packet.code, f"client sent ERROR: {packet.message}")
        text = f"unexpected {packet.opcode.name} from the client"
        self.server.note_problem(
            f"{text} {self.client[0]}:{self.client[1]} during {self.filename!r}"
        )
        self.send(encode_error(ErrorCode.ILLEGAL_OPERATION, f"Illegal operation: {text}"))
        return _End("error", ErrorCode.ILLEGAL_OPERATION, text)

    async def silence(self) -> None:
        """The stall fault: ignore the client for as long as retries would have lasted."""
        deadline = asyncio.get_running_loop().time() + self.timeout * (self.server.max_retries + 1)
        while True:
            try:
                if await self.receive(deadline) is None:
                    return
            except _End:
                continue

    async def send_faulted(self, block: int, raw: bytes, first: bool) -> None:
        """Send block (or, for writes, the ACK of block) under the fault script."""
        faults = self.faults
        if first and block in faults.delays:
            await asyncio.sleep(faults.delays[block])
        if not first:
            self.retransmissions += 1
        if faults.drops_block(block, first):
            return
        self.send(raw)
        if first and block in faults.duplicates:
            self.send(raw)

    # -- life cycle --------------------------------------------------------------------------
    async def run(self) -> None:
        server = self.server
        start = server.clock.now()
        outcome: _End = _End("aborted", None, "server stopped")
        try:
            if self.faults.from_listening_port:
                self.transport = server._listener
                server._same_port[self.client] = self
            else:
                loop = asyncio.get_running_loop()
                self.transport, _ = await loop.create_datagram_endpoint(
                    lambda: _TransferProtocol(self), local_addr=(server.host, 0)
                )
                _small_reads(self.transport)
                self.own_transport = True
            try:
                if isinstance(self.request, ReadRequest):
                    await self.serve_read()
                else:
                    await self.serve_write()
                outcome = _End("complete")
            except _End as end:
                outcome = end
            except Refusal as refusal:
                outcome = self.refuse(refusal)
        except Exception as exc:  # a bug must not take the server down; it ends this transfer
            server.note_problem(f"internal error in the transfer of {self.filename!r}: {exc!r}")
            outcome = _End("error", ErrorCode.NOT_DEFINED, f"internal error: {exc!r}")
        finally:
            self.record(outcome, start)
            if outcome.outcome == "complete" and isinstance(self.request, WriteRequest):
                await self.dally()
            self.close()

    def record(self, end: _End, start: float) -> None:
        server = self.server
        self.recorded = True
        now = server.clock.now()
        # `server` is the address the client asked (the URL's host:port), not the
        # transfer's new TID port.
        server._finish(
            TftpTransfer(
                time=start,
                client=self.client,
                server=server.address,
                device=DeviceKey(ip=self.client[0]),
                evidence=server.evidence,
                op=self.request.opcode.name,
                filename=self.filename,
                mode=self.request.mode.lower(),
                options=dict(self.request.options),
                accepted_options=dict(self.accepted),
                outcome=end.outcome,
                error_code=end.code,
                error_message=end.message,
                bytes=self.bytes,
                blocks=self.blocks,
                retransmissions=self.retransmissions,
                duration=max(0.0, now - start),
            )
        )

    async def dally(self) -> None:
        """After the last ACK of a write, re-ACK a retransmitted last block for a while."""
        last = encode_ack(self.blocks)
        deadline = self.deadline()
        try:
            while (packet := await self.receive(deadline)) is not None:
                if isinstance(packet, Data):
                    self.send(last)
        except (_End, asyncio.CancelledError):
            pass

    def close(self) -> None:
        self.server._sessions.discard(self)
        if self.server._same_port.get(self.client) is self:
            del self.server._same_port[self.client]
        if self.own_transport and self.transport is not None:
            self.transport.close()

    # -- common start ------------------------------------------------------------------------
    def check_request(self) -> None:
        mode = self.request.mode.lower()
        if mode not in MODES:
            raise Refusal(
                ErrorCode.ILLEGAL_OPERATION,
                f"Illegal operation: unsupported mode {self.request.mode!r}",
                f"mode {self.request.mode!r} for {self.filename!r} is not netascii or octet",
            )
        if self.faults.error_reply is not None:
            code, message = self.faults.error_reply
            self.send(encode_error(code, message))
            raise _End("refused", code, message)

    def negotiate(self, size: int | None) -> None:
        result = negotiate(
            self.request.options,
            op=self.request.opcode,
            size=size,
            max_blksize=self.server.max_blksize,
            max_windowsize=self.server.max_windowsize,
        )
        for problem in result.problems:
            self.server.note_problem(f"{self.request.opcode.name} {self.filename!r}: {problem}")
        self.accepted = result.accepted
        self.timeout = float(result.value("timeout", 0)) or self.server.retransmit_timeout

    # -- read (RRQ) --------------------------------------------------------------------------
    async def serve_read(self) -> None:
        self.check_request()
        data = await self.server.load(self.filename, self.client)
        if self.request.mode.lower() == "netascii":
            data = to_netascii(data)
        self.negotiate(len(data))
        blksize = int(self.accepted.get("blksize", DEFAULT_BLKSIZE))
        window = int(self.accepted.get("windowsize", 1))
        stall = self.faults.stall_block
        if self.accepted:
            await self.send_oack_for_read(stall)
        pump = _ReadPump(self, data, blksize, window)
        if await pump.run() is _STALLED:
            await self.silence()
            raise _End("aborted", None, f"fault: stalled after block {stall}")

    async def send_oack_for_read(self, stall: int | None) -> None:
        oack = encode(OptionAck(self.accepted))
        self.send(oack)
        if stall == 0:
            await self.silence()
            raise _End("aborted", None, "fault: stalled after the OACK")
        retries = 0
        deadline = self.deadline()
        while True:
            packet = await self.receive(deadline)
            if packet is None:
                retries += 1
                if retries > self.server.max_retries:
                    raise _End("timeout", None, f"no ACK for the OACK after {retries - 1} retries")
                self.retransmissions += 1
                self.send(oack)
                deadline = self.deadline()
                continue
            if isinstance(packet, Ack):
                if packet.block == 0:
                    return
                continue
            raise self.unexpected(packet)

    # -- write (WRQ) -------------------------------------------------------------------------
    async def serve_write(self) -> None:
        self.check_request()
        key = self.server.check_writable(self.filename)
        self.negotiate(None)
        tsize = self.accepted.get("tsize")
        if tsize is not None:
            self.server.reserve_upload(self.filename, int(tsize), int(tsize))
            self.server._in_flight -= int(tsize)  # a check only: bytes count as they arrive
        sink = self.server.open_upload(key, self.filename)
        try:
            await self.receive_upload(sink)
        except BaseException:
            sink.discard()
            raise

    async def receive_upload(self, sink: _UploadSink) -> None:
        blksize = int(self.accepted.get("blksize", DEFAULT_BLKSIZE))
        window = int(self.accepted.get("windowsize", 1))
        stall = self.faults.stall_block
        last_reply = encode(OptionAck(self.accepted)) if self.accepted else encode_ack(0)
        self.send(last_reply)
        if stall == 0:
            await self.silence()
            raise _End("aborted", None, "fault: stalled before block 1")
        expected, unacked, retries, acked_high = 1, 0, 0, 0
        deadline = self.deadline()
        while True:
            packet = await self.receive(deadline)
            if packet is None:
                retries += 1
                if retries > self.server.max_retries:
                    raise _End(
                        "timeout", None, f"no DATA block {expected} after {retries - 1} retries"
                    )
                self.retransmissions += 1
                self.send(last_reply)
                deadline = self.deadline()
                continue
            if not isinstance(packet, Data):
                raise self.unexpected(packet)
            if packet.block != expected & 0xFFFF:
                # duplicate or out of order: ACK the last block received in order
                if expected > 1:
                    last_reply = encode_ack(expected - 1)
                self.retransmissions += 1
                self.send(last_reply)
                unacked = 0
                continue
            if len(packet.data) > blksize:
                text = f"DATA block {expected} has {len(packet.data)} bytes, blksize is {blksize}"
                self.server.note_problem(f"WRQ {self.filename!r}: {text}")
                self.send(encode_error(ErrorCode.ILLEGAL_OPERATION, f"Illegal operation: {text}"))
                raise _End("error", ErrorCode.ILLEGAL_OPERATION, text)
            try:
                sink.write(packet.data)
            except Refusal as refusal:
                sink.discard()  # nothing left of it once the client hears the ERROR
                end = self.refuse(refusal)
                raise _End("error", end.code, end.message) from None
            self.blocks, self.bytes = expected, sink.size
            retries = 0
            last = len(packet.data) < blksize
            unacked += 1
            if last or unacked >= window:
                last_reply = encode_ack(expected)
                await self.send_faulted(expected, last_reply, expected > acked_high)
                acked_high = max(acked_high, expected)
                unacked = 0
                if stall is not None and expected >= stall and not last:
                    await self.silence()
                    raise _End("aborted", None, f"fault: stalled after block {stall}")
            deadline = self.deadline()
            if last:
                break
            expected += 1
        try:
            sink.commit(netascii=self.request.mode.lower() == "netascii")
        except Refusal as refusal:
            end = self.refuse(refusal)
            raise _End("error", end.code, end.message) from None


_STALLED = _End("aborted", None, "fault: stalled")  # the pump's word for "fall silent now"


class _ReadPump:
    """The data phase of a read, driven by the client's ACKs, with no task switch per block.

    Each ACK is handled inside `datagram_received` (via `_Transfer.feed`) and sends the next
    window at once; the retransmission timer is one `call_at` handle re-armed lazily (an ACK
    only moves `deadline`; the handle, when it fires early, re-arms itself for the new one).
    Payloads are slices of one memoryview of the file. Block faults (drop, duplicate, delay,
    stall) are checked only when the script has any. Semantics match RFC 1350/7440 without
    the Sorcerer's Apprentice (RFC 1123 4.2.3.1): an ACK of block n inside the window slides
    the window to start at n+1 and sends only the blocks not sent yet (blocks already in
    flight are not re-sent); stale and duplicate ACKs (an ACK of the block before the
    window included) are ignored; only the timeout re-sends, the whole window. A lost block
    thus costs one timeout, never a storm of re-sends.
    """

    def __init__(self, session: _Transfer, data: bytes, blksize: int, window: int) -> None:
        self.session = session
        self.loop = asyncio.get_running_loop()
        self.view = memoryview(data)
        self.size = len(data)
        self.blksize = blksize
        self.window = window
        self.nblocks = len(data) // blksize + 1
        self.base, self.end, self.highest, self.retries = 1, 0, 0, 0
        faults = session.faults
        self.faults = faults
        self.scripted = bool(faults.drops or faults.delays or faults.duplicates)
        self.stall = faults.stall_block
        self.timeout = session.timeout
        self.deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.held: asyncio.TimerHandle | None = None  # a delay fault holding the window
        self.done: asyncio.Future[_End | None] = self.loop.create_future()
        assert session.transport is not None
        self.sendto = session.transport.sendto
        self.client = session.client

    async def run(self) -> _End | None:
        """Send the file; None when the last block is ACKed, _STALLED for the stall fault."""
        session = self.session
        session.on_datagram = self.on_datagram
        try:
            self.send_window()
            self.drain()  # anything that arrived before the pump took over
            end = await self.done
        finally:
            session.on_datagram = None
            for handle in (self.timer, self.held):
                if handle is not None:
                    handle.cancel()
        if end is not None and end is not _STALLED:
            raise end
        return end

    def finish(self, end: _End | None) -> None:
        self.session.on_datagram = None  # later datagrams wait in the inbox, unread
        if not self.done.done():
            self.done.set_result(end)

    def drain(self) -> None:
        session = self.session
        while session.inbox and session.on_datagram is not None:
            self.on_datagram(session.inbox.popleft())

    # -- sending ------------------------------------------------------------------------------
    def send_window(self, only_new: bool = False) -> None:
        """Send the window starting at `base`: all of it, or (`only_new`) blocks not sent yet."""
        end = min(self.base + self.window - 1, self.nblocks)
        stall = self.stall
        if stall is not None and end > stall:
            end = stall
            if self.base > stall:
                self.finish(_STALLED)
                return
        self.end = end
        first = max(self.base, self.highest + 1) if only_new else self.base
        if first > end:  # everything in the window is in flight already
            self.deadline = self.loop.time() + self.timeout
            return
        self.send_from(first, held=False)

    def send_from(self, block: int, held: bool) -> None:
        """Send blocks block..end (first sends and retransmissions), then re-arm the timer."""
        session, view, blksize, sendto, client = (
            self.session,
            self.view,
            self.blksize,
            self.sendto,
            self.client,
        )
        while block <= self.end:
            first = block > self.highest
            if not first:
                session.retransmissions += 1
            offset = (block - 1) * blksize
            packet = encode_data(block, view[offset : offset + blksize])
            if not self.scripted:
                sendto(packet, client)
            else:
                faults = self.faults
                if first and not held and block in faults.delays:
                    self.hold(block, faults.delays[block])
                    return
                held = False
                if not faults.drops_block(block, first):
                    sendto(packet, client)
                    if first and block in faults.duplicates:
                        sendto(packet, client)
            if first:
                self.highest = block
            block += 1
        self.deadline = self.loop.time() + self.timeout
        if self.timer is None:
            self.timer = self.loop.call_at(self.deadline, self.on_timer)

    def hold(self, block: int, seconds: float) -> None:
        """The delay fault: stop the clock and the ACK handling, send `block` `seconds` later."""
        self.session.on_datagram = None  # meanwhile datagrams queue in the inbox
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.held = self.loop.call_later(seconds, self.release, block)

    def release(self, block: int) -> None:
        self.held = None
        if self.done.done():
            return
        self.session.on_datagram = self.on_datagram
        self.guarded(self.send_from, block, True)
        self.drain()

    def on_timer(self) -> None:
        self.timer = None
        if self.done.done():
            return
        if self.loop.time() < self.deadline:  # an ACK moved the deadline since this was armed
            self.timer = self.loop.call_at(self.deadline, self.on_timer)
            return
        self.retries += 1
        if self.retries > self.session.server.max_retries:
            self.finish(
                _End(
                    "timeout",
                    None,
                    f"no ACK for block {self.base} after {self.retries - 1} retries",
                )
            )
            return
        self.guarded(self.send_window)

    # -- receiving ----------------------------------------------------------------------------
    def on_datagram(self, raw: bytes) -> None:
        if len(raw) == 4 and raw[1] == 4 and raw[0] == 0:
            wire = raw[2] << 8 | raw[3]
        else:
            try:
                packet = self.session.parse(raw)
                if not isinstance(packet, Ack):
                    raise self.session.unexpected(packet)
            except _End as end:
                self.finish(end)
                return
            except Exception as exc:
                self.crash(exc)
                return
            wire = packet.block
        low = self.base - 1
        acked = low + ((wire - low) & 0xFFFF)  # the absolute block in [low, end] (window < 2**16)
        if acked > self.end:
            return  # stale or foreign ACK: ignore (no Sorcerer's Apprentice)
        if acked == low:
            return  # a duplicate ACK: ignored (RFC 1123 4.2.3.1); the timer re-sends
        self.retries = 0
        self.base = acked + 1
        session = self.session
        session.blocks = acked
        session.bytes = min(self.size, acked * self.blksize)
        if acked == self.nblocks:
            self.finish(None)
            return
        self.guarded(self.send_window, True)

    def guarded(self, step: Callable[..., None], *args: Any) -> None:
        try:
            step(*args)
        except Exception as exc:  # a bug ends this transfer, never the server
            self.crash(exc)

    def crash(self, exc: Exception) -> None:
        self.session.server.note_problem(
            f"internal error in the transfer of {self.session.filename!r}: {exc!r}"
        )
        self.finish(_End("error", ErrorCode.NOT_DEFINED, f"internal error: {exc!r}"))
