"""The STUN server and discovery client on loopback (no root: 127.0.0.1 and 127.0.0.2)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from harness.endpoints.stun import StunServer
from harness.netsim.nat import ENDPOINT_INDEPENDENT
from harness.netsim.stun_client import StunClient, StunTimeout, discover, external_address
from harness.wire import stun as wire


@pytest.fixture
async def stun():
    async with StunServer(host="127.0.0.1", alt_host="127.0.0.2") as srv:
        yield srv


async def test_binding_answers_from_the_socket_asked_for(stun: StunServer) -> None:
    async with StunClient(("127.0.0.1", 0)) as client:
        plain = await client.request(stun.address)
        assert plain is not None
        assert plain.mapped == ("127.0.0.1", client.port)
        assert plain.origin == stun.address == plain.source
        assert plain.other == ("127.0.0.2", stun.alt_port)
        for change_ip, change_port in [(True, True), (False, True), (True, False)]:
            r = await client.request(stun.address, change_ip=change_ip, change_port=change_port)
            assert r is not None
            want = (
                "127.0.0.2" if change_ip else "127.0.0.1",
                stun.alt_port if change_port else stun.port,
            )
            assert r.source == want == r.origin
    assert [b.change_ip for b in stun.bindings] == [False, True, False, True]


async def test_discovery_without_nat_is_endpoint_independent(stun: StunServer) -> None:
    b = await discover(stun.address, local=("127.0.0.1", 0))
    assert (b.nat, b.mapping, b.filtering) == (False, ENDPOINT_INDEPENDENT, ENDPOINT_INDEPENDENT)
    ext = await external_address(stun.address, local=("127.0.0.1", 0))
    assert ext[0] == "127.0.0.1"


async def test_garbage_is_noted_and_the_server_keeps_serving(stun: StunServer) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.sendto(b"hello", stun.address)
        sock.sendto(b"\x00\x01\x00\x04\x21\x12\xa4\x42" + bytes(12), stun.address)
        await asyncio.sleep(0.05)
    finally:
        sock.close()
    assert len(stun.problems) == 2 and "not STUN" in stun.problems[0]
    assert await external_address(stun.address, local=("127.0.0.1", 0))


async def test_single_address_server_refuses_change_requests() -> None:
    async with StunServer(host="127.0.0.1") as srv, StunClient(("127.0.0.1", 0)) as client:
        with pytest.raises(wire.StunError, match="420"):
            await client.request(srv.address, change_port=True)


async def test_no_server_times_out() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))  # a port that never answers
    try:
        with pytest.raises(StunTimeout):
            await external_address(sock.getsockname(), rto=0.05, retries=1)
    finally:
        sock.close()
