"""Robustness: random bytes and mutated captures never crash or hang the reader and analyzer."""

from __future__ import annotations

import io
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.analyze.dhcp import DhcpError
from harness.analyze.engine import Analyzer
from harness.analyze.http import HttpConnection
from harness.analyze.tftp import parse_request
from harness.capture.packets import PacketDecoder
from harness.capture.pcapwrite import pcap_header, pcap_record
from harness.capture.reader import CaptureFormatError, CaptureReader
from harness.observe.events import DeviceKey
from harness.wire.dhcp import decode as decode_dhcp
from tests.analyze.test_tcp_http import _segments

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def analyze_bytes(data: bytes):
    try:
        reader = CaptureReader(io.BytesIO(data))
    except CaptureFormatError:
        return None
    a = Analyzer("capture:fuzz")
    a.run(reader)
    r = a.finish()
    r.packets = reader.records
    return r, reader


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_after_a_pcap_header(blob):
    out = analyze_bytes(pcap_header() + blob)
    assert out is not None
    r, reader = out
    for frame, why in r.problems:
        assert 0 <= frame <= reader.records + 1 and why


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_as_a_file(blob):
    analyze_bytes(blob)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 1), st.binary(max_size=300)), max_size=30))
def test_random_frames_each_counted_or_decoded(frames):
    data = pcap_header() + b"".join(pcap_record(1.0 + i, f) for i, (_, f) in enumerate(frames))
    r, reader = analyze_bytes(data)
    assert reader.records == len(frames)
    assert r.malformed <= len(frames)


@SETTINGS
@given(data=st.data())
def test_mutated_real_capture(tmp_path_factory, data):
    base = tmp_path_factory.getbasetemp() / "fuzzbase"
    base.mkdir(exist_ok=True)
    raw = bytearray(_segments(base, range(9)).read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(24, len(raw)))
    out = analyze_bytes(bytes(raw[:cut]))
    if out is not None:
        r, reader = out
        assert r.malformed >= 0 and reader.records <= 9


@SETTINGS
@given(st.binary(max_size=600))
def test_decoder_any_linktype(blob):
    dec = PacketDecoder()
    for lt in (0, 1, 12, 101, 108, 113, 228, 229, 276, 999):
        dec.decode(1, 0.0, lt, blob)


@SETTINGS
@given(
    st.lists(st.binary(max_size=200), max_size=10), st.lists(st.binary(max_size=200), max_size=10)
)
def test_http_dissector_any_bytes(client, server):
    got = []
    conn = HttpConnection(
        ("192.0.2.1", 1),
        ("192.0.2.2", 80),
        DeviceKey(),
        "x",
        lambda o, b: got.append(o),
        lambda f, w: None,
    )
    conn.client_data(b"GET / HTTP/1.1\r\n", 1, 0.0)
    for i, (c, s) in enumerate(zip(client, server, strict=False)):
        conn.client_data(c, 2 * i + 2, 0.0)
        conn.server_data(s, 2 * i + 3, 0.0)
    conn.close(1.0)


@SETTINGS
@given(st.binary(max_size=400))
def test_tftp_and_dhcp_parsers_any_bytes(blob):
    parse_request(blob)
    try:
        decode_dhcp(blob, problems=[])
    except DhcpError:
        pass
    try:
        decode_dhcp(blob.ljust(236, b"\0") + b"\x63\x82\x53\x63" + blob, problems=[])
    except DhcpError:
        pass


def test_huge_declared_lengths_do_not_allocate(tmp_path):
    data = pcap_header() + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 0xFFFFFFF0)
    r, reader = analyze_bytes(data)
    assert reader.problems and "captured length" in reader.problems[0].why
