"""NAT kinds EMULATED on loopback (no root needed): STUN classifies them, TFTP and HTTP through.

Stock clients: tftp-hpa and curl, against the project's TFTP and HTTP servers,
through harness.netsim.emulation.EmulatedNat. The relay's outside address is
127.0.0.3, so what the servers see is the emulated external address.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.endpoints.http import HttpServer
from harness.endpoints.stun import StunServer
from harness.endpoints.tftp import TftpServer
from harness.netsim.emulation import BREAKS_TFTP, EMULATED_KINDS, LABEL, EmulatedNat
from harness.netsim.nat import NAT_KINDS
from harness.netsim.relay import RelayError
from harness.netsim.stun_client import discover
from harness.observe.events import HttpExchange

OUTSIDE = "127.0.0.3"
PROFILE = "CP-8831-3PCC.cfg"
KINDS = sorted(EMULATED_KINDS)


@pytest.mark.parametrize("kind", KINDS)
async def test_stun_discovery_classifies_each_emulated_kind(kind: str) -> None:
    claimed = EMULATED_KINDS[kind]
    async with (
        StunServer(host="127.0.0.1", alt_host="127.0.0.2") as stun,
        EmulatedNat(kind, outside_host=OUTSIDE) as nat,
    ):
        b = await discover(
            stun.address, local=("127.0.0.1", 0), rto=0.1, via=nat.via, emulated=True
        )
    assert (b.mapping, b.filtering) == (claimed.mapping, claimed.filtering)
    assert b.nat and b.emulated and b.mapped[0] == OUTSIDE
    assert b.summary().startswith("emulated NAT")


def test_emulated_kinds_cover_the_translating_kernel_kinds() -> None:
    for name, kind in NAT_KINDS.items():
        if kind.translated:
            assert (EMULATED_KINDS[name].mapping, EMULATED_KINDS[name].filtering) == (
                kind.mapping,
                kind.filtering,
            )
    assert {"port-restricted", "symmetric"} == BREAKS_TFTP


def test_every_object_is_labelled_as_emulation() -> None:
    nat = EmulatedNat("symmetric")
    assert nat.emulated is True and LABEL == "EMULATION"
    assert "EMULATION" in repr(nat) and nat.describe().startswith("EMULATION:")
    fact = nat.fact()
    assert fact["kind"] == "symmetric" and fact["emulated"] is True
    assert fact["label"] == "EMULATION" and "not a kernel NAT" in fact["how"]


def test_unknown_kind_and_none_are_refused_clearly() -> None:
    with pytest.raises(RelayError, match="'none' needs no relay"):
        EmulatedNat("none")
    with pytest.raises(RelayError, match="cannot emulate NAT kind 'cone'.*symmetric"):
        EmulatedNat("cone")


def tftp_get(server: tuple[str, int], dest: Path, timeout: int = 2) -> bytes:
    """tftp-hpa's `get`; returns what arrived (its exit code does not tell with a script)."""
    script = f"mode octet\nrexmt 1\ntimeout {timeout}\nget {PROFILE} {dest}\nquit\n"
    subprocess.run(
        ["tftp", server[0], str(server[1])],
        input=script, capture_output=True, text=True, timeout=timeout + 30,
    )  # fmt: skip
    return dest.read_bytes() if dest.exists() else b""


@pytest.mark.requirement("TFTP-NAT")
@pytest.mark.parametrize("kind", KINDS)
def test_tftp_through_each_emulated_kind(kind: str, tmp_path: Path) -> None:
    data = os.urandom(3 * 512 + 17)
    with (
        TftpServer(files={PROFILE: data}, retransmit_timeout=0.2, max_retries=1) as tftp,
        EmulatedNat(kind, outside_host=OUTSIDE) as nat,
    ):
        got = tftp_get(nat.udp_address(tftp.address), tmp_path / "got.cfg")
        breaks = kind in BREAKS_TFTP
        assert (got == data) is not breaks
        transfer = tftp.wait_transfers(1, timeout=10)[0]
        assert transfer.client is not None and transfer.client[0] == OUTSIDE
        assert (transfer.outcome == "complete") is not breaks
        if breaks:  # the server's answer from its new port was what the relay dropped
            outside_ports = {o[1] for _, o in nat.udp.mappings()}
            assert nat.udp.stats["filtered"] > 0
            assert all(o[1] in outside_ports for o, _ in nat.udp.filtered)
            assert any(sender[1] != tftp.port for _, sender in nat.udp.filtered)


@pytest.mark.parametrize("kind", KINDS)
def test_http_through_each_emulated_kind(kind: str, tmp_path: Path, emulated_nat) -> None:
    (tmp_path / PROFILE).write_text("<flat-profile/>")
    nat = emulated_nat(kind, outside_host=OUTSIDE)
    with HttpServer(root=tmp_path) as http:
        ip, port = nat.tcp_address(http.address)
        r = subprocess.run(
            ["curl", "-sS", "-m", "10", f"http://{ip}:{port}/{PROFILE}"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert r.stdout == "<flat-profile/>", r.stderr
        exchanges = http.records(HttpExchange)
        assert exchanges and exchanges[0].client[0] == OUTSIDE
        assert nat.tcp.connections and nat.tcp.connections[0][2] == http.address
