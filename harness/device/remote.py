"""`RemoteDevice`: a real phone as a `DeviceUnderTest`, driven through its admin web interface.

The phone cannot be configured directly, so `provision()` writes a *setup
profile* into the lab (`lab.put`): the family's defaults, the scenario's
parameters, the lab's syslog server, and every delay parameter shortened by
`time_scale` (so timing rules run in minutes; the shortened values are
returned and become the scenario's parameters, which the rules judge, each
value keeping its form; `timing_tolerance` is what the timing rules then allow,
harness.rules.tolerance's default when None). It
triggers `/admin/resync?<setup url>`, waits until the phone fetched it, lets
the phone settle, clears the lab's records (the setup is not under test), and
then `/admin/reboot` (power-up) so the phone provisions as the scenario says.
The lab must be reachable by the phone: `lab_options()` gives run_scenario a
host, fixed ports and one server CA for the whole run (install its PEM on the
phone). Calls and power cycles are asked of the operator (`manual=True`:
printed instruction, then Enter or a wait); otherwise they are unsupported.
Driver only: no spec logic, no judging.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.device import base
from harness.observe.events import HttpExchange, TlsHandshake
from harness.pki import DeviceCA, ServerCA
from harness.profiles import render_xml_profile
from harness.rules.attempts import group_attempts
from harness.rules.registry import DeviceIdentity
from harness.rules.tolerance import check_tolerance
from harness.spec.family import Family, load_family
from harness.spec.parameters import UNITS, check_value, parameter_kind
from harness.spec.values import parse_delay_schedule

if TYPE_CHECKING:
    from harness.device.lab import Lab

# Harness choices (not spec facts): how much the spec's delays are shortened on a
# real phone, and the floors that keep a shortened delay measurable in real time.
DEFAULT_TIME_SCALE = 0.01
MIN_DELAY = 5  # seconds: no shortened delay below this (unless the scenario says 0)
MIN_WAIT = 20.0  # seconds: the shortest wait for attempts
SETTLE = 0.5  # seconds to let trailing syslog messages arrive
POLL = 0.05
SETUP_NAME = "harness-setup-{serial}.xml"
# Parameters the driver shortens: the family's timers (names ending like these).
_DELAY_NAME = re.compile(r"(_Delay|_Periodic)$")


class RemoteDeviceError(RuntimeError):
    """The phone did not do what the driver asked (unreachable, no setup fetch...)."""


def _say(text: str) -> None:
    print(f"[operator] {text}", file=sys.stderr, flush=True)


class RemoteDevice:
    def __init__(
        self,
        family: Family | str = "cisco-8831-3pcc",
        *,
        address: str,
        mac: str,
        serial: str,
        product: str,
        firmware: str | None = None,
        admin_user: str | None = None,
        admin_password: str | None = None,
        lab_host: str = "127.0.0.1",
        lab_ports: dict[str, int] | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        manual: bool = False,
        operator: Callable[[str], None] = _say,
        operator_wait: float | None = None,
        boot_time: float = 90.0,
        setup_timeout: float = 60.0,
        min_delay: int = MIN_DELAY,
        min_wait: float = MIN_WAIT,
        timing_tolerance: float | None = None,
    ) -> None:
        if not 0 < time_scale <= 1:
            raise ValueError(f"time_scale {time_scale}: expected 0 < scale <= 1")
        # what the timing rules allow this phone (None: harness.rules.tolerance's default)
        self.timing_tolerance = (
            None if timing_tolerance is None else check_tolerance(timing_tolerance)
        )
        self.family = load_family(family) if isinstance(family, str) else family
        self.address = address if "://" in address else f"http://{address}"
        self.mac, self.serial, self.product, self.firmware = mac, serial, product, firmware
        self.admin_user, self.admin_password = admin_user, admin_password
        self.lab_host, self.lab_ports = lab_host, dict(lab_ports or {})
        self.time_scale, self.min_delay, self.min_wait = time_scale, min_delay, min_wait
        self.manual, self.operator, self.operator_wait = manual, operator, operator_wait
        self.boot_time, self.setup_timeout = boot_time, setup_timeout
        caps = {base.UPGRADE}
        if manual:
            caps |= {base.CALLS}
        self.capabilities = frozenset(caps)
        self.description = f"real {product} {serial} at {address}"
        self.server_ca = ServerCA()  # one CA for the whole run: install it on the phone once
        self.device_ca = DeviceCA()
        self.lab: Lab | None = None
        self.requests: list[str] = []  # admin URLs called, in order
        self._booting = False

    @property
    def identity(self) -> DeviceIdentity:
        return DeviceIdentity(
            product=self.product, serial=self.serial, mac=self.mac, firmware=self.firmware
        )

    # -- lab and parameters --------------------------------------------------------
    def lab_options(self) -> dict[str, Any]:
        """What run_scenario gives the lab: where the phone reaches it, and the run's CAs."""
        return {
            "host": self.lab_host,
            "ports": dict(self.lab_ports),
            "server_ca": self.server_ca,
            "device_ca": self.device_ca,
        }

    def delay_parameters(self) -> list[str]:
        return [n for n in self.family.parameters if _DELAY_NAME.search(n)]

    def shorten(self, parameters: dict[str, str]) -> dict[str, str]:
        """The delay parameters (given, else the family's defaults) scaled by time_scale.

        Each keeps its form (`harness.spec.parameters`): a delay list is scaled value by
        value (`60,120+30` stays a list, `N+R` keeps its random part); a delay floors at
        `min_delay`, but a random spread (`Resync_Random_Delay` units, the `R` of `N+R`,
        `Resync_At_Random_Delay`) only shrinks: the timing rules judge what is returned.
        """
        out = {}
        for name in self.delay_parameters():
            text = parameters.get(name, self.family.default(name))
            if not isinstance(text, str) or check_value(name, text) is not None:
                continue  # not of its form (a macro, a typo): it stays as the scenario wrote it
            try:
                schedule = parse_delay_schedule(text, name)
            except ValueError:
                continue
            if schedule.is_empty:
                continue  # empty stays empty
            spread = parameter_kind(name) == UNITS or "Random" in name
            steps = []
            for seconds, extra in schedule.steps:
                short = self._scaled(seconds, floor=not spread)
                rand = self._scaled(extra, floor=False)
                steps.append(f"{short}+{rand}" if extra else short)
            out[name] = ",".join(steps)
        return out

    def _scaled(self, value: float, *, floor: bool) -> str:
        if value <= 0:
            return "0"
        scaled = round(value * self.time_scale)
        return str(max(self.min_delay, scaled) if floor else scaled)

    def real_timeout(self, timeout: float) -> float:
        return max(self.min_wait, timeout * self.time_scale)

    # -- admin web interface --------------------------------------------------------
    def admin_url(self, path: str, query: str = "") -> str:
        if self.admin_user is not None:
            creds = urllib.parse.urlencode(
                {"xuser": self.admin_user, "xpassword": self.admin_password or ""}
            )
            query = f"{query}&{creds}" if query else creds
        return f"{self.address.rstrip('/')}{path}" + (f"?{query}" if query else "")

    def _get(self, url: str) -> int:
        self.requests.append(url)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - the operator's phone
                return resp.status
        except urllib.error.HTTPError as exc:
            raise RemoteDeviceError(
                f"{self.description}: {url} answered {exc.code} (admin credentials?)"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteDeviceError(
                f"{self.description}: cannot reach the admin web interface at {url}: {exc}"
            ) from None

    async def trigger(self, path: str, target: str = "") -> None:
        await asyncio.to_thread(self._get, self.admin_url(path, target))

    # -- DeviceUnderTest -------------------------------------------------------------
    async def provision(
        self, lab: Lab, parameters: dict[str, str], *, power_up: bool = True
    ) -> dict[str, str]:
        self.lab = lab
        applied = {**parameters, **self.shorten(parameters)}
        setup = {**self.family.parameters, **applied}
        setup["Syslog_Server"] = f"{lab.syslog.host}:{lab.syslog.port}"
        name = SETUP_NAME.format(serial=self.serial)
        path = lab.put(name, render_xml_profile(setup))
        url = f"http://{lab.http.host}:{lab.http.port}/{name}"
        await self.trigger("/admin/resync", url)
        fetched = await self._wait(
            lambda: any(
                isinstance(o, HttpExchange) and name in (o.url or "") for o in lab.observations
            ),
            self.setup_timeout,
        )
        path.unlink(missing_ok=True)
        if not fetched:
            raise RemoteDeviceError(
                f"{self.description} did not fetch the setup profile {url} within "
                f"{self.setup_timeout:.0f} s: can it reach {lab.http.host}:{lab.http.port}?"
            )
        await asyncio.sleep(SETTLE * 2)
        lab.recorder.clear()  # the setup is not under test
        if power_up:
            await self.trigger("/admin/reboot")
            self._booting = True
        return applied

    def attempts_seen(self) -> int:
        if self.lab is None:
            return 0
        count = sum(len(group_attempts(tl)) for tl in self.lab.timelines())
        failed_tls = [
            o for o in self.lab.observations if isinstance(o, TlsHandshake) and not o.established
        ]
        return count + len(failed_tls)

    async def wait_attempts(self, count: int, timeout: float) -> bool:
        if self.lab is None:
            raise RuntimeError("provision() the device first")
        limit = self.real_timeout(timeout) + (self.boot_time if self._booting else 0.0)
        self._booting = False
        ok = await self._wait(lambda: self.attempts_seen() >= count, limit)
        await asyncio.sleep(SETTLE)  # the attempt's closing syslog message
        return ok

    async def set_call(self, active: bool) -> None:
        if not self.manual:
            raise base.DeviceUnsupported(
                "starting and ending calls needs the operator (run with --manual)"
            )
        what = "Start a call on" if active else "End the call on"
        await self.ask(f"{what} {self.product} {self.serial}, then press Enter.")

    async def ask(self, text: str) -> None:
        """Tell the operator what to do; wait for Enter (a terminal) or operator_wait seconds."""
        self.operator(text)
        if self.operator_wait is not None or not sys.stdin.isatty():
            await asyncio.sleep(self.operator_wait or 0.0)
        else:
            await asyncio.to_thread(sys.stdin.readline)

    async def stop(self) -> None:
        self.lab = None

    @staticmethod
    async def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL)
        return True
