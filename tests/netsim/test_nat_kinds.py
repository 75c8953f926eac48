"""Verified, not trusted: RFC 5780 discovery classifies each named NAT kind as it claims."""

from __future__ import annotations

import pytest

from harness.endpoints.stun import StunServer
from harness.netsim.nat import NAT_KINDS
from harness.netsim.stun_client import discover, external_address

pytestmark = pytest.mark.needs_root
STUN_PORT, STUN_ALT_PORT = 3478, 3479


@pytest.mark.parametrize("kind", sorted(NAT_KINDS))
def test_discovery_classifies_the_kind(netsim, kind: str) -> None:
    topo = netsim(nat=kind, wan_servers=1)
    s = topo.host("server1")
    stun = topo.start_endpoint(
        "server1", StunServer(host=s.ip, port=STUN_PORT, alt_host=s.alt_ip, alt_port=STUN_ALT_PORT)
    )
    behaviour = topo.call("phone1", discover(stun.address))
    claimed = NAT_KINDS[kind]
    assert (behaviour.mapping, behaviour.filtering) == (claimed.mapping, claimed.filtering)
    assert behaviour.nat == claimed.translated
    ext_ip, _ = topo.call("phone1", external_address(stun.address))
    assert ext_ip == (topo.external_ip if claimed.translated else topo.ip("phone1"))
