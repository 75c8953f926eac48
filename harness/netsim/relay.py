"""Userspace UDP and TCP relays: NAT mapping/filtering emulation and delay, no root needed.

`UdpRelay` stands between an inside client and outside servers. For every
remote address it serves, it opens an *inside* socket standing for that remote
(`inside_for(remote)`); the client sends there and the relay forwards from an
*outside* socket chosen by the mapping behaviour (RFC 4787):

- endpoint-independent: one outside socket per inside source;
- address-dependent: one per inside source and remote IP;
- address-and-port-dependent (symmetric): one per inside source and remote IP:port.

Packets arriving on an outside socket pass the filtering behaviour
(endpoint-independent: anyone; address-dependent: an IP it has sent to;
address-and-port-dependent: an IP:port it has sent to) or are dropped and
counted. An admitted packet reaches the inside source from the inside socket
standing for its sender (made on demand), so a TFTP server's reply from a new
port looks, inside, like a reply from a new port too. `PathDelay` adds delay,
jitter and netem-style reordering to each direction.

`TcpRelay` accepts on an inside socket per remote and connects out from the
outside address (a new outside port per connection); it never accepts
connections from outside. Mappings live as long as the relay. These are
mechanisms only: naming and labelling the emulated NAT kinds is emulation.py's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from harness.endpoints.base import Service
from harness.netsim.nat import ADDRESS_AND_PORT_DEPENDENT, ADDRESS_DEPENDENT, ENDPOINT_INDEPENDENT

Address = tuple[str, int]
T = TypeVar("T")
BEHAVIOURS = (ENDPOINT_INDEPENDENT, ADDRESS_DEPENDENT, ADDRESS_AND_PORT_DEPENDENT)
MAX_DATAGRAM = 65535
READS_PER_WAKEUP = 64  # datagrams drained per readiness callback (fairness between sockets)
FILTERED_LOG = 1000  # how many dropped (outside, sender) pairs `filtered` keeps
TCP_CHUNK = 65536
CROSS_THREAD_TIMEOUT = 10.0  # seconds to wait for the relay's loop to make a socket


class RelayError(RuntimeError):
    """The relay cannot be set up as asked (message says what and why)."""


@dataclass(frozen=True)
class PathDelay:
    """Delay added to each packet of one direction.

    `delay` + uniform(0, `jitter`) seconds; with probability `reorder` (0..1) a
    packet skips the delay and overtakes those held back (tc netem's meaning).
    """

    delay: float = 0.0
    jitter: float = 0.0
    reorder: float = 0.0

    def __post_init__(self) -> None:
        if self.delay < 0 or self.jitter < 0:
            raise ValueError(f"delay {self.delay} s / jitter {self.jitter} s: must be >= 0")
        if not 0.0 <= self.reorder <= 1.0:
            raise ValueError(f"reorder {self.reorder}: a probability between 0 and 1")

    def sample(self, rng: random.Random) -> float:
        if self.reorder and rng.random() < self.reorder:
            return 0.0
        return self.delay + (rng.uniform(0.0, self.jitter) if self.jitter else 0.0)

    def __bool__(self) -> bool:
        return bool(self.delay or self.jitter)


def as_delay(value: PathDelay | float | None) -> PathDelay | None:
    """A PathDelay from seconds (float), a PathDelay, or None."""
    if value is None or isinstance(value, PathDelay):
        return value
    return PathDelay(float(value))


def _check_behaviour(what: str, value: str) -> str:
    if value not in BEHAVIOURS:
        raise RelayError(f"{what} {value!r}: use one of {', '.join(BEHAVIOURS)}")
    return value


@dataclass
class _Outside:
    """One outside mapping: its socket, the inside source it belongs to, whom it sent to."""

    sock: socket.socket
    inside_source: Address
    contacted: set[Address] = field(default_factory=set)

    @property
    def address(self) -> Address:
        ip, port = self.sock.getsockname()[:2]
        return (ip, port)


class _LoopBound(Service):
    """A Service with a loop of its own; `_on_loop` runs socket set-up on that loop's thread.

    Network namespaces are per thread, so sockets must be made by the thread
    the relay runs on (a topology's namespace loop), whoever asks for them.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()
        self._running = False

    def _on_loop(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or not self._running:
            return fn()
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(CROSS_THREAD_TIMEOUT)


def _inside_address(
    relay: Any, table: dict, remote: Address, make: Callable[[Address], Any]
) -> Address:
    """The inside socket standing for `remote` (made on the relay's loop the first time)."""
    remote = (remote[0], int(remote[1]))
    with relay._lock:
        sock = table.get(remote)
    if sock is None:
        sock = relay._on_loop(lambda: make(remote))
    ip, port = sock.getsockname()[:2]
    return (ip, port)


class UdpRelay(_LoopBound):
    """A UDP relay with a NAT's mapping and filtering behaviour and optional delay."""

    def __init__(
        self,
        *,
        mapping: str = ENDPOINT_INDEPENDENT,
        filtering: str = ENDPOINT_INDEPENDENT,
        inside_host: str = "127.0.0.1",
        outside_host: str | None = None,
        delay_out: PathDelay | float | None = None,
        delay_in: PathDelay | float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.mapping = _check_behaviour("mapping", mapping)
        self.filtering = _check_behaviour("filtering", filtering)
        self.inside_host = inside_host
        self.outside_host = outside_host or inside_host
        self.delay_out = as_delay(delay_out)  # inside -> outside
        self.delay_in = as_delay(delay_in)  # outside -> inside
        self.rng = random.Random(seed)
        self.stats: Counter[str] = Counter()  # out, in, filtered, errors
        self.filtered: list[tuple[Address, Address]] = []  # (outside socket, sender) dropped
        self._mirrors: dict[Address, socket.socket] = {}  # remote -> inside socket
        self._mirror_remote: dict[int, Address] = {}  # inside socket fd -> remote
        self._outside: dict[Any, _Outside] = {}  # mapping key -> outside socket
        self._outside_by_fd: dict[int, _Outside] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    def __repr__(self) -> str:
        return (
            f"<UdpRelay mapping={self.mapping} filtering={self.filtering} "
            f"inside={self.inside_host} outside={self.outside_host}>"
        )

    # -- set-up (any thread) ------------------------------------------------------------
    def inside_for(self, remote: Address) -> Address:
        """The inside address that stands for `remote`: send there to reach it."""
        return _inside_address(self, self._mirrors, remote, self._mirror)

    via = inside_for  # for stun_client.discover(via=...)

    def mappings(self) -> list[tuple[Address, Address]]:
        """(inside source, outside address) for every outside socket opened so far."""
        with self._lock:
            return [(o.inside_source, o.address) for o in self._outside.values()]

    # -- life cycle ------------------------------------------------------------------------
    async def start_async(self) -> Self:
        if self._running:
            return self
        self._loop = asyncio.get_running_loop()
        self._running = True
        with self._lock:
            for sock in self._mirrors.values():
                self._loop.add_reader(sock.fileno(), self._on_inside, sock)
        return self

    async def stop_async(self) -> None:
        if not self._running:
            return
        self._running = False
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()
        with self._lock:
            socks = list(self._mirrors.values()) + [o.sock for o in self._outside.values()]
            self._mirrors.clear()
            self._mirror_remote.clear()
            self._outside.clear()
            self._outside_by_fd.clear()
        for sock in socks:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(sock.fileno())
            sock.close()

    # -- sockets (on the loop's thread) --------------------------------------------------
    def _socket(self, host: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((host, 0))
        except OSError as exc:
            sock.close()
            raise RelayError(f"UDP relay: cannot bind a socket on {host}: {exc}") from exc
        return sock

    def _watch(self, sock: socket.socket, callback: Callable[[socket.socket], None]) -> None:
        if self._running and self._loop is not None:
            self._loop.add_reader(sock.fileno(), callback, sock)

    def _mirror(self, remote: Address) -> socket.socket:
        with self._lock:
            sock = self._mirrors.get(remote)
            if sock is not None:
                return sock
            sock = self._socket(self.inside_host)
            self._mirrors[remote] = sock
            self._mirror_remote[sock.fileno()] = remote
        self._watch(sock, self._on_inside)
        return sock

    def _mapping_key(self, source: Address, remote: Address) -> Any:
        if self.mapping == ENDPOINT_INDEPENDENT:
            return source
        if self.mapping == ADDRESS_DEPENDENT:
            return (source, remote[0])
        return (source, remote)

    def _outside_for(self, source: Address, remote: Address) -> _Outside:
        key = self._mapping_key(source, remote)
        with self._lock:
            out = self._outside.get(key)
            if out is None:
                out = _Outside(self._socket(self.outside_host), source)
                self._outside[key] = out
                self._outside_by_fd[out.sock.fileno()] = out
                self._watch(out.sock, self._on_outside)
        return out

    def _admits(self, out: _Outside, sender: Address) -> bool:
        if self.filtering == ENDPOINT_INDEPENDENT:
            return True
        if self.filtering == ADDRESS_DEPENDENT:
            return any(ip == sender[0] for ip, _ in out.contacted)
        return sender in out.contacted

    # -- forwarding ------------------------------------------------------------------------
    def _drain(self, sock: socket.socket) -> list[tuple[bytes, Address]]:
        got = []
        for _ in range(READS_PER_WAKEUP):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ICMP port unreachable from an earlier send
                if exc.errno not in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    self.stats["errors"] += 1
                continue
            got.append((data, (addr[0], addr[1])))
        return got

    def _on_inside(self, sock: socket.socket) -> None:
        remote = self._mirror_remote.get(sock.fileno())
        for data, source in self._drain(sock):
            if remote is None:
                continue
            try:
                out = self._outside_for(source, remote)
            except RelayError:  # no outside port to be had: the datagram is lost
                self.stats["errors"] += 1
                continue
            out.contacted.add(remote)
            self.stats["out"] += 1
            self._send(out.sock, data, remote, self.delay_out)

    def _on_outside(self, sock: socket.socket) -> None:
        out = self._outside_by_fd.get(sock.fileno())
        for data, sender in self._drain(sock):
            if out is None:
                continue
            if not self._admits(out, sender):
                self.stats["filtered"] += 1
                if len(self.filtered) < FILTERED_LOG:
                    self.filtered.append((out.address, sender))
                continue
            try:
                mirror = self._mirror(sender)
            except RelayError:
                self.stats["errors"] += 1
                continue
            self.stats["in"] += 1
            self._send(mirror, data, out.inside_source, self.delay_in)

    def _send(self, sock: socket.socket, data: bytes, to: Address, delay: PathDelay | None) -> None:
        wait = delay.sample(self.rng) if delay else 0.0
        if wait <= 0 or self._loop is None:
            self._sendto(sock, data, to, None)
            return
        box: list[asyncio.TimerHandle] = []
        timer = self._loop.call_later(wait, lambda: self._sendto(sock, data, to, box[0]))
        box.append(timer)
        self._timers.add(timer)

    def _sendto(
        self, sock: socket.socket, data: bytes, to: Address, timer: asyncio.TimerHandle | None
    ) -> None:
        if timer is not None:
            self._timers.discard(timer)
        try:
            sock.sendto(data, to)
        except OSError:  # closed meanwhile, or nothing listens there: a lost datagram
            self.stats["errors"] += 1


class TcpRelay(_LoopBound):
    """Inside listeners standing for remotes; each connection is carried out from outside_host."""

    def __init__(self, *, inside_host: str = "127.0.0.1", outside_host: str | None = None) -> None:
        super().__init__()
        self.inside_host = inside_host
        self.outside_host = outside_host or inside_host
        self.connections: list[tuple[Address, Address, Address]] = []  # (inside, outside, remote)
        self.errors: list[str] = []
        self._listeners: dict[Address, socket.socket] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<TcpRelay inside={self.inside_host} outside={self.outside_host}>"

    def inside_for(self, remote: Address) -> Address:
        """The inside address that stands for `remote`: connect there to reach it."""
        return _inside_address(self, self._listeners, remote, self._listen)

    async def start_async(self) -> Self:
        if self._running:
            return self
        self._loop = asyncio.get_running_loop()
        self._running = True
        with self._lock:
            pending = list(self._listeners.items())
        for remote, sock in pending:
            await self._serve(remote, sock)
        return self

    async def stop_async(self) -> None:
        if not self._running:
            return
        self._running = False
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        with self._lock:
            for sock in self._listeners.values():
                sock.close()
            self._listeners.clear()

    def _listen(self, remote: Address) -> socket.socket:
        with self._lock:
            if remote in self._listeners:
                return self._listeners[remote]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.inside_host, 0))
                sock.listen(64)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                raise RelayError(f"TCP relay: cannot listen on {self.inside_host}: {exc}") from exc
            self._listeners[remote] = sock
        if self._running and self._loop is not None:
            task = self._loop.create_task(self._serve(remote, sock))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return sock

    async def _serve(self, remote: Address, sock: socket.socket) -> None:
        async def accept(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await self._carry(remote, r, w)

        self._servers.append(await asyncio.start_server(accept, sock=sock))

    async def _carry(
        self, remote: Address, r_in: asyncio.StreamReader, w_in: asyncio.StreamWriter
    ) -> None:
        try:
            r_out, w_out = await asyncio.open_connection(
                remote[0], remote[1], local_addr=(self.outside_host, 0)
            )
        except OSError as exc:
            self.errors.append(f"connect to {remote[0]}:{remote[1]}: {exc}")
            w_in.close()
            return
        inside = w_in.get_extra_info("peername")[:2]
        self.connections.append((inside, w_out.get_extra_info("sockname")[:2], remote))
        try:
            await asyncio.gather(_pipe(r_in, w_out), _pipe(r_out, w_in))
        finally:
            for w in (w_in, w_out):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then pass the EOF on (half-close); errors end the copy quietly."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(TCP_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
