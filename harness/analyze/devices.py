"""Devices the user states for `harness analyze`: `--device` and `--devices lab.toml`.

`--device serial=88012BA01234,mac=00:0e:08:aa:bb:cc,product=CP-8831-3PCC,ip=192.0.2.10`
(repeatable; any subset of the keys, at least one) or a devices file in the format
`harness conform --devices` reads (`harness.conformance.devices_file`: `serial`, `mac`,
`product`, and `address` whose host is taken as the device's IP). A stated device is an
identity independent of the traffic: the identity rules judge the User-Agent, the
client certificate and the MAC against it, and a client it names is judged even when
nothing in its traffic says it is a phone.

`stated_for(stated, timeline)` says which stated device a timeline is (by serial, MAC or
IP seen on any of its observations). Parsing and matching only; no rules, no output.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.observe.events import HttpExchange, TlsHandshake
from harness.observe.timeline import DeviceTimeline

KEYS = ("serial", "mac", "product", "ip")
_MAC = re.compile(r"^[0-9a-f]{12}$")


class DeviceArgError(ValueError):
    """A `--device`/`--devices` value that cannot be used; the message says why."""


@dataclass(frozen=True)
class StatedDevice:
    serial: str | None = None
    mac: str | None = None  # lower-case hex, no separators
    product: str | None = None
    ip: str | None = None
    name: str = ""  # the devices-file table, or the --device text

    def describe(self) -> str:
        parts = [f"{k}={v}" for k in KEYS if (v := getattr(self, k))]
        return ",".join(parts)


def _mac(value: str, where: str) -> str:
    mac = value.strip().lower().replace(":", "").replace("-", "").replace(".", "")
    if not _MAC.match(mac):
        raise DeviceArgError(f"{where}: mac {value!r} is not a MAC address (00:0e:08:aa:bb:cc)")
    return mac


def _ip(value: str, where: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        raise DeviceArgError(f"{where}: ip {value!r} is not an IP address") from None


def parse_device_arg(text: str) -> StatedDevice:
    """One `--device KEY=VALUE,...` (see the module docstring)."""
    where = f"--device {text!r}"
    values: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in KEYS or not value.strip():
            raise DeviceArgError(
                f"{where}: expected KEY=VALUE pairs separated by commas, KEY in {', '.join(KEYS)}"
            )
        if key in values:
            raise DeviceArgError(f"{where}: {key} given twice")
        values[key] = value.strip()
    if not values:
        raise DeviceArgError(f"{where}: name at least one of {', '.join(KEYS)}")
    return StatedDevice(
        serial=values.get("serial"),
        mac=_mac(values["mac"], where) if "mac" in values else None,
        product=values.get("product"),
        ip=_ip(values["ip"], where) if "ip" in values else None,
        name=text,
    )


def stated_from_specs(specs: Iterable[Any], path: str | Path) -> list[StatedDevice]:
    """The stated devices of a devices file's entries (`DeviceSpec`s, read by the CLI).

    Read by `harness.conformance.devices_file.load_devices` in the face
    (`harness.analyze.cli`): this engine module does not import conformance.
    """
    out = []
    for spec in specs:
        where = f"{path}: [{spec.name}]"
        host = None
        if spec.address:
            addr = spec.address
            host = addr[1:].partition("]")[0] if addr.startswith("[") else addr
            if host.count(":") == 1:  # HOST:PORT (an IPv6 address has several colons)
                host = host.partition(":")[0]
            try:
                host = str(ipaddress.ip_address(host))
            except ValueError:
                host = None  # a host name: not an address seen on the wire
        if not (spec.serial or spec.mac or spec.product or host):
            continue  # a simulated device of the lab: nothing to recognise it by
        out.append(
            StatedDevice(
                serial=spec.serial,
                mac=_mac(spec.mac, where) if spec.mac else None,
                product=spec.product,
                ip=host,
                name=spec.name,
            )
        )
    return out


def _seen(timeline: DeviceTimeline) -> tuple[set[str], set[str], set[str]]:
    """Serials, MACs and IPs any observation of the timeline carries (device keys, certs)."""
    serials, macs, ips = set(), set(), set()
    for o in timeline.observations:
        d = o.device
        if d.serial:
            serials.add(d.serial.lower())
        if d.mac:
            macs.add(d.mac.lower().replace(":", ""))
        if d.ip:
            ips.add(d.ip)
        if isinstance(o, TlsHandshake) and o.client_cert_subject:
            subj = o.client_cert_subject
            if subj.get("L"):
                serials.add(subj["L"].lower())
        if isinstance(o, HttpExchange) and o.client:
            ips.add(o.client[0])
    return serials, macs, ips


def stated_for(stated: list[StatedDevice], timeline: DeviceTimeline) -> StatedDevice | None:
    """The stated device this timeline is: by serial, then MAC, then IP (None: not stated)."""
    if not stated:
        return None
    serials, macs, ips = _seen(timeline)
    for attr, seen in (("serial", serials), ("mac", macs), ("ip", ips)):
        for dev in stated:
            value = getattr(dev, attr)
            if value and value.lower() in seen:
                return dev
    return None
