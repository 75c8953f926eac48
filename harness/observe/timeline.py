"""Per-device timelines: observations grouped by the device they belong to.

A device is known by whichever of IP, MAC and serial each observation carries
(the User-Agent gives a serial, DHCP a MAC, every packet an IP). Keys that
appear together on one observation are merged into one device. Pure functions.
"""

from __future__ import annotations

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


def _keys(d: DeviceKey) -> list[str]:
    out = []
    if d.serial:
        out.append(f"sn:{d.serial}")
    if d.mac:
        out.append(f"mac:{d.mac.lower()}")
    if d.ip:
        out.append(f"ip:{d.ip}")
    return out


def build_timelines(observations: Iterable[Observation]) -> list[DeviceTimeline]:
    """Group observations per device (union of co-occurring keys), each sorted by time."""
    obs = list(observations)
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for o in obs:
        keys = _keys(o.device)
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
        if keys:
            find(keys[0])

    groups: dict[str, list[Observation]] = {}
    unattributed: list[Observation] = []
    for o in obs:
        keys = _keys(o.device)
        if keys:
            groups.setdefault(find(keys[0]), []).append(o)
        else:
            unattributed.append(o)

    timelines = []
    for members in groups.values():
        members.sort(key=lambda o: o.time)
        merged = DeviceKey(
            ip=next((m.device.ip for m in members if m.device.ip), None),
            mac=next((m.device.mac for m in members if m.device.mac), None),
            serial=next((m.device.serial for m in members if m.device.serial), None),
            product=next((m.device.product for m in members if m.device.product), None),
        )
        timelines.append(DeviceTimeline(merged, members))
    if unattributed:
        unattributed.sort(key=lambda o: o.time)
        timelines.append(DeviceTimeline(DeviceKey(), unattributed))
    timelines.sort(key=lambda t: t.observations[0].time if t.observations else 0.0)
    return timelines
