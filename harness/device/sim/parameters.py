"""The phone's parameters by their spec names, over the family defaults.

`Parameters(family)` starts from the family file's `[parameters]` (plus the
general-purpose `GPP_A`..`GPP_P`, `GPP_SA`..`GPP_SD`, empty); `apply(profile,
access)` takes a parsed profile: known names are set, unknown names are ignored
(and listed in the result), `ua` access values are kept per name. Typed reads:
`get_int`, `get_bool` (`Yes`/`No` and the guide's synonyms), and
`delay_schedule` for the delay grammar of `Resync_Error_Retry_Delay` and friends:
`3600`, a back-off list `60,120,240` whose last value repeats, and `N+R` (N plus a
random 0..R seconds) on any list entry (`1800+300,3600+600`).
No clock and no I/O here: delays are numbers for the engine to schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from harness.spec._data import load_data
from harness.spec.family import Family, load_family
from harness.spec.values import DelaySchedule, parse_bool, parse_delay_schedule

_GPP = load_data("profile_rule")["gpp"]
GPP_NAMES: tuple[str, ...] = tuple(
    _GPP["prefix"] + x for x in (*_GPP["letters"], *_GPP["secret_letters"])
)
ACCESS_VALUES = ("na", "ro", "rw")


@dataclass
class ApplyResult:
    """What `Parameters.apply` did: names set (value changed or not) and names ignored."""

    applied: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class Parameters(Mapping[str, str]):
    """The phone's current parameter values (a read-only Mapping; change them with `apply`)."""

    def __init__(
        self,
        family: Family | str,
        overrides: Mapping[str, str] | None = None,
        extra_names: Iterable[str] = (),
    ) -> None:
        self.family = load_family(family) if isinstance(family, str) else family
        self._values: dict[str, str] = {n: "" for n in GPP_NAMES}
        self._values.update({n: "" for n in extra_names})
        self._values.update(self.family.parameters)
        self.access: dict[str, str] = {}
        if overrides:
            result = self.apply(overrides)
            if result.ignored:
                raise KeyError(
                    f"unknown parameter(s) for family {self.family.name}: "
                    f"{', '.join(result.ignored)} (pass extra_names to add them)"
                )

    # Mapping
    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Parameters({self.family.name!r}, {len(self)} values)"

    def knows(self, name: str) -> bool:
        return name in self._values

    def apply(
        self, profile: Mapping[str, str], access: Mapping[str, str] | None = None
    ) -> ApplyResult:
        """Take a profile's values (unknown names ignored) and its `ua` access settings."""
        result = ApplyResult()
        for name, value in profile.items():
            if name not in self._values:
                result.ignored.append(name)
                continue
            result.applied.append(name)
            if self._values[name] != value:
                result.changed.append(name)
                self._values[name] = value
        for name, ua in (access or {}).items():
            if ua not in ACCESS_VALUES:
                raise ValueError(f"{name}: user access {ua!r} is not one of na, ro, rw")
            if name in self._values:
                self.access[name] = ua
            elif name not in result.ignored:
                result.ignored.append(name)
        return result

    def user_access(self, name: str) -> str:
        """The user access (`na`, `ro`, `rw`) a profile set; `rw` when none did."""
        return self.access.get(name, "rw")

    def get_int(self, name: str) -> int:
        text = self[name].strip()
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name} = {self[name]!r}: not a whole number") from None

    def get_bool(self, name: str) -> bool:
        return parse_bool(self[name], name)

    def delay_schedule(self, name: str) -> DelaySchedule:
        return parse_delay_schedule(self[name], name)

    def random_delay_max(self, name: str = "Resync_Random_Delay") -> float:
        """The longest random delay in seconds (the value times the family's unit)."""
        return self.get_int(name) * self.family.random_delay_unit_seconds

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)
