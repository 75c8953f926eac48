"""NAT kinds for the simulated router: a table of named configurations, and its nft text.

Each kind is data (`NatKind`): what the router's nftables table holds for it and
what a RFC 5780 behaviour-discovery client must find (mapping, filtering). The
renderer turns a kind plus the topology's interface names into one nftables
script. Pure: no subprocesses, no sockets here (topology.py applies the text).
"""

from __future__ import annotations

from dataclasses import dataclass

# RFC 4787 / RFC 5780 behaviour names (mapping and filtering use the same words).
ENDPOINT_INDEPENDENT = "endpoint-independent"
ADDRESS_DEPENDENT = "address-dependent"
ADDRESS_AND_PORT_DEPENDENT = "address-and-port-dependent"


@dataclass(frozen=True)
class NatKind:
    name: str
    description: str
    masquerade: str | None  # None: routed; "" plain masquerade; else its flags ("fully-random")
    full_cone: bool  # endpoint-independent filtering via a dynamic port -> host map + DNAT
    mapping: str  # what discovery must classify the mapping as
    filtering: str  # ... and the filtering as
    translated: bool  # the phone's address is rewritten
    breaks: str  # what it breaks for a provisioning client (docs, CLI)


NAT_KINDS: dict[str, NatKind] = {
    k.name: k
    for k in (
        NatKind(
            name="none",
            description="routed, no translation, no filtering",
            masquerade=None,
            full_cone=False,
            mapping=ENDPOINT_INDEPENDENT,
            filtering=ENDPOINT_INDEPENDENT,
            translated=False,
            breaks="nothing",
        ),
        NatKind(
            name="port-restricted",
            description="endpoint-independent mapping, address-and-port-dependent filtering "
            "(Linux masquerade default)",
            masquerade="",
            full_cone=False,
            mapping=ENDPOINT_INDEPENDENT,
            filtering=ADDRESS_AND_PORT_DEPENDENT,
            translated=True,
            breaks="TFTP (server answers from a new port) unless the TFTP helper is on",
        ),
        NatKind(
            name="symmetric",
            description="a new mapping per destination (masquerade fully-random), "
            "address-and-port-dependent filtering",
            masquerade="fully-random",
            full_cone=False,
            mapping=ADDRESS_AND_PORT_DEPENDENT,
            filtering=ADDRESS_AND_PORT_DEPENDENT,
            translated=True,
            breaks="TFTP unless the TFTP helper is on; STUN's $EXTIP is only valid "
            "toward the STUN server",
        ),
        NatKind(
            name="full-cone",
            description="endpoint-independent mapping and filtering (masquerade + DNAT of "
            "the mapped port back to the phone)",
            masquerade="",
            full_cone=True,
            mapping=ENDPOINT_INDEPENDENT,
            filtering=ENDPOINT_INDEPENDENT,
            translated=True,
            breaks="nothing for provisioning (TFTP works: any source may answer)",
        ),
    )
}

TFTP_PORT = 69  # the well-known port the conntrack helper watches (RFC 1350)
CONE_MAP_TIMEOUT_S = 120


class UnknownNatKind(ValueError):
    """The name is not one of NAT_KINDS."""


def nat_kind(name: str) -> NatKind:
    try:
        return NAT_KINDS[name]
    except KeyError:
        known = ", ".join(NAT_KINDS)
        raise UnknownNatKind(f"unknown NAT kind {name!r}; known kinds: {known}") from None


def render_router_table(
    table: str,
    kind: NatKind,
    *,
    lan_if: str,
    wan_if: str,
    tftp_helper: bool,
    loss: dict[str, int] | None = None,
) -> str:
    """The nftables script (for `nft -f -`) that makes the router behave as `kind`.

    `loss` maps an interface name to a drop percentage applied to packets
    forwarded in from that interface (nftables `numgen random mod 100 < N`).
    The script deletes and recreates `table`, so applying it twice is safe.
    """
    lines = [
        f"table ip {table} {{}}",
        f"delete table ip {table}",
        f"table ip {table} {{",
    ]
    if tftp_helper:
        lines += [
            '  ct helper tftp { type "tftp" protocol udp; l3proto ip; }',
            "  chain helpers {",
            "    type filter hook prerouting priority filter; policy accept;",
            f'    iifname "{lan_if}" udp dport {TFTP_PORT} ct helper set "tftp"',
            "  }",
        ]
    if kind.full_cone:
        lines += [
            "  map cone { type inet_service : ipv4_addr; flags dynamic,timeout; "
            f"timeout {CONE_MAP_TIMEOUT_S}s; }}",
            "  chain cone_in {",
            "    type nat hook prerouting priority dstnat; policy accept;",
            f'    iifname "{wan_if}" dnat to udp dport map @cone',
            "  }",
        ]
    lines += [
        "  chain forward_ {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    for iface, percent in sorted((loss or {}).items()):
        if not 0 <= percent <= 100:
            raise ValueError(f"loss on {iface}: {percent}% is not a percentage (0..100)")
        if percent:
            lines.append(f'    iifname "{iface}" numgen random mod 100 < {percent} counter drop')
    if kind.full_cone:
        lines.append(
            f'    iifname "{lan_if}" meta l4proto udp update @cone {{ udp sport : ip saddr }}'
        )
    if kind.translated:
        # the WAN may not open connections into the LAN, except through the cone's DNAT
        lines += [
            f'    iifname "{wan_if}" oifname "{lan_if}" ct state new ct status dnat accept',
            f'    iifname "{wan_if}" oifname "{lan_if}" ct state new drop',
        ]
    lines.append("  }")
    if kind.masquerade is not None:
        flags = f" {kind.masquerade}" if kind.masquerade else ""
        lines += [
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
            f'    oifname "{wan_if}" masquerade{flags}',
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"
