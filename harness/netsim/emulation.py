"""NAT kinds EMULATED on loopback by userspace relays, for machines without root.

`EmulatedNat(nat="symmetric")` pairs a UdpRelay (mapping and filtering of the
named kind) with a TcpRelay, on loopback addresses. It is an EMULATION, not a
kernel NAT, and says so everywhere: `emulated` is True, `repr`, `describe()`
and `fact()` (`{"kind": ..., "emulated": True, ...}`, what a report's `nat`
fact holds) all carry the word. What it cannot do: translate the client's own
address (the client must send to the relay's inside addresses, not to the
server's), TFTP/ALG helpers, mapping timeouts, ICMP, and TCP beyond outbound
connections. Kinds and labels only: the relaying is relay.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from harness.endpoints.base import Service
from harness.netsim.nat import (
    ADDRESS_AND_PORT_DEPENDENT,
    ADDRESS_DEPENDENT,
    ENDPOINT_INDEPENDENT,
    NAT_KINDS,
)
from harness.netsim.relay import Address, PathDelay, RelayError, TcpRelay, UdpRelay

LABEL = "EMULATION"
HOW = "userspace UDP/TCP relay on loopback (not a kernel NAT)"


@dataclass(frozen=True)
class EmulatedKind:
    name: str
    mapping: str
    filtering: str
    breaks: str


def _from_kernel_kinds() -> dict[str, EmulatedKind]:
    kinds = {
        k.name: EmulatedKind(k.name, k.mapping, k.filtering, k.breaks)
        for k in NAT_KINDS.values()
        if k.translated
    }
    # a kind the kernel topology does not build, but the relay can: RFC 4787 "restricted cone"
    kinds["address-restricted"] = EmulatedKind(
        "address-restricted",
        ENDPOINT_INDEPENDENT,
        ADDRESS_DEPENDENT,
        "nothing for provisioning (a TFTP server answers from its own address)",
    )
    return kinds


EMULATED_KINDS: dict[str, EmulatedKind] = _from_kernel_kinds()
BREAKS_TFTP = frozenset(
    k.name for k in EMULATED_KINDS.values() if k.filtering == ADDRESS_AND_PORT_DEPENDENT
)


def emulated_kind(name: str) -> EmulatedKind:
    try:
        return EMULATED_KINDS[name]
    except KeyError:
        known = ", ".join(EMULATED_KINDS)
        why = " ('none' needs no relay: talk to the server directly)" if name == "none" else ""
        raise RelayError(
            f"cannot emulate NAT kind {name!r}{why}; emulated kinds: {known}"
        ) from None


class EmulatedNat(Service):
    """A NAT kind EMULATED by relays: clients reach servers through `udp_address`/`tcp_address`."""

    emulated = True

    def __init__(
        self,
        nat: str = "port-restricted",
        *,
        inside_host: str = "127.0.0.1",
        outside_host: str | None = None,
        delay_out: PathDelay | float | None = None,
        delay_in: PathDelay | float | None = None,
        seed: int | None = None,
    ) -> None:
        self.kind = emulated_kind(nat)
        self.udp = UdpRelay(
            mapping=self.kind.mapping,
            filtering=self.kind.filtering,
            inside_host=inside_host,
            outside_host=outside_host,
            delay_out=delay_out,
            delay_in=delay_in,
            seed=seed,
        )
        self.tcp = TcpRelay(inside_host=inside_host, outside_host=outside_host)

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def outside_host(self) -> str:
        """The address servers see the client as (the emulated external address)."""
        return self.udp.outside_host

    def udp_address(self, server: Address) -> Address:
        """Where the inside client sends to reach UDP `server` through the emulated NAT."""
        return self.udp.inside_for(server)

    def tcp_address(self, server: Address) -> Address:
        """Where the inside client connects to reach TCP `server` through the emulated NAT."""
        return self.tcp.inside_for(server)

    via = udp_address  # for stun_client.discover(via=..., emulated=True)

    async def start_async(self) -> Self:
        await self.udp.start_async()
        await self.tcp.start_async()
        return self

    async def stop_async(self) -> None:
        await self.tcp.stop_async()
        await self.udp.stop_async()

    def fact(self) -> dict[str, Any]:
        """The report fact: `run.facts["nat"] = emulated_nat.fact()`."""
        return {
            "kind": self.kind.name,
            "emulated": True,
            "label": LABEL,
            "how": HOW,
            "mapping": self.kind.mapping,
            "filtering": self.kind.filtering,
            "tftp_helper": False,
        }

    def describe(self) -> str:
        k = self.kind
        return (
            f"{LABEL}: NAT kind {k.name} emulated by a {HOW}; mapping {k.mapping}, "
            f"filtering {k.filtering}; outside address {self.outside_host}; breaks: {k.breaks}"
        )

    def __repr__(self) -> str:
        return f"<EmulatedNat {LABEL} kind={self.kind.name} outside={self.outside_host}>"
