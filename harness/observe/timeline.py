"""Per-device timelines: observations grouped by the device they belong to.

A device is known by its serial or MAC (strong keys) and seen at an IP address
(a weak key: several phones share one behind a NAT). Within a capture the
rule is (docs/architecture.md, "Which device an observation belongs to"):

1. The User-Agent tells phones apart: an HTTP request whose device key carries
   a serial (or a product and a MAC, for families whose User-Agent names the
   MAC) *anchors* a device, one per serial. Different User-Agent serials from one
   address over time are different phones (a NAT).
2. Any other claim (a client certificate, a DHCP chaddr, the Ethernet MAC) joins
   the anchored device that names one of its keys (a key carried by several
   anchored devices, as a NAT router's MAC is, names none of them); else, when
   anchored devices were seen at its address, the one on the same connection
   (same client address and port), else the one nearest in time. A certificate
   that disagrees with the User-Agent is thus one device disagreeing with
   itself, for the rules to judge, not a second device.
3. Claims at an address where no User-Agent anchored a device merge by shared
   keys (union-find), as do the anchored devices' own keys.
4. An observation that carries only an IP (syslog, DNS, a TFTP transfer) goes to
   the device seen at that IP, the nearest in time when several are.
   Observations with no key at all form one "unknown" timeline.
Pure functions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.observe.events import DeviceKey, HttpExchange, Observation

T = TypeVar("T", bound=Observation)


@dataclass
class DeviceTimeline:
    device: DeviceKey
    observations: list[Observation] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.device.id

    def of(self, kind: type[T]) -> list[T]:
        return [o for o in self.observations if isinstance(o, kind)]


def _strong_keys(d: DeviceKey) -> list[str]:
    keys = []
    if d.serial:
        keys.append(f"sn:{d.serial}")
    if d.mac:
        keys.append(f"mac:{d.mac.lower().replace(':', '')}")
    return keys


class _Devices:
    """Union-find over strong keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, k: str) -> str:
        parent = self.parent
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(self, keys: list[str]) -> str:
        root = self.find(keys[0])
        for k in keys[1:]:
            other = self.find(k)
            if other != root:
                self.parent[other] = root
        return root


def _anchor(o: Observation) -> str | None:
    """The User-Agent identity an HTTP request anchors (see the module docstring)."""
    if not isinstance(o, HttpExchange):
        return None
    d = o.device
    if d.serial:
        return f"sn:{d.serial}"
    if d.product and d.mac:
        return f"mac:{d.mac.lower().replace(':', '')}"
    return None


def _nearest(sightings: list[tuple[float, str]], t: float) -> str:
    if len({root for _, root in sightings}) == 1:
        return sightings[0][1]
    i = bisect.bisect_left(sightings, (t, ""))
    near = [sightings[j] for j in (i - 1, i) if 0 <= j < len(sightings)]
    return min(near, key=lambda s: abs(s[0] - t))[1]


def build_timelines(observations: Iterable[Observation]) -> list[DeviceTimeline]:
    """Group observations per device, each timeline sorted by time."""
    obs = list(observations)
    devices = _Devices()
    anchors: dict[int, str] = {}  # id(observation) -> its anchor's root
    for o in obs:
        a = _anchor(o)
        if a is not None:
            anchors[id(o)] = a
            devices.union([a])
    # which anchored devices each strong key names (a key of several names none)
    named: dict[str, set[str]] = {}
    for o in obs:
        a = anchors.get(id(o))
        if a is not None:
            for k in _strong_keys(o.device):
                named.setdefault(k, set()).add(a)
    # where anchored devices were seen: ip -> sorted [(time, anchor)], and on which connection
    anchor_at: dict[str, list[tuple[float, str]]] = {}
    anchor_on: dict[tuple, str] = {}
    for o in obs:
        a = anchors.get(id(o))
        if a is not None and o.device.ip:
            anchor_at.setdefault(o.device.ip, []).append((o.time, a))
            if o.client is not None:
                anchor_on[tuple(o.client)] = a
    for sightings in anchor_at.values():
        sightings.sort()

    owners: dict[int, str] = {}
    loose: list[Observation] = []  # keyed, at no anchored address: merged by shared keys
    for o in obs:
        if id(o) in anchors:
            owners[id(o)] = anchors[id(o)]
            continue
        keys = _strong_keys(o.device)
        if not keys:
            continue
        by_key = next((next(iter(named[k])) for k in keys if len(named.get(k, ())) == 1), None)
        if by_key is not None:
            owners[id(o)] = by_key
        elif o.client is not None and tuple(o.client) in anchor_on:
            owners[id(o)] = anchor_on[tuple(o.client)]
        elif o.device.ip in anchor_at:
            owners[id(o)] = _nearest(anchor_at[o.device.ip], o.time)  # type: ignore[index]
        else:
            loose.append(o)
    for o in loose:
        devices.union(_strong_keys(o.device))
    for o in loose:
        owners[id(o)] = devices.find(_strong_keys(o.device)[0])

    # Where each device was seen: ip -> sorted [(time, device)]
    seen_at: dict[str, list[tuple[float, str]]] = {}
    for o in obs:
        own = owners.get(id(o))
        if own is not None and o.device.ip:
            seen_at.setdefault(o.device.ip, []).append((o.time, own))
    for sightings in seen_at.values():
        sightings.sort()

    def owner(o: Observation) -> str | None:
        own = owners.get(id(o))
        if own is not None:
            return devices.find(own)
        ip = o.device.ip
        if not ip:
            return None
        sightings = seen_at.get(ip)
        if not sightings:
            return f"ip:{ip}"
        return devices.find(_nearest(sightings, o.time))

    groups: dict[str | None, list[Observation]] = {}
    for o in obs:
        groups.setdefault(owner(o), []).append(o)

    timelines = []
    for key, members in groups.items():
        members.sort(key=lambda o: o.time)
        if key is None:
            timelines.append(DeviceTimeline(DeviceKey(), members))
            continue
        timelines.append(DeviceTimeline(_merged_key(members), members))
    timelines.sort(key=lambda t: t.observations[0].time if t.observations else 0.0)
    return timelines


def _merged_key(members: list[Observation]) -> DeviceKey:
    ranked = [m for m in members if _anchor(m)] + [m for m in members if not _anchor(m)]

    def first(attr: str) -> str | None:  # the User-Agent's identity first
        return next((v for m in ranked if (v := getattr(m.device, attr))), None)

    return DeviceKey(
        ip=first("ip"), mac=first("mac"), serial=first("serial"), product=first("product")
    )
