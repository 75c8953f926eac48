"""Cutting a run capture per scenario: retiming through a clock journal, selection by address
and window, the section-header comment and the embedded TLS key log (tshark is the oracle)."""

import shutil
import subprocess

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from harness.capture.pcapwrite import write_pcapng
from harness.capture.reader import CaptureReader
from harness.capture.retime import Retimer
from harness.capture.split import Slice, split_capture
from harness.device.sim.adapters.source import (
    PHONE_NET,
    is_phone_address,
    local_bind,
    phone_address,
)

T0 = 1_764_000_000.0
V0 = 1_700_000_000.0  # a virtual clock's epoch
KEYLOG = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"


def udp_frame(src: str, dst: str, payload: bytes = b"<134>hello") -> bytes:
    """A syslog datagram from `src` to `dst` on Ethernet (scapy builds it)."""
    frame = Ether(src="00:00:00:00:00:00", dst="00:00:00:00:00:00") / IP(src=src, dst=dst)
    return bytes(frame / UDP(sport=40000, dport=514) / payload)


def test_retimer_maps_real_time_through_the_jumps():
    # the clock started at V0, jumped 3600 s at real T0+1 and 60 s at real T0+2
    r = Retimer([(T0, V0), (T0 + 1, V0 + 1 + 3600), (T0 + 2, V0 + 2 + 3660)])
    assert r(T0 + 0.5) == pytest.approx(V0 + 0.5)
    assert r(T0 + 1.25) == pytest.approx(V0 + 3601.25)
    assert r(T0 + 2.5) == pytest.approx(V0 + 3662.5)
    assert r(T0 - 1) == pytest.approx(V0 - 1)  # before the journal: back from its start
    assert r.jumps == 2
    with pytest.raises(ValueError, match="empty"):
        Retimer([])


def test_split_keeps_only_the_slices_addresses_in_its_window_retimed(tmp_path):
    phone_a, phone_b = "127.64.0.10", "127.64.0.11"
    recs = [
        (T0 + 0.1, udp_frame(phone_a, "127.0.0.1"), 0),
        (T0 + 0.2, udp_frame(phone_b, "127.0.0.1"), 0),
        (T0 + 0.3, udp_frame("127.0.0.1", phone_a), 0),
        (T0 + 1.5, udp_frame(phone_a, "127.0.0.1"), 0),  # after the jump
        (T0 + 9.0, udp_frame(phone_a, "127.0.0.1"), 0),  # outside a's window
        (T0 + 0.4, b"\x00" * 12 + b"\x86\xdd" + b"\x60" + b"\x00" * 39, 0),  # IPv6: never
    ]
    run = tmp_path / "run.pcapng"
    write_pcapng(run, recs)
    journal = [(T0, V0), (T0 + 1.0, V0 + 1.0 + 3600)]
    a = Slice(tmp_path / "a.pcapng", frozenset({phone_a}), T0, T0 + 2, Retimer(journal), ["hello"])
    b = Slice(tmp_path / "b.pcapng", frozenset({phone_b}), T0, T0 + 2, keylog=KEYLOG)
    empty = Slice(tmp_path / "c.pcapng", frozenset({"127.64.0.12"}), T0, T0 + 2)
    split_capture([run], [a, b, empty])
    assert (a.frames, b.frames, empty.frames) == (3, 1, 0)
    with CaptureReader(a.path) as reader:
        times = [t for t, _, _ in reader]
    assert times == pytest.approx([V0 + 0.1, V0 + 0.3, V0 + 3601.5], abs=1e-5)
    with CaptureReader(b.path) as reader:
        assert [t for t, _, _ in reader] == pytest.approx([T0 + 0.2], abs=1e-5)  # not retimed
    with CaptureReader(empty.path) as reader:
        assert list(reader) == [] and not reader.problems


@pytest.mark.skipif(shutil.which("capinfos") is None, reason="capinfos (wireshark) not installed")
def test_wireshark_reads_the_comment_and_the_decryption_secrets(tmp_path):
    run = tmp_path / "run.pcapng"
    write_pcapng(run, [(T0, udp_frame("127.64.0.10", "127.0.0.1"), 0)])
    sl = Slice(tmp_path / "a.pcapng", frozenset({"127.64.0.10"}), T0, T0 + 1,
               comments=["timestamps are the phone's virtual clock"], keylog=KEYLOG)  # fmt: skip
    split_capture([run], [sl])
    out = subprocess.run(["capinfos", str(sl.path)], capture_output=True, text=True).stdout
    assert "timestamps are the phone's virtual clock" in out
    assert "Number of decryption secrets in file: 1" in out
    plain = Slice(tmp_path / "b.pcapng", frozenset({"127.64.0.10"}), T0, T0 + 1)
    split_capture([run], [plain])
    out = subprocess.run(["capinfos", str(plain.path)], capture_output=True, text=True).stdout
    assert "decryption secrets in file: 1" not in out


def test_phone_addresses_are_fresh_loopback_and_bound_only_towards_loopback():
    seen = {phone_address() for _ in range(200)}
    assert len(seen) > 190 and all(is_phone_address(a) for a in seen)
    assert not is_phone_address("127.0.0.1") and not is_phone_address("nonsense")
    assert str(PHONE_NET).startswith("127.")
    assert local_bind("127.64.1.2", "127.0.0.1") == ("127.64.1.2", 0)
    assert local_bind("127.64.1.2", "192.0.2.1") is None  # a loopback source cannot go there
    assert local_bind(None, "127.0.0.1") is None
    assert local_bind("127.64.1.2", "not-an-ip") is None


def test_the_harness_own_traffic_with_a_real_phone_stays_out(tmp_path):
    run = tmp_path / "run.pcapng"
    write_pcapng(run, [(T0, udp_frame("192.0.2.10", "192.0.2.1"), 0)])  # dst port 514
    keep = Slice(tmp_path / "a.pcapng", frozenset({"192.0.2.10"}), T0 - 1, T0 + 1)
    drop = Slice(tmp_path / "b.pcapng", frozenset({"192.0.2.10"}), T0 - 1, T0 + 1,
                 exclude_ports=frozenset({514}))  # fmt: skip
    split_capture([run], [keep, drop])
    assert (keep.frames, drop.frames) == (1, 0)


def test_virtual_clock_journal_maps_a_real_instant_to_what_the_clock_showed():
    import asyncio
    import time

    from harness.clock import VirtualClock

    clock = VirtualClock(start=V0, settle=0)
    asyncio.run(clock.sleep(3600))
    clock.advance(0)  # no jump, no entry
    assert len(clock.journal) == 2
    retime = Retimer(clock.journal)
    assert retime(time.time()) == pytest.approx(clock.now(), abs=0.05)
    assert retime(clock.journal[0][0]) == pytest.approx(V0, abs=1e-3)


def test_a_broken_run_capture_leaves_the_scenarios_without_a_pcap_and_says_why(tmp_path):
    from harness.conformance.scenario import Scenario, ScenarioOutcome, WireRecord
    from harness.conformance.wire import write_scenario_captures

    async def nothing(run):
        return None

    bad = tmp_path / "run.pcapng"
    bad.write_bytes(b"this is not a capture")
    wire = WireRecord(("127.64.0.9",), T0, T0 + 1, [(T0, V0)], trust_ca_pem=b"PEM")
    outcome = ScenarioOutcome(Scenario("s", ("HTTP-404",), nothing), [], [], {}, [], {}, wire)
    files = write_scenario_captures([bad], {"sim": [outcome]}, tmp_path / "out")
    got = files[("sim", "s")]
    assert got.capture is None and "could not be cut" in got.note and "not a pcap" in got.note
