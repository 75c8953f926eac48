"""The device parameters timing rules need, from the command line, a file or the capture.

Precedence (later wins): family defaults (applied by `RuleContext.param`), a
profile seen in the capture for that device, `--profile FILE` (optionally
decrypted with `--key`), `--param NAME=VALUE`. `rule_key` is the `--key` a
device's Profile_Rule names (used to read the profiles it fetched). Profile parsing is
`harness.profiles.load_profile_bytes` (gzip, AES, XML and plain forms) when
that package is importable, else a small XML `<flat-profile>` reader here.
No sockets here.

`sniff_profile` remembers its last answers by body bytes (`SNIFF_CACHE` entries,
bodies up to `SNIFF_CACHE_BODY` bytes): a fleet downloads the same profile file
many times in one capture, and parsing it each time was a visible share of a run.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from harness.rules.registry import DeviceIdentity, RuleContext
from harness.rules.status_rules import rule_targets
from harness.spec.family import Family
from harness.spec.parameters import check_value, is_known, nearest_known

try:
    from harness.profiles.parse import load_profile_bytes as _load_profile_bytes
except ImportError:  # the profiles package not landed: plain XML only
    _load_profile_bytes = None


class ParamError(ValueError):
    """A --param, --profile or --key the user gave is unusable; the message says why."""


def parse_param_args(items: list[str] | None) -> dict[str, str]:
    """`NAME=VALUE` strings to a dict; a malformed item or a value that is not of its
    parameter's form (`harness.spec.parameters`) raises ParamError naming it."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParamError(f"--param {item!r}: expected NAME=VALUE (e.g. Resync_Periodic=3600)")
        problem = check_value(name.strip(), value)
        if problem:
            raise ParamError(f"--param {problem}")
        out[name.strip()] = value
    return out


def unknown_param_warnings(params: dict[str, str]) -> list[str]:
    """One line per parameter name no family knows, with the nearest known name."""
    out = []
    for name in params:
        if is_known(name):
            continue
        near = nearest_known(name)
        hint = f"; did you mean {near}?" if near else ""
        out.append(f"--param {name}: not a parameter any family knows (taken as given){hint}")
    return out


def _xml_flat_profile(data: bytes) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ParamError(f"not an XML flat profile: {exc}") from None
    if root.tag != "flat-profile":
        raise ParamError(f"not a flat profile: root element is <{root.tag}>")
    return {child.tag: (child.text or "").strip() for child in root}


def profile_parameters(data: bytes, key: str | None = None) -> dict[str, str]:
    """The parameters of a profile's bytes; raises ParamError when they are not a profile."""
    if _load_profile_bytes is not None:
        try:
            return dict(_load_profile_bytes(data, key))
        except ValueError as exc:
            raise ParamError(str(exc)) from None
    if key:
        raise ParamError("--key needs harness.profiles (not installed in this tree)")
    return _xml_flat_profile(data.lstrip(b"\xef\xbb\xbf \r\n\t"))


def load_profile_file(path: str, key: str | None = None) -> dict[str, str]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ParamError(f"--profile {path}: cannot read: {exc.strerror}") from None
    try:
        return profile_parameters(data, key)
    except ParamError as exc:
        raise ParamError(f"--profile {path}: {exc}") from None


SNIFF_CACHE = 32
SNIFF_CACHE_BODY = 256 * 1024
_sniffed: dict[tuple[bytes, str | None], dict[str, str] | None] = {}


def sniff_profile(body: bytes, key: str | None = None) -> dict[str, str] | None:
    """Parameters of a body seen in the capture, if it is a profile (else None, quietly)."""
    if len(body) > SNIFF_CACHE_BODY:
        return _sniff_profile(body, key)
    ck = (bytes(body), key)
    if ck in _sniffed:
        got = _sniffed[ck]
    else:
        got = _sniff_profile(ck[0], key)
        if len(_sniffed) >= SNIFF_CACHE:
            _sniffed.clear()
        _sniffed[ck] = got
    return dict(got) if got is not None else None


def _sniff_profile(body: bytes, key: str | None) -> dict[str, str] | None:
    head = body[:64].lstrip(b"\xef\xbb\xbf \r\n\t")
    if not head:
        return None
    plausible = (
        head.startswith(b"<flat-profile")
        or head.startswith(b"<?xml")
        or head[:2]
        in (
            b"\x1f\x8b",
            b"Sa",
        )
    )
    if not plausible:
        return None
    try:
        params = profile_parameters(body, key)
    except (ParamError, ValueError):
        return None
    return params or None


def rule_key(family: Family, params: dict[str, str]) -> str | None:
    """The `--key` option of the first Profile_Rule* in `params` (without macros), if any."""
    ctx = RuleContext(family, DeviceIdentity(), dict(params), {})
    for target in rule_targets(ctx):
        key = target.options.get("key")
        if key and "$" not in key:
            return key
    return None
