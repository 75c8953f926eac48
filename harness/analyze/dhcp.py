"""DHCP dissection: one `DhcpExchange` per DHCP message (BOOTP with options).

Keeps the message type (53), the client's MAC (chaddr) and identifier (61),
the options the client requests (55) and the values the server offers for the
provisioning options (66, 67, 150, 159, 160 and any other it sends, as text).
The device is the client MAC, plus the address the server gives it. Sans-I/O.
"""

from __future__ import annotations

from harness.capture.packets import mac_text
from harness.observe.events import Address, DeviceKey, DhcpExchange, Evidence

COOKIE = b"\x63\x82\x53\x63"
MESSAGE_TYPES = {
    1: "DISCOVER",
    2: "OFFER",
    3: "REQUEST",
    4: "DECLINE",
    5: "ACK",
    6: "NAK",
    7: "RELEASE",
    8: "INFORM",
}
_ADDRESS_OPTIONS = (150,)  # lists of IPv4 addresses, shown dotted


class DhcpError(ValueError):
    pass


def _opt_text(code: int, value: bytes) -> str:
    if code in _ADDRESS_OPTIONS and len(value) % 4 == 0 and value:
        return ",".join(".".join(str(b) for b in value[i : i + 4]) for i in range(0, len(value), 4))
    if code == 61:
        return value.hex()
    return value.rstrip(b"\x00").decode("latin-1")


def parse_dhcp(payload: bytes) -> dict:
    """The fields of one DHCP message; raises DhcpError saying what is wrong."""
    if len(payload) < 240:
        raise DhcpError(f"DHCP message of {len(payload)} bytes (< 240)")
    if payload[236:240] != COOKIE:
        raise DhcpError("no DHCP magic cookie (plain BOOTP)")
    hlen = min(payload[2], 16)
    opts: dict[int, bytes] = {}
    p = 240
    while p < len(payload):
        code = payload[p]
        if code == 255:
            break
        if code == 0:
            p += 1
            continue
        if p + 2 > len(payload) or p + 2 + payload[p + 1] > len(payload):
            raise DhcpError(f"DHCP option {code} overruns the message")
        ln = payload[p + 1]
        opts[code] = opts.get(code, b"") + payload[p + 2 : p + 2 + ln]  # RFC 3396 concatenation
        p += 2 + ln
    mt = opts.get(53, b"\x00")[:1]
    return {
        "op": payload[0],
        "xid": payload[4:8].hex(),
        "yiaddr": ".".join(str(b) for b in payload[16:20]),
        "ciaddr": ".".join(str(b) for b in payload[12:16]),
        "chaddr": payload[28 : 28 + hlen],
        "message_type": MESSAGE_TYPES.get(mt[0] if mt else 0, f"TYPE{mt[0] if mt else 0}"),
        "options": opts,
    }


def dhcp_observation(
    frame: int, ts: float, src: Address, dst: Address, payload: bytes, source: str
) -> DhcpExchange:
    m = parse_dhcp(payload)
    mac = mac_text(m["chaddr"]) if len(m["chaddr"]) == 6 else None
    opts = m["options"]
    your_ip = m["yiaddr"] if m["yiaddr"] != "0.0.0.0" else None
    client_ip = your_ip or (m["ciaddr"] if m["ciaddr"] != "0.0.0.0" else None)
    from_client = m["op"] == 1
    offered = {c: _opt_text(c, v) for c, v in opts.items() if not from_client and c not in (53, 55)}
    if from_client:  # the client's vendor class (60) and client identifier (61)
        offered.update({c: _opt_text(c, opts[c]) for c in (60, 61) if c in opts})
    return DhcpExchange(
        time=ts,
        client=src if from_client else dst,
        server=dst if from_client else src,
        device=DeviceKey(
            ip=client_ip if m["message_type"] == "ACK" or from_client else None, mac=mac
        ),
        evidence=Evidence(source, (frame,)),
        message_type=m["message_type"],
        client_mac=mac,
        requested_options=tuple(opts.get(55, b"")),
        offered_options=offered,
        your_ip=your_ip,
    )
