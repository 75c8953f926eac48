"""What `harness analyze` keeps of its observations: the phones' whole, the others' counted.

Memory bounded by the devices, not the packets (issue 15, docs/analyzer-memory.md).
The rules judge phones only; a client with no phone identity (`phone_evidence`:
no User-Agent of a phone family, no client certificate, no DHCP vendor class) and
not stated by the user is an *other client*, which the report lists with counts
(`OtherClient`), not transaction by transaction. `Keeper.add` is where every
observation of the analyzer goes:

- clients are connected by the keys their observations carry (IP, MAC, serial;
  union-find), and a group holding a phone identity or a stated device's key is
  *phone-related*: its observations stay in memory, in full;
- the others are written to a temporary file (batches of tuples, marshalled), since
  a phone's first DNS, DHCP and TFTP come before the User-Agent that says it is one.

`resolve(links)` at the end, with every link known (the MAC each IP was seen
with): the spilled observations of phone-related groups are read back in full,
every other group becomes one `OtherClient` (counts per kind, first and last time,
its IP/MAC). Phone-related groups are a superset of the device timelines
(`harness.observe.timeline`: every link it follows is a shared key), so a phone
gets exactly the observations it had before; other clients are grouped by these
links (two desktops that used one address are one other client here).
The TLS chain of a spilled handshake goes with it (`ChainHook`); the DNS answers
of spilled queries are kept aside and reduced to what naming the kept handshakes'
servers needs (`dns_index`; `TlsWire.classify` takes the last answer before each).
Several keepers (the shares of a split capture) merge with `state`/`absorb`.
`encode`/`decode`: an observation as a tuple of plain values and back, for the
spill and for handing observations between processes (pickling the records
themselves costs ten times more).

What must not live here: dissection (engine), judging (judge), the report's shape.
"""

from __future__ import annotations

import bisect
import dataclasses
import marshal
import os
import pickle
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from harness.analyze.dns import DNS_FIELDS
from harness.observe.events import (
    OBSERVATION_TYPES,
    DeviceKey,
    DhcpExchange,
    DnsQuery,
    Evidence,
    HttpExchange,
    Observation,
    TlsCertificate,
    TlsHandshake,
)
from harness.observe.others import OtherClient

BATCH = 4096  # records written at once (marshal: builtin values only; twice pickle's speed here)
DHCP_VENDOR_CLASS = 60  # DHCP option: vendor class identifier (RFC 2132)
_LEN = struct.Struct("<I")
_TYPES: list[type[Observation]] = list(OBSERVATION_TYPES.values())
_INDEX = {t: i for i, t in enumerate(_TYPES)}
_NAMES = [
    tuple(f.name for f in dataclasses.fields(t) if f.name not in ("device", "evidence"))
    for t in _TYPES
]
_TIME = [names.index("time") for names in _NAMES]
_DNS = _INDEX[DnsQuery]
_TLS = _INDEX[TlsHandshake]
_CHAIN = _NAMES[_TLS].index("server_cert_chain")
_CERT = tuple(f.name for f in dataclasses.fields(TlsCertificate))


def phone_evidence(o: Observation) -> str | None:
    """What in this observation says its client is a phone (None: nothing)."""
    if isinstance(o, HttpExchange) and (o.device.serial or o.device.product):
        return f"User-Agent {o.user_agent!r}"
    if isinstance(o, TlsHandshake) and o.client_cert_subject:
        return "client certificate"
    if isinstance(o, DhcpExchange) and DHCP_VENDOR_CLASS in o.offered_options:
        return f"DHCP vendor class {o.offered_options[DHCP_VENDOR_CLASS]!r}"
    return None


@dataclass(frozen=True)
class KeepOptions:
    """`Analyzer(keep=...)`: summarize other clients (spilling them meanwhile when `spill`);
    `stated`: (ip, mac, serial) of the devices the user named (judged, so kept whole)."""

    spill: bool = True
    stated: tuple[tuple[str | None, str | None, str | None], ...] = ()


@dataclass
class ChainHook:
    """How a spilled TLS handshake takes its server chain along (`TlsWire`'s table)."""

    pop: Callable[[TlsHandshake], tuple[bytes, ...] | None]
    put: Callable[[TlsHandshake, tuple[bytes, ...]], None]


@dataclass
class KeeperState:
    """A keeper's links and spill, handed to another (`Keeper.state`, `absorb`)."""

    parent: dict[str, str]
    phone: set[str]
    spills: list[tuple[str, str, list[tuple[bytes, ...]]]]  # (spill, DNS answers, chains)


def encode(o: Observation) -> tuple:
    """`o` as (type, device, evidence, field values), builtin values only (marshal and
    pickle write them fast): a TLS chain's certificates become tuples of their fields."""
    i = _INDEX[type(o)]
    d, e = o.device, o.evidence
    values = [getattr(o, n) for n in _NAMES[i]]
    if i == _TLS and values[_CHAIN]:
        values[_CHAIN] = tuple([tuple([getattr(c, n) for n in _CERT]) for c in values[_CHAIN]])
    return i, (d.ip, d.mac, d.serial, d.product), (e.source, e.frames, e.detail), tuple(values)


def decode(rec: tuple) -> Observation:
    """The observation `encode` gave `rec` for (fields set directly: no __init__ work)."""
    i, dev, ev, values = rec[:4]
    if i == _TLS and values[_CHAIN]:
        values = list(values)
        values[_CHAIN] = tuple([TlsCertificate(*c) for c in values[_CHAIN]])
    o = object.__new__(_TYPES[i])
    put = object.__setattr__
    for name, v in zip(_NAMES[i], values, strict=True):
        put(o, name, v)
    put(o, "device", DeviceKey(*dev))
    put(o, "evidence", Evidence(*ev))
    return o


def _keys(d: DeviceKey) -> list[str]:
    keys = []
    if d.ip:
        keys.append("i" + d.ip)
    if d.mac:
        keys.append("m" + d.mac.lower().replace(":", ""))
    if d.serial:
        keys.append("s" + d.serial.lower())
    return keys


class _Spill:
    """Length-prefixed batches (marshal, else pickle) in a file (anonymous, or named for another process)."""

    def __init__(self, named: bool) -> None:
        if named:
            fd, self.path = tempfile.mkstemp(prefix="harness-analyze-", suffix=".spill")
            self.f: IO[bytes] = os.fdopen(fd, "w+b")
        else:
            self.path = ""
            self.f = tempfile.TemporaryFile(prefix="harness-analyze-")  # noqa: SIM115 - lives on
        self.batch: list[Any] = []

    def add(self, record: Any) -> None:
        self.batch.append(record)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            try:
                data = b"m" + marshal.dumps(self.batch, 4)
            except ValueError:  # a value marshal does not take (a TLS alert...): pickle
                data = b"p" + pickle.dumps(self.batch, protocol=pickle.HIGHEST_PROTOCOL)
            self.f.write(_LEN.pack(len(data)) + data)
            self.batch = []

    def close(self) -> None:
        self.flush()
        self.f.close()


def _batches(f: IO[bytes]) -> Iterator[list[Any]]:
    f.seek(0)
    while head := f.read(4):
        (n,) = _LEN.unpack(head)
        data = f.read(n)
        yield marshal.loads(data[1:]) if data[:1] == b"m" else pickle.loads(data[1:])


class Keeper:
    """See the module docstring. `spill=False`: everything in memory (the same result)."""

    def __init__(
        self,
        kept: list[Observation],
        *,
        spill: bool = True,
        stated: Iterable[tuple[str | None, str | None, str | None]] = (),
        chains: ChainHook | None = None,
        named: bool = False,
    ) -> None:
        self.kept = kept
        self.spill = spill
        self.chains = chains
        self.named = named  # spill files another process reads (a share of a split capture)
        self.parent: dict[str, str] = {}
        self.phone: set[str] = set()  # roots of phone-related groups
        self.spilled = 0
        self._obs: _Spill | None = None
        self._dns: _Spill | None = None
        self._chain_ids: dict[tuple[bytes, ...], int] = {}
        self._chain_list: list[tuple[bytes, ...]] = []
        self._foreign: list[tuple[str, str, list[tuple[bytes, ...]]]] = []  # absorbed spills
        for ip, mac, serial in stated:
            keys = _keys(DeviceKey(ip=ip, mac=mac, serial=serial))
            if keys:
                self.phone.add(self._union(keys))

    # -- links --------------------------------------------------------------------
    def _find(self, k: str) -> str:
        parent = self.parent
        while (p := parent.setdefault(k, k)) != k:
            parent[k] = parent[p]
            k = parent[k]
        return k

    def _union(self, keys: list[str]) -> str:
        root = self._find(keys[0])
        for k in keys[1:]:
            other = self._find(k)
            if other != root:
                self.parent[other] = root
                if other in self.phone:
                    self.phone.discard(other)
                    self.phone.add(root)
        return root

    # -- during the run -----------------------------------------------------------
    def add(self, o: Observation) -> None:
        keys = _keys(o.device)
        if not keys:  # nobody's: the report's unattributed transactions
            self.kept.append(o)
            return
        root = self._union(keys)
        if root in self.phone:
            self.kept.append(o)
        elif phone_evidence(o) is not None:
            self.phone.add(root)
            self.kept.append(o)
        elif not self.spill:
            self.kept.append(o)
        else:
            self._spill(o)

    def add_dns(
        self, values: tuple, device: DeviceKey, source: str, frames: tuple[int, ...]
    ) -> None:
        """`add` of the `DnsQuery` these make (values in `harness.analyze.dns.DNS_FIELDS`
        order), without making it when it is spilled: a site's desktops ask many names."""
        if (
            self.spill
            and device.ip
            and not (device.mac or device.serial)
            and self._find("i" + device.ip) not in self.phone  # a query is no phone evidence
        ):
            if self._obs is None:
                self._obs, self._dns = _Spill(self.named), _Spill(self.named)
            dev = (device.ip, None, None, device.product)
            self._obs.add((_DNS, dev, (source, frames, ""), values, -1))
            if values[6]:
                self._dns.add((values[6], values[0], values[3]))  # type: ignore[union-attr]
            self.spilled += 1
            return
        fields = dict(zip(DNS_FIELDS, values, strict=True))
        self.add(DnsQuery(**fields, device=device, evidence=Evidence(source, frames)))

    def _spill(self, o: Observation) -> None:
        if self._obs is None:
            self._obs, self._dns = _Spill(self.named), _Spill(self.named)
        chain = -1
        if self.chains is not None and type(o) is TlsHandshake:
            ders = self.chains.pop(o)
            if ders is not None:
                chain = self._chain_ids.get(ders, -1)
                if chain < 0:
                    chain = self._chain_ids[ders] = len(self._chain_list)
                    self._chain_list.append(ders)
        self._obs.add((*encode(o), chain))
        if type(o) is DnsQuery and o.answers:
            self._dns.add((o.answers, o.time, o.qname))  # type: ignore[union-attr]
        self.spilled += 1

    # -- several keepers (a split capture) ------------------------------------------
    def state(self) -> KeeperState:
        """This keeper's links and spill files (named: `named=True`), for `absorb`."""
        spills = []
        if self._obs is not None and self._dns is not None:
            self._obs.close()
            self._dns.close()
            spills.append((self._obs.path, self._dns.path, self._chain_list))
            self._obs = self._dns = None
        return KeeperState(self.parent, self.phone, spills)

    def absorb(self, state: KeeperState) -> None:
        for k, p in state.parent.items():
            if k != p:
                self._union([p, k])
        for root in state.phone:
            self.phone.add(self._union([root]))
        self._foreign.extend(state.spills)

    # -- the end --------------------------------------------------------------------
    def resolve(self, links: dict[str, str]) -> list[OtherClient]:
        """Read the spill back (see the module docstring): phone-related observations are
        appended to `kept`, the others counted; `links`: ip -> the MAC it was seen with.
        An other client's ip/mac/serial/product: the earliest its observations show."""
        for ip, mac in links.items():
            self._union(["i" + ip, "m" + mac])
        phone = {self._find(r) for r in self.phone}
        others: dict[str, OtherClient] = {}
        # per other client, each distinct (ip, mac, serial, product) it showed with the
        # (time, order) of its earliest record: the earliest of each field is chosen at the end
        shown: dict[str, dict[tuple, tuple[float, int]]] = {}
        roots: dict[tuple, str] = {}  # device tuple -> its group (the links are final here)
        n = 0
        for f, chains in self._sources(obs=True):
            for batch in _batches(f):
                for i, dev, ev, values, chain in batch:
                    root = roots.get(dev)
                    if root is None:
                        ip, mac, serial, _ = dev
                        root = roots[dev] = self._find(_keys(DeviceKey(ip, mac, serial))[0])
                    if root in phone:
                        self._reload(i, dev, ev, values, chains[chain] if chain >= 0 else None)
                        continue
                    t = values[_TIME[i]]
                    s = others.get(root)
                    if s is None:
                        s = others[root] = OtherClient("")
                        shown[root] = {}
                    s.count(_TYPES[i].kind, t)
                    n += 1
                    seen = shown[root]
                    was = seen.get(dev)
                    if was is None or t < was[0]:
                        seen[dev] = (t, n)
        firsts: dict[str, dict[str, tuple[float, int, str]]] = {}
        for root, seen in shown.items():
            first = firsts[root] = {}
            for (ip, mac, serial, product), (t, order) in seen.items():
                if not mac and ip:
                    mac = links.get(ip)
                for attr, v in (("ip", ip), ("mac", mac), ("serial", serial), ("product", product)):
                    if v and (attr not in first or (t, order) < first[attr][:2]):
                        first[attr] = (t, order, v)
        for root, s in others.items():
            for attr, (_, _, v) in firsts[root].items():
                setattr(s, attr, v)
            s.id = s.serial or s.mac or s.ip or "unknown"
        return sorted(others.values(), key=lambda s: (s.first, s.id))

    def _reload(self, i: int, dev: tuple, ev: tuple, values: tuple, ders: Any) -> None:
        o = decode((i, dev, ev, values))
        if ders is not None and self.chains is not None:
            self.chains.put(o, ders)  # type: ignore[arg-type]
        self.kept.append(o)

    def _sources(self, obs: bool) -> Iterator[tuple[IO[bytes], list[tuple[bytes, ...]]]]:
        """The spill files to read: this keeper's own, then those absorbed."""
        own = self._obs if obs else self._dns
        if own is not None:
            own.flush()
            yield own.f, self._chain_list
        for path_obs, path_dns, chains in self._foreign:
            with open(path_obs if obs else path_dns, "rb") as f:
                yield f, chains

    def dns_index(
        self, points: dict[str, list[float]], kept: Iterable[Observation]
    ) -> dict[str, list[tuple[float, str]]]:
        """For each server address of `points` (-> the sorted times of the handshakes to
        it), the DNS answers naming it that can be the last one before one of them: of
        the answers between two handshakes, only the latest is kept."""
        best: dict[str, dict[int, tuple[float, str]]] = {}

        def seen(answers: Iterable[str], t: float, qname: str) -> None:
            for a in answers:
                times = points.get(a)
                if times is None:
                    continue
                b = bisect.bisect_left(times, t)
                if b == len(times):
                    continue  # after the last handshake to it: names none
                slot = best.setdefault(a, {})
                if b not in slot or (t, qname) > slot[b]:
                    slot[b] = (t, qname)

        for o in kept:
            if type(o) is DnsQuery and o.answers:
                seen(o.answers, o.time, o.qname)
        for f, _ in self._sources(obs=False):
            for batch in _batches(f):
                for answers, t, qname in batch:
                    seen(answers, t, qname)
        return {a: sorted(slot.values()) for a, slot in best.items()}

    def close(self) -> None:
        """Remove the spill files (own and absorbed)."""
        for s in (self._obs, self._dns):
            if s is not None:
                s.f.close()
                _unlink(s.path)
        self._obs = self._dns = None
        discard(KeeperState({}, set(), self._foreign))
        self._foreign = []


def discard(state: KeeperState) -> None:
    """Remove the spill files of a keeper's state (a share whose result is not used)."""
    for path_obs, path_dns, _ in state.spills:
        _unlink(path_obs)
        _unlink(path_dns)


def _unlink(path: str) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass
