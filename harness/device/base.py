"""The device-under-test protocol the conformance scenarios drive.

A `DeviceUnderTest` is configured with parameters, made to provision from a
lab (`harness.device.lab.Lab`, which `ProvisioningLab` satisfies), and waited
on. `harness.device.sim_device` adapts the simulated phone; `harness.device.remote` (a real phone through its admin web
interface) implements the same protocol. Capabilities say what a device can
do, so a scenario that needs what a device lacks is skipped with the reason.
No spec logic and no judging here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from harness.rules.registry import DeviceIdentity
from harness.spec.family import Family

if TYPE_CHECKING:
    from harness.device.lab import Lab

# Capability names a scenario may need.
VIRTUAL_TIME = "virtual-time"  # the device's timers run on the lab's clock (hours take no time)
CALLS = "calls"  # the harness can start and end a call on the device
POWER_CYCLE = "power-cycle"  # the harness can power the device up as from the factory
DHCP_OPTION_66 = "dhcp-option-66"  # the harness gives the device its TFTP server as DHCP option 66
UPGRADE = "upgrade"  # the device can be made to fetch firmware
# the harness can make the device a unit without its own client certificate
# (firmware before 2.0.x): `drop_individual_certificate()` before `provision()`
GENERIC_CERT_UNIT = "generic-cert-unit"


class DeviceUnsupported(RuntimeError):
    """The device cannot do what a scenario needs; the scenario is skipped with this reason."""


class DeviceUnderTest(Protocol):
    family: Family
    description: str
    capabilities: frozenset[str]

    @property
    def identity(self) -> DeviceIdentity:
        """What the device is (the rules compare its traffic with this)."""

    async def provision(
        self, lab: Lab, parameters: dict[str, str], *, power_up: bool = True
    ) -> dict[str, str] | None:
        """Configure the device with `parameters` (over its family defaults) to use `lab`
        (DNS, syslog, DHCP option 66, trusted CA) and start it provisioning. A device that
        had to change parameters (a real phone's shortened delays) returns what it applied;
        the scenario's parameters (and so the rules) take those values."""

    async def wait_attempts(self, count: int, timeout: float) -> bool:
        """Wait until the device has made `count` provisioning attempts in all (resync or
        upgrade) or `timeout` seconds of the lab's clock pass; False on timeout."""

    async def set_call(self, active: bool) -> None:
        """Start (True) or end (False) a call; DeviceUnsupported when it cannot."""

    async def stop(self) -> None:
        """Stop the device (and release what `provision` set up)."""
