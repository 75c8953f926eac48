"""DHCP on the phone LAN: our server in `lansrv`, the tiny client in a phone namespace."""

from __future__ import annotations

import pytest

from harness.endpoints.dhcp import DhcpServer
from harness.netsim.dhcp_client import discover
from harness.netsim.topology import ROUTER_LAN_IP
from harness.observe.events import DhcpExchange
from harness.wire import dhcp as wire


def test_wire_round_trip_and_bad_bytes() -> None:
    msg = wire.DhcpMessage(
        wire.BOOTREPLY, 7, bytes.fromhex("000e08000001"), "OFFER", yiaddr="192.0.2.20",
        options={150: wire.encode_option_value(150, ["203.0.113.10", "203.0.113.11"]),
                 160: b"https://pv.example/x" * 20},
    )  # fmt: skip
    back = wire.decode(wire.encode(msg))
    assert (back.message_type, back.yiaddr, back.mac) == ("OFFER", "192.0.2.20", "000e08000001")
    assert wire.decode_option_value(150, back.options[150]) == "203.0.113.10,203.0.113.11"
    assert back.options[160] == msg.options[160]  # > 255 bytes, split and joined
    with pytest.raises(wire.DhcpError, match="too short"):
        wire.decode(b"\x01\x01")
    with pytest.raises(wire.DhcpError, match="magic"):
        wire.decode(bytes(300))


@pytest.mark.needs_root
@pytest.mark.requirement("TFTP-DHCP66")
def test_phone_gets_options_66_150_159_160(netsim) -> None:
    topo = netsim(nat="port-restricted", phones=2, wan_servers=2)
    s1, s2 = (h.ip for h in topo.servers)
    server = topo.start_endpoint(
        "lansrv",
        DhcpServer(
            interface="eth0", server_ip=topo.ip("lansrv"), pool=("192.0.2.40", "192.0.2.50"),
            subnet="192.0.2.0/26", router=ROUTER_LAN_IP,
            options={66: s1, 150: [s1, s2], 159: f"https://{s2}", 160: f"http://{s2}/p.cfg"},
        ),
    )  # fmt: skip
    lease = topo.call("phone1", discover("eth0"))
    assert lease.your_ip == "192.0.2.40" and lease.server_id == topo.ip("lansrv")
    assert lease.text(66) == s1
    assert lease.text(150) == f"{s1},{s2}"
    assert lease.text(159) == f"https://{s2}" and lease.text(160) == f"http://{s2}/p.cfg"
    second = topo.call("phone2", discover("eth0"))
    assert second.your_ip == "192.0.2.41"
    seen = [(r.message_type, r.client_mac) for r in server.records(DhcpExchange)]
    mac1 = topo.host("phone1").mac.replace(":", "")
    assert seen[:4] == [("DISCOVER", mac1), ("OFFER", mac1), ("REQUEST", mac1), ("ACK", mac1)]
    assert 66 in server.records(DhcpExchange)[0].requested_options
