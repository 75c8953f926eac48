"""What a device driver needs from the lab it provisions from: the `Lab` protocol.

Drivers (`base.DeviceUnderTest`, `sim_device`, `remote`) are engines beside the
endpoints, not above them: they take any object with the lab's service
addresses, its records and a way to put a file. `harness.endpoints.lab.
ProvisioningLab` satisfies it (tests/device/test_lab_protocol.py checks that);
a driver never imports the endpoints. Only the interface lives here: no
sockets, no files, no spec facts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.clock import Clock
from harness.observe.events import Observation
from harness.observe.timeline import DeviceTimeline
from harness.pki.ca import CA


class LabService(Protocol):
    """One of the lab's servers, as a phone reaches it."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def address(self) -> tuple[str, int]: ...


class LabRecords(Protocol):
    """The lab's record of observations; a driver may clear its own setup traffic."""

    def clear(self) -> None: ...


@runtime_checkable
class Lab(Protocol):
    """Addresses, records, a way to put a file: what a device driver uses of a lab."""

    http: LabService
    tftp: LabService
    dns: LabService
    syslog: LabService
    clock: Clock
    server_ca: CA  # the CA whose root the phone trusts
    device_ca: CA  # issues the phone's client certificate
    recorder: LabRecords

    @property
    def observations(self) -> list[Observation]: ...

    def timelines(self) -> list[DeviceTimeline]: ...

    def put(self, name: str, data: bytes | str) -> Path:
        """Serve `data` as `name` over every file-serving endpoint; returns where it lies."""
        ...
