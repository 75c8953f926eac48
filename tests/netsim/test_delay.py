"""Delay, jitter and reordering: the userspace relay (no netem needed), and topology.set_delay.

RTTs are measured with a UDP echo and compared with the configured delay, a
lower bound (never an upper bound on wall-clock time).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

import pytest

from harness.endpoints.base import Service
from harness.endpoints.tftp import TftpServer
from harness.netsim.relay import PathDelay, UdpRelay
from harness.netsim.system import NetsimError

DELAY = 0.2
CLOCK_SLACK = 0.002  # seconds: timer and clock resolution when comparing with the lower bound
PROFILE = "CP-8831-3PCC.cfg"


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


class UdpEcho(Service):
    """A UDP echo server (the RTT probe's other end)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, 0
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    async def start_async(self) -> Self:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(_Echo, local_addr=(self.host, 0))
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    async def stop_async(self) -> None:
        if self.transport is not None:
            self.transport.close()


def udp_rtt(addr: tuple[str, int], probes: int = 3) -> float:
    """The smallest round-trip time of `probes` echoed datagrams (blocking socket)."""
    best = float("inf")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        for i in range(probes):
            token = f"probe-{i}".encode()
            start = time.monotonic()
            s.sendto(token, addr)
            while s.recvfrom(2048)[0] != token:
                pass
            best = min(best, time.monotonic() - start)
    return best


# -- PathDelay (pure) ---------------------------------------------------------------------
def test_path_delay_samples_within_delay_and_jitter() -> None:
    rng = random.Random(7)
    d = PathDelay(0.1, jitter=0.05)
    samples = [d.sample(rng) for _ in range(200)]
    assert all(0.1 <= s <= 0.15 for s in samples) and len(set(samples)) > 100
    assert PathDelay(0.1, reorder=1.0).sample(rng) == 0.0
    assert not PathDelay() and PathDelay(0.0, jitter=0.01)


@pytest.mark.parametrize(
    "kw", [{"delay": -1}, {"jitter": -0.1}, {"reorder": 1.5}], ids=["delay", "jitter", "reorder"]
)
def test_path_delay_refuses_nonsense(kw: dict) -> None:
    with pytest.raises(ValueError):
        PathDelay(**kw)


# -- the relay on loopback (no root) ------------------------------------------------------
def test_relay_delay_shows_in_the_measured_rtt() -> None:
    with UdpEcho() as echo, UdpRelay(delay_out=DELAY, delay_in=DELAY) as relay:
        direct = udp_rtt(echo.address)
        via = udp_rtt(relay.inside_for(echo.address))
    assert via >= 2 * DELAY - CLOCK_SLACK  # each direction held back at least DELAY
    assert via > direct
    assert relay.stats["out"] == relay.stats["in"] == 3


def test_tftp_completes_through_a_200ms_relay_delay(tmp_path: Path) -> None:
    data = os.urandom(3 * 512 + 5)
    with (
        TftpServer(files={PROFILE: data}) as tftp,
        UdpRelay(delay_out=DELAY, delay_in=DELAY) as relay,
    ):
        ip, port = relay.inside_for(tftp.address)
        dest = tmp_path / "got.cfg"
        script = f"mode octet\nrexmt 2\ntimeout 20\nget {PROFILE} {dest}\nquit\n"
        subprocess.run(["tftp", ip, str(port)], input=script, capture_output=True, text=True,
                       timeout=60)  # fmt: skip
        assert dest.read_bytes() == data
        transfer = tftp.wait_transfers(1, timeout=10)[0]
        assert transfer.outcome == "complete"
    # RRQ + 4 DATA/ACK round trips, each packet delayed both ways
    assert relay.stats["out"] >= 5 and relay.stats["in"] >= 4


def test_reorder_lets_some_packets_overtake() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(10)
        delay = PathDelay(0.3, reorder=0.5)
        with UdpRelay(delay_out=delay, seed=1) as relay:
            entry = relay.inside_for(sink.getsockname())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for i in range(20):
                    sender.sendto(bytes([i]), entry)
                got = [sink.recvfrom(16)[0][0] for _ in range(20)]
    assert sorted(got) == list(range(20))
    assert got != list(range(20))  # the undelayed ones arrived first


# -- set_delay in a topology (root) -------------------------------------------------------
@pytest.mark.needs_root
def test_set_delay_inserts_the_relay_on_the_path(netsim) -> None:
    topo = netsim(nat="port-restricted", wan_servers=1)
    echo = topo.start_endpoint("server1", UdpEcho(topo.ip("server1")))

    async def rtt(addr: tuple[str, int]) -> float:
        return udp_rtt(addr)

    direct = topo.call("phone1", rtt(echo.address))
    with pytest.raises(NetsimError, match="target="):
        topo.set_delay("wan", DELAY * 1000, relay=True)
    entry = topo.set_delay("wan", DELAY * 1000, target=echo.address, relay=True)
    assert topo.delay_mode == "relay" and entry[0] == "192.0.2.1"
    delayed = topo.call("phone1", rtt(entry))
    assert delayed >= DELAY - CLOCK_SLACK and delayed > direct
    # the server sees the router's WAN address, as through the NAT
    auto = topo.set_delay("lan", DELAY * 1000, target=echo.address)
    both = topo.call("phone1", rtt(auto))
    assert both >= (2 * DELAY if topo.delay_mode == "relay" else DELAY) - CLOCK_SLACK
