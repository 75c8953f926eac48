"""Device families: one TOML file per family, validated on load.

A family file (harness/spec/families/<name>.toml, or any path a user gives)
holds what differs between families: User-Agent format, cipher-suite set,
parameter defaults, syslog template names, DHCP option precedence, whether
firmware may come over HTTPS. Loading checks every key and names the file, the
key and the problem. No behaviour lives here: rules and the phone read it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from harness.spec.ciphers import suite_sets
from harness.spec.values import parse_delay_schedule

TLS_VERSIONS = ("SSL3.0", "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3")


class FamilyError(ValueError):
    """A family file is missing, unreadable or invalid; the message says where."""


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    maker: str
    products: tuple[str, ...]
    default_product: str
    ua_format: str
    ua_pattern: re.Pattern[str]
    ua_carries_firmware: bool
    ua_identity_field: str  # "serial" or "mac": what identifies the unit in the UA
    cipher_suite_set: str
    cipher_suites: frozenset[int]
    tls_max_version: str
    tls_check_san: bool
    tls_cn_suffix_accepted: bool
    tls_dns_ip_check: bool
    upgrade_https_allowed: bool
    aes_kdf_digest: str
    tftp_option_precedence: tuple[int, ...]
    syslog_params: dict[str, str]  # role ("request", "success", ...) -> parameter name
    random_delay_unit_seconds: int
    parameters: dict[str, str] = field(default_factory=dict)
    path: str = ""

    def default(self, name: str) -> str:
        """A parameter's default value in this family ('' when the family has none)."""
        return self.parameters.get(name, "")


# (section, key) -> (type, required)
_SCHEMA: dict[tuple[str, str], tuple[type | tuple[type, ...], bool]] = {
    ("family", "name"): (str, True),
    ("family", "description"): (str, False),
    ("family", "maker"): (str, True),
    ("family", "products"): (list, True),
    ("family", "default_product"): (str, True),
    ("user_agent", "format"): (str, True),
    ("user_agent", "pattern"): (str, True),
    ("user_agent", "carries_firmware"): (bool, False),
    ("user_agent", "identity_field"): (str, False),
    ("tls", "cipher_suites"): (str, True),
    ("tls", "max_version"): (str, True),
    ("tls", "check_san"): (bool, False),
    ("tls", "cn_suffix_accepted"): (bool, False),
    ("tls", "dns_ip_check"): (bool, False),
    ("upgrade", "https_allowed"): (bool, True),
    ("profile", "aes_kdf_digest"): (str, True),
    ("dhcp", "tftp_option_precedence"): (list, True),
    ("syslog", "request"): (str, True),
    ("syslog", "success"): (str, True),
    ("syslog", "failure"): (str, True),
    ("syslog", "upgrade_request"): (str, False),
    ("syslog", "upgrade_success"): (str, False),
    ("syslog", "upgrade_failure"): (str, False),
    ("timing", "random_delay_unit_seconds"): (int, False),
}
_SECTIONS = {s for s, _ in _SCHEMA} | {"parameters"}
# Delay parameters every family must give a default for (the phone's timers need them).
REQUIRED_DELAYS = (
    "Resync_Periodic",
    "Resync_Random_Delay",
    "Resync_Error_Retry_Delay",
    "Forced_Resync_Delay",
    "Upgrade_Error_Retry_Delay",
)


def _fail(path: str, key: str, problem: str) -> FamilyError:
    return FamilyError(f"{path}: {key}: {problem}")


def _validate(raw: dict[str, Any], path: str) -> None:
    for section in raw:
        if section not in _SECTIONS:
            raise _fail(
                path, f"[{section}]", f"unknown section (known: {', '.join(sorted(_SECTIONS))})"
            )
    for (section, key), (typ, required) in _SCHEMA.items():
        where = f"[{section}].{key}"
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise _fail(path, f"[{section}]", "must be a table")
        if key not in table:
            if required:
                raise _fail(path, where, "missing")
            continue
        if not isinstance(table[key], typ) or (typ is int and isinstance(table[key], bool)):
            raise _fail(path, where, f"must be {typ.__name__}, got {type(table[key]).__name__}")
    for section, table in raw.items():
        if section == "parameters":
            for name, value in table.items():
                if not isinstance(value, str):
                    raise _fail(path, f"[parameters].{name}", "parameter values are strings")
            continue
        for key in table:
            if (section, key) not in _SCHEMA:
                raise _fail(path, f"[{section}].{key}", "unknown key")


def _build(raw: dict[str, Any], path: str) -> Family:
    _validate(raw, path)
    fam, ua, tls = raw["family"], raw["user_agent"], raw["tls"]
    try:
        pattern = re.compile(ua["pattern"])
    except re.error as exc:
        raise _fail(path, "[user_agent].pattern", f"not a regular expression: {exc}") from None
    missing_groups = {"product"} - set(pattern.groupindex)
    if missing_groups:
        raise _fail(path, "[user_agent].pattern", "must have a named group (?P<product>...)")
    sets = suite_sets()
    if tls["cipher_suites"] not in sets:
        known = ", ".join(sorted(sets))
        raise _fail(
            path,
            "[tls].cipher_suites",
            f"unknown suite set {tls['cipher_suites']!r} (known: {known})",
        )
    if tls["max_version"] not in TLS_VERSIONS:
        raise _fail(path, "[tls].max_version", f"must be one of {', '.join(TLS_VERSIONS)}")
    digest = raw["profile"]["aes_kdf_digest"]
    if digest not in ("md5", "sha256"):
        raise _fail(path, "[profile].aes_kdf_digest", "must be 'md5' or 'sha256'")
    identity = ua.get("identity_field", "serial")
    if identity not in ("serial", "mac"):
        raise _fail(path, "[user_agent].identity_field", "must be 'serial' or 'mac'")
    if fam["default_product"] not in fam["products"]:
        raise _fail(path, "[family].default_product", "must be one of [family].products")
    params = raw.get("parameters", {})
    for name in REQUIRED_DELAYS:
        if name not in params:
            raise _fail(
                path, f"[parameters].{name}", "missing (every family needs this delay's default)"
            )
        try:
            if parse_delay_schedule(params[name], name).is_empty:
                raise ValueError("empty")
        except ValueError as exc:
            raise _fail(path, f"[parameters].{name}", f"not a delay: {exc}") from None
    options = raw["dhcp"]["tftp_option_precedence"]
    if not all(isinstance(o, int) and 1 <= o <= 254 for o in options):
        raise _fail(path, "[dhcp].tftp_option_precedence", "must be DHCP option numbers (1..254)")
    return Family(
        name=fam["name"],
        description=fam.get("description", ""),
        maker=fam["maker"],
        products=tuple(fam["products"]),
        default_product=fam["default_product"],
        ua_format=ua["format"],
        ua_pattern=pattern,
        ua_carries_firmware=ua.get("carries_firmware", False),
        ua_identity_field=identity,
        cipher_suite_set=tls["cipher_suites"],
        cipher_suites=sets[tls["cipher_suites"]],
        tls_max_version=tls["max_version"],
        tls_check_san=tls.get("check_san", False),
        tls_cn_suffix_accepted=tls.get("cn_suffix_accepted", True),
        tls_dns_ip_check=tls.get("dns_ip_check", True),
        upgrade_https_allowed=raw["upgrade"]["https_allowed"],
        aes_kdf_digest=digest,
        tftp_option_precedence=tuple(options),
        syslog_params=dict(raw["syslog"]),
        random_delay_unit_seconds=raw.get("timing", {}).get("random_delay_unit_seconds", 1),
        parameters=dict(raw.get("parameters", {})),
        path=path,
    )


def load_family_file(path: str | Path) -> Family:
    """Load and validate a family file from any path."""
    path = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise FamilyError(f"{path}: no such family file") from None
    except tomllib.TOMLDecodeError as exc:
        raise FamilyError(f"{path}: not valid TOML: {exc}") from None
    return _build(raw, path)


def family_names() -> list[str]:
    """The families shipped with the harness."""
    folder = resources.files("harness.spec").joinpath("families")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


@cache
def load_family(name_or_path: str) -> Family:
    """A shipped family by name (`cisco-8831-3pcc`) or a family file by path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return load_family_file(name_or_path)
    if name_or_path not in family_names():
        known = ", ".join(family_names())
        raise FamilyError(
            f"unknown device family {name_or_path!r} (shipped: {known}; or give a .toml path)"
        )
    path = resources.files("harness.spec").joinpath("families", f"{name_or_path}.toml")
    return _build(
        tomllib.loads(path.read_text("utf-8")), f"harness/spec/families/{name_or_path}.toml"
    )
