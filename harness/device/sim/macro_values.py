"""The phone's macro values: what `$MA`, `$PN`, `$SERVIP`, `$A`... expand to right now.

`macro_values(identity, state, url)` returns every macro of the catalog (names from
harness/spec/data/profile_rule.toml) as text, ready for `harness.spec.macros.expand`.
`option_macro_values(gpp)` returns `SA`..`SD`, which the spec allows only inside
`--key`, `--uid` and `--pwd` arguments, so they are kept out of the general set.

Inputs:
- `identity`: anything with the attributes of `IdentityLike` (the engine's
  `harness.device.sim.identity.Identity` fits): product, serial, mac, firmware,
  hardware, ip, external_ip, has_individual_cert.
- `state`: a `MacroState` (below): what the engine knows at this moment.
- `url`: the `RuleUrl` being fetched (SCHEME, SERV, PORT, PATH come from it; SERVIP
  from `state.server_ip`, else the host when it is an address); without one these
  macros are empty.
Pure functions only: no clock (the engine passes elapsed seconds), no sockets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from harness.device.sim.profile_rule import RuleUrl
from harness.spec._data import load_data
from harness.spec.macros import product_series_number

_SPEC = load_data("profile_rule")
MACRO_NAMES: tuple[str, ...] = tuple(_SPEC["macros"]["names"])
GPP_LETTERS: str = _SPEC["gpp"]["letters"]
GPP_PREFIX: str = _SPEC["gpp"]["prefix"]
SECRET_MACROS: tuple[str, ...] = tuple(_SPEC["gpp"]["secret_letters"])
CCERT_INSTALLED: str = _SPEC["macros"]["ccert_installed"]
CCERT_NOT_INSTALLED: str = _SPEC["macros"]["ccert_not_installed"]
PRVST: dict[str, int] = dict(_SPEC["macros"]["prvst"])  # requested/power_up/periodic/retry


class IdentityLike(Protocol):
    product: str
    serial: str
    mac: str
    firmware: str
    hardware: str
    ip: str
    external_ip: str

    @property
    def has_individual_cert(self) -> bool: ...


@dataclass(frozen=True)
class MacroState:
    """What the engine knows when it expands macros.

    provisioning_state: `$PRVST` (see PRVST: -1 requested, 0 power-up, 1 periodic, 2 retry).
    upgrade_state / upgrade_error: `$UPGST`, `$UPGERR` (text as the engine reports them).
    seconds_since_resync / seconds_since_upgrade: `$PRVTMR`, `$UPGTMR` (None: never; empty).
    error: `$ERR`, the result text of the last attempt.
    gpp: parameter values holding `GPP_A`..`GPP_P` (and `GPP_SA`..`GPP_SD`); a Parameters
         object or any mapping.
    server_ip: `$SERVIP`, the address the URL's server resolved to.
    ip / external_ip: override the identity's addresses (`$IP`, `$EXTIP`) when set.
    """

    provisioning_state: int = 0
    upgrade_state: str = ""
    upgrade_error: str = ""
    seconds_since_resync: float | None = None
    seconds_since_upgrade: float | None = None
    error: str = ""
    gpp: Mapping[str, str] = field(default_factory=dict)
    server_ip: str = ""
    ip: str | None = None
    external_ip: str | None = None


def _mac_hex(mac: str) -> str:
    hexed = re.sub(r"[^0-9A-Fa-f]", "", mac).lower()
    if len(hexed) != 12:
        raise ValueError(f"MAC {mac!r} is not 12 hex digits")
    return hexed


def _seconds(value: float | None) -> str:
    return "" if value is None else str(int(value))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def macro_values(
    identity: IdentityLike, state: MacroState | None = None, url: RuleUrl | None = None
) -> dict[str, str]:
    """Every catalog macro (and `A`..`P`) as text; SA..SD are NOT included (see below)."""
    state = state or MacroState()
    mac = _mac_hex(identity.mac)
    values = {
        "MA": mac,
        "MAU": mac.upper(),
        "MAC": ":".join(mac[i : i + 2] for i in range(0, 12, 2)),
        "PN": identity.product,
        "PSN": product_series_number(identity.product),
        "SN": identity.serial,
        "CCERT": CCERT_INSTALLED if identity.has_individual_cert else CCERT_NOT_INSTALLED,
        "IP": state.ip if state.ip is not None else identity.ip,
        "EXTIP": state.external_ip if state.external_ip is not None else identity.external_ip,
        "SWVER": identity.firmware,
        "HWVER": identity.hardware,
        "PRVST": str(state.provisioning_state),
        "UPGST": state.upgrade_state,
        "UPGERR": state.upgrade_error,
        "PRVTMR": _seconds(state.seconds_since_resync),
        "UPGTMR": _seconds(state.seconds_since_upgrade),
        "SCHEME": "",
        "SERV": "",
        "SERVIP": state.server_ip,
        "PORT": "",
        "PATH": "",
        "ERR": state.error,
    }
    if url is not None:
        values["SCHEME"] = url.scheme
        values["SERV"] = url.host or state.server_ip
        values["PORT"] = str(url.port)
        values["PATH"] = url.target
        if not values["SERVIP"] and url.host and _is_address(url.host):
            values["SERVIP"] = url.host
    for letter in GPP_LETTERS:
        values[letter] = state.gpp.get(GPP_PREFIX + letter, "") or ""
    missing = set(MACRO_NAMES) - set(values)
    assert not missing, f"macro catalog names without a value: {sorted(missing)}"
    return values


def option_macro_values(gpp: Mapping[str, str]) -> dict[str, str]:
    """`SA`..`SD` from `GPP_SA`..`GPP_SD`: only for `--key`/`--uid`/`--pwd` arguments."""
    return {name: gpp.get(GPP_PREFIX + name, "") or "" for name in SECRET_MACROS}
