"""Who a simulated phone is: product, serial, MAC, firmware, hardware, certificates.

`Identity` is plain data handed to the engine (macros, User-Agent) and to the
TLS adapter (client certificate). `Identity.for_family(family, index)` makes a
distinct, deterministic unit of a family so that a fleet of phones differs.
No sockets, no clock and no certificate generation here (harness.pki does that).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.spec.family import Family


@dataclass(frozen=True, slots=True)
class Identity:
    product: str
    serial: str
    mac: str  # lower-case hex, no separators
    firmware: str = "1.0.0"
    hardware: str = "1.0"
    ip: str = "127.0.0.1"
    external_ip: str = ""
    # The unit's own (individual) client certificate, or none; the generic one
    # is what a unit without an individual certificate presents.
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    generic_cert_pem: bytes | None = None
    generic_key_pem: bytes | None = None

    def __post_init__(self) -> None:
        mac = self.mac.lower().replace(":", "").replace("-", "")
        if len(mac) != 12 or any(c not in "0123456789abcdef" for c in mac):
            raise ValueError(f"identity: MAC {self.mac!r} is not 12 hex digits")
        object.__setattr__(self, "mac", mac)
        if not self.serial or not self.serial.isalnum():
            raise ValueError(f"identity: serial {self.serial!r} must be letters and digits")

    @property
    def mac_colons(self) -> str:
        return ":".join(self.mac[i : i + 2] for i in range(0, 12, 2))

    @property
    def has_individual_cert(self) -> bool:
        return self.cert_pem is not None and self.key_pem is not None

    def with_firmware(self, firmware: str) -> Identity:
        return replace(self, firmware=firmware)

    @classmethod
    def for_family(cls, family: Family, index: int = 0, **overrides: object) -> Identity:
        """Unit number `index` of `family`: serial and MAC derived from the index."""
        base = {
            "product": family.default_product,
            "serial": f"SIM{index + 1:08d}",
            "mac": f"0200{index:08x}",
            "firmware": "1.0.0",
            "hardware": "1.0",
        }
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]
