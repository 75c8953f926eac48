"""`--devices lab.toml`: the devices of a run, one TOML table per device.

```toml
[desk-phone]
kind = "remote"            # sim | remote
family = "cisco-8831-3pcc"
address = "192.0.2.10"     # remote: the admin web interface, HOST[:PORT]
mac = "00:11:22:33:44:55"
serial = "88012BA01234"
product = "CP-8831-3PCC"
admin_user = "admin"       # optional
admin_password = "secret"  # optional
lab_host = "192.0.2.1"     # remote: where the phone reaches the lab
lab_ports = { http = 8080, dns = 5353 }
time_scale = 0.01
manual = false

[reference]
kind = "sim"
quirks = ["retry-404-too-soon"]
```

`load_devices(path)` returns `DeviceSpec`s; a mistake is a `DevicesFileError`
naming the file, the table and the key. Parsing only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from harness.conformance.runner import DeviceSpec
from harness.device.sim.quirks import QuirkError, quirk
from harness.spec.family import FamilyError, load_family

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "family": str,
    "quirks": list,
    "address": str,
    "mac": str,
    "serial": str,
    "product": str,
    "admin_user": str,
    "admin_password": str,
    "lab_host": str,
    "lab_ports": dict,
    "time_scale": (int, float),
    "manual": bool,
    "boot_time": (int, float),
    "min_wait": (int, float),
    "timing_tolerance": (int, float),
}


class DevicesFileError(ValueError):
    """A devices file that cannot be used; the message says where and why."""


def parse_devices(data: dict[str, Any], where: str = "devices file") -> list[DeviceSpec]:
    known = {f.name for f in fields(DeviceSpec)} - {"name"}
    specs: list[DeviceSpec] = []
    if not data:
        raise DevicesFileError(f"{where}: no device tables (write one [name] table per device)")
    for name, table in data.items():
        at = f"{where}: [{name}]"
        if not isinstance(table, dict):
            raise DevicesFileError(f"{at}: expected a table, got {type(table).__name__}")
        if not _NAME.match(name):
            raise DevicesFileError(f"{at}: device names are letters, digits, '.', '_', '-'")
        unknown = sorted(set(table) - known)
        if unknown:
            raise DevicesFileError(f"{at}: unknown keys {unknown} (known: {sorted(known)})")
        for key, value in table.items():
            if not isinstance(value, _TYPES[key]) or isinstance(value, bool) != (key == "manual"):
                raise DevicesFileError(f"{at}: {key} = {value!r} has the wrong type")
        kind = table.get("kind", "sim")
        if kind not in ("sim", "remote"):
            raise DevicesFileError(f"{at}: kind = {kind!r}: expected 'sim' or 'remote'")
        try:
            load_family(table.get("family", "cisco-8831-3pcc"))
            for q in table.get("quirks", []):
                quirk(q)
        except (FamilyError, QuirkError) as exc:
            raise DevicesFileError(f"{at}: {exc}") from None
        if kind == "remote":
            missing = [k for k in ("address", "mac", "serial", "product") if not table.get(k)]
            if missing:
                raise DevicesFileError(f"{at}: a remote device needs {', '.join(missing)}")
        ports = table.get("lab_ports", {})
        bad = [k for k, v in ports.items() if not isinstance(v, int) or not 0 <= v < 65536]
        if bad:
            raise DevicesFileError(f"{at}: lab_ports {bad}: expected port numbers")
        specs.append(DeviceSpec.from_dict({"name": name, **table}))
    return specs


def load_devices(path: str | Path) -> list[DeviceSpec]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise DevicesFileError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DevicesFileError(f"{path}: not valid TOML: {exc}") from None
    return parse_devices(data, str(path))
