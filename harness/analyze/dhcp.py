"""DHCP dissection: one `DhcpExchange` per DHCP message (BOOTP with options).

Keeps the message type (53), the client's MAC (chaddr) and identifier (61),
the options the client requests (55) and the values the server offers for the
provisioning options (66, 67, 150, 159, 160 and any other it sends, as text).
The device is the client MAC, plus the address the server gives it. The grammar
and the option texts are `harness.wire.dhcp`'s (lenient mode: a message type it does
not know is recorded as `TYPE<n>`). Sans-I/O.
"""

from __future__ import annotations

from harness.capture.packets import mac_text
from harness.observe.events import Address, DeviceKey, DhcpExchange, Evidence
from harness.wire import dhcp as wire

# the grammar is harness.wire.dhcp's (lenient mode); its error is the analyzer's
DhcpError = wire.DhcpError


def dhcp_observation(
    frame: int, ts: float, src: Address, dst: Address, payload: bytes, source: str
) -> DhcpExchange:
    m = wire.decode(payload, problems=[])
    mac = mac_text(m.chaddr) if len(m.chaddr) == 6 else None
    opts = m.options
    your_ip = m.yiaddr if m.yiaddr != "0.0.0.0" else None
    client_ip = your_ip or (m.ciaddr if m.ciaddr != "0.0.0.0" else None)
    from_client = m.op == wire.BOOTREQUEST
    shown = wire.decode_option_value
    offered = {c: shown(c, v) for c, v in opts.items() if not from_client and c not in (53, 55)}
    if from_client:  # the client's vendor class (60) and client identifier (61)
        offered.update({c: shown(c, opts[c]) for c in (60, 61) if c in opts})
    return DhcpExchange(
        time=ts,
        client=src if from_client else dst,
        server=dst if from_client else src,
        device=DeviceKey(ip=client_ip if m.message_type == "ACK" or from_client else None, mac=mac),
        evidence=Evidence(source, (frame,)),
        message_type=m.message_type,
        client_mac=mac,
        requested_options=tuple(opts.get(55, b"")),
        offered_options=offered,
        your_ip=your_ip,
    )
