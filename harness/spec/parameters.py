"""The value grammar of each provisioning parameter, and which parameter names exist.

Each timing and switch parameter of the spec has a form (requirements.md, "Timing
parameters"): `seconds` (`3600`), `units` (a whole count of the family's random-delay
unit, `Resync_Random_Delay`), `delay-list` (`60,120,240`, `N+R`, the last value
repeats), `boolean` (`Yes`/`No`), `hhmm` (a daily time, `0230`). Every other known
parameter is free `text` (profile rules, templates, GPP_x). The delay and boolean
grammars are `harness.spec.values`; this module only says which applies where.
`check_parameter` is what `--param` and other user input go through; unknown names
get the nearest known one. No I/O here.
"""

from __future__ import annotations

import difflib
import re
from functools import cache

from harness.spec.values import parse_bool, parse_delay_schedule

SECONDS, UNITS, DELAY_LIST, BOOLEAN, HHMM, TEXT = (
    "seconds",
    "units",
    "delay-list",
    "boolean",
    "hhmm",
    "text",
)

PARAMETER_KINDS: dict[str, str] = {
    "Resync_On_Reset": BOOLEAN,
    "Resync_Random_Delay": UNITS,
    "Resync_Periodic": SECONDS,
    "Resync_Error_Retry_Delay": DELAY_LIST,
    "Resync_At": HHMM,
    "Resync_At_Random_Delay": SECONDS,
    "Forced_Resync_Delay": SECONDS,
    "Resync_Fails_On_FNF": BOOLEAN,
    "Resync_After_Upgrade_Attempt": BOOLEAN,
    "Upgrade_Error_Retry_Delay": DELAY_LIST,
}

# What each form looks like, for messages.
FORMS: dict[str, str] = {
    SECONDS: "whole seconds, e.g. 3600 (0 disables)",
    UNITS: "a whole number of random-delay units, e.g. 2",
    DELAY_LIST: "seconds, N+R (N s plus a random 0..R s) or a comma list of those, e.g. 60,120+30",
    BOOLEAN: "Yes or No (also Enable/Disable, 1/0)",
    HHMM: "a time of day HHmm, e.g. 0230, or empty",
    TEXT: "any text",
}

# Parameters that are a family of names rather than one (GPP_A..GPP_P, per-line _1_...).
_NAME_PATTERNS = (re.compile(r"GPP_[A-P]"), re.compile(r"[A-Za-z0-9_]+_[1-9][0-9]*_"))
_HHMM = re.compile(r"([01][0-9]|2[0-3])[0-5][0-9]")


def parameter_kind(name: str) -> str:
    return PARAMETER_KINDS.get(name, TEXT)


def check_value(name: str, value: str) -> str | None:
    """None when `value` has the form parameter `name` takes, else what is wrong."""
    kind = parameter_kind(name)
    text = value.strip()
    if kind == TEXT or not text:
        return None
    problem = f"{name} = {value!r}: expected {FORMS[kind]}"
    if kind == BOOLEAN:
        try:
            parse_bool(text, name)
        except ValueError:
            return problem
        return None
    if kind == HHMM:
        return None if _HHMM.fullmatch(text) else problem
    try:
        schedule = parse_delay_schedule(text, name)
    except ValueError:
        return problem
    if kind == DELAY_LIST:
        return None
    (base, extra), *rest = schedule.steps
    if rest or extra or base != int(base):
        return problem
    return None


@cache
def known_names() -> frozenset[str]:
    """Every parameter a shipped family gives a default for, and the typed ones."""
    from harness.spec.family import family_names, load_family

    names = set(PARAMETER_KINDS)
    for fam in family_names():
        names.update(load_family(fam).parameters)
    return frozenset(names)


def is_known(name: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    return name in known_names() or name in extra or any(p.fullmatch(name) for p in _NAME_PATTERNS)


def nearest_known(name: str) -> str | None:
    """The known parameter name closest to `name` (difflib), if any is close."""
    got = difflib.get_close_matches(name, sorted(known_names()), n=1, cutoff=0.6)
    if not got:
        low = {n.lower(): n for n in known_names()}
        got = [low[m] for m in difflib.get_close_matches(name.lower(), sorted(low), n=1)]
    return got[0] if got else None
