"""Per-device timelines: observations grouped by the device they belong to.

A device is known by its serial or MAC (strong keys: a User-Agent, a client
certificate or DHCP names them) and seen at an IP address (a weak key: several
phones share one behind a NAT). Strong keys that appear together on one
observation name one device. An observation that carries only an IP (syslog,
DNS, a TFTP transfer) goes to the device seen at that IP — the nearest in time
when several are. Observations with no key at all form one "unknown" timeline.
Pure functions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.observe.events import DeviceKey, Observation

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


def build_timelines(observations: Iterable[Observation]) -> list[DeviceTimeline]:
    """Group observations per device, each timeline sorted by time."""
    obs = list(observations)
    devices = _Devices()
    for o in obs:
        keys = _strong_keys(o.device)
        if keys:
            devices.union(keys)

    # Where each device was seen: ip -> sorted [(time, device root)]
    seen_at: dict[str, list[tuple[float, str]]] = {}
    for o in obs:
        keys = _strong_keys(o.device)
        if keys and o.device.ip:
            seen_at.setdefault(o.device.ip, []).append((o.time, devices.find(keys[0])))
    for sightings in seen_at.values():
        sightings.sort()

    def owner(o: Observation) -> str | None:
        keys = _strong_keys(o.device)
        if keys:
            return devices.find(keys[0])
        ip = o.device.ip
        if not ip:
            return None
        sightings = seen_at.get(ip)
        if not sightings:
            return f"ip:{ip}"
        if len({root for _, root in sightings}) == 1:
            return sightings[0][1]
        i = bisect.bisect_left(sightings, (o.time, ""))
        near = [sightings[j] for j in (i - 1, i) if 0 <= j < len(sightings)]
        return min(near, key=lambda s: abs(s[0] - o.time))[1]

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
    def first(attr: str) -> str | None:
        return next((v for m in members if (v := getattr(m.device, attr))), None)

    return DeviceKey(
        ip=first("ip"), mac=first("mac"), serial=first("serial"), product=first("product")
    )
