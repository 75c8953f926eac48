"""`SimDevice`: the simulated phone as a `DeviceUnderTest`.

Builds a `SimPhone` wired to a lab: the lab's clock (virtual time), its DNS
and syslog endpoints, its TFTP server as DHCP option 66, its server CA as the
trusted CA, and a client certificate from the lab's device CA. Adapter only;
the phone's behaviour lives in harness.device.sim.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from harness.device import base
from harness.device.sim.adapters.source import phone_address
from harness.device.sim.identity import Identity
from harness.device.sim.phone import SimPhone
from harness.rules.registry import DeviceIdentity
from harness.spec.family import Family, load_family

if TYPE_CHECKING:
    from harness.device.lab import Lab


class SimDevice:
    capabilities = frozenset(
        {
            base.VIRTUAL_TIME,
            base.CALLS,
            base.POWER_CYCLE,
            base.DHCP_OPTION_66,
            base.UPGRADE,
            base.GENERIC_CERT_UNIT,
        }
    )

    def __init__(
        self,
        family: Family | str = "cisco-8831-3pcc",
        *,
        quirks: tuple[str, ...] | list[str] = (),
        index: int = 0,
        individual_cert: bool = True,
        seed: int = 0,
    ) -> None:
        self.family = load_family(family) if isinstance(family, str) else family
        self.quirks = tuple(quirks)
        self.individual_cert = individual_cert
        self._generic_unit = False  # set by drop_individual_certificate() until stop()
        self.seed = seed
        self._identity = Identity.for_family(self.family, index)
        self.phone: SimPhone | None = None
        # the phone's own loopback address, fresh for every lab (scenario): captures tell
        # phones and scenarios apart by it
        self.source_address: str | None = None
        self._lab: object | None = None
        quirk_text = f" with quirks {', '.join(self.quirks)}" if self.quirks else " (clean)"
        self.description = f"simulated {self._identity.product}{quirk_text}"

    def source_address_in(self, lab: object) -> str | None:
        """The phone's own loopback address in `lab`, None if it was not provisioned there."""
        return self.source_address if lab is not None and lab is self._lab else None

    @property
    def identity(self) -> DeviceIdentity:
        i = self._identity
        return DeviceIdentity(product=i.product, serial=i.serial, mac=i.mac, firmware=i.firmware)

    def _identity_for(self, lab: Lab) -> Identity:
        i = self._identity
        generic = lab.device_ca.generic_client_cert()
        ident = replace(
            i,
            generic_cert_pem=generic.cert_pem.bytes(),
            generic_key_pem=generic.private_key_pem.bytes(),
        )
        if self.individual_cert and not self._generic_unit:
            own = lab.device_ca.issue_client_cert(i.product, i.serial, i.mac)
            ident = replace(
                ident, cert_pem=own.cert_pem.bytes(), key_pem=own.private_key_pem.bytes()
            )
        return ident

    async def provision(
        self, lab: Lab, parameters: dict[str, str], *, power_up: bool = True
    ) -> None:
        await self._stop_phone()
        if lab is not self._lab:
            self._lab, self.source_address = lab, phone_address()
        params = {"Syslog_Server": f"{lab.syslog.host}:{lab.syslog.port}", **parameters}
        self.phone = SimPhone(
            self.family,
            identity=self._identity_for(lab),
            parameters=params,
            quirks=self.quirks,
            clock=lab.clock,
            dns=lab.dns.address,
            dhcp_tftp_server=f"{lab.tftp.host}:{lab.tftp.port}",
            syslog=lab.syslog.address,
            ca_pem=lab.server_ca.cert_pem.bytes(),
            seed=self.seed,
            source=self.source_address,
        )
        if power_up:
            await self.phone.start()

    async def wait_attempts(self, count: int, timeout: float) -> bool:
        if self.phone is None:
            raise RuntimeError("provision() the device first")
        return await self.phone.run_until(
            lambda p: len(p.attempts) >= count, timeout_virtual_seconds=timeout
        )

    async def set_call(self, active: bool) -> None:
        if self.phone is None:
            raise RuntimeError("provision() the device first")
        if active:
            self.phone.start_call()
        else:
            self.phone.end_call()

    def drop_individual_certificate(self) -> None:
        """Be a unit without its own client certificate until the next stop()."""
        self._generic_unit = True

    async def stop(self) -> None:
        self._generic_unit = False
        await self._stop_phone()

    async def _stop_phone(self) -> None:
        if self.phone is not None:
            await self.phone.stop()
            self.phone = None
