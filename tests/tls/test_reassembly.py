"""Records split across TCP segments, several messages per record, one message over many
records: every framing of the same real handshake gives the same conversation."""

from __future__ import annotations

import ssl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.tls import HandshakeReassembler, RecordStream, TlsConversation
from tests.tls.builders import Flights, memory_handshake, record, records

KINDS = {
    "tls12": {},
    "tls12-client-cert": {"client_cert": True},
    "tls12-rejected": {"trust": "other"},
    "tls13": {"version": ssl.TLSVersion.TLSv1_3},
    "tls13-aes256": {"version": ssl.TLSVersion.TLSv1_3, "ciphers": "ECDHE+AESGCM"},
}


@pytest.fixture(scope="module")
def flights(pki) -> dict[str, Flights]:
    out = {}
    for name, kw in KINDS.items():
        kw = dict(kw)
        if kw.get("trust") == "other":
            kw["trust"] = str(pki.other_ca)
        out[name] = memory_handshake(pki, **kw)
    return out


def summary(conv: TlsConversation) -> tuple:
    return (
        conv.client_hello,
        conv.server_hello,
        conv.server_certificates,
        conv.certificate_request,
        conv.client_certificates,
        conv.alerts,
        conv.encrypted_alerts,
        conv.client_application_data,
        conv.server_application_data,
        conv.established,
        conv.errors,
        conv.handshake_messages,
    )


def feed(flights: Flights, cuts=None) -> TlsConversation:
    """Feed each side's writes in order; `cuts(data)` splits one write into segments."""
    conv = TlsConversation()
    for side, data in flights.chunks:
        f = conv.feed_client if side == "client" else conv.feed_server
        for piece in cuts(data) if cuts else [data]:
            f(piece)
    return conv


@pytest.mark.parametrize("kind", KINDS)
def test_byte_by_byte_equals_whole(flights, kind):
    whole = feed(flights[kind])
    assert whole.client_hello is not None and whole.errors == []
    one_by_one = feed(flights[kind], lambda d: [d[i : i + 1] for i in range(len(d))])
    assert summary(one_by_one) == summary(whole)


@pytest.mark.parametrize("kind", ["tls12", "tls12-client-cert"])
def test_reframed_handshake_records_give_the_same_result(flights, kind):
    """Re-cut the cleartext handshake (before ChangeCipherSpec) into 1-message-spanning
    7-byte records and into one record holding every message: same conversation."""
    base = feed(flights[kind])

    def reframe(data: bytes, size: int) -> bytes:
        out, rs = [], RecordStream()
        hs = bytearray()
        for rec in rs.feed(data):
            if rec.content_type == 22 and rec.payload is not None:
                hs += rec.payload
            else:
                if hs:
                    out.append(records(22, bytes(hs), size))
                    hs.clear()
                out.append(data[rec.offset : rec.offset + 5 + rec.length])
        if hs:
            out.append(records(22, bytes(hs), size))
        return b"".join(out)

    first_enc = {"client": False, "server": False}

    def chunks(size: int) -> Flights:
        out = []
        for side, data in flights[kind].chunks:
            if first_enc[side] or b"\x14\x03\x03\x00\x01\x01" in data:
                first_enc[side] = True
                out.append((side, data))  # from ChangeCipherSpec on: unchanged
            else:
                out.append((side, reframe(data, size)))
        first_enc.update(client=False, server=False)
        return Flights(out)

    for size in (7, 1 << 14):
        reframed = chunks(size)
        assert reframed.stream("server") != flights[kind].stream("server")
        conv = feed(reframed)
        assert summary(conv) == summary(base), size


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_segmentation_equals_whole(flights, data):
    kind = data.draw(st.sampled_from(sorted(KINDS)))
    whole = summary(feed(flights[kind]))

    def cuts(d: bytes) -> list[bytes]:
        points = sorted(data.draw(st.sets(st.integers(0, len(d)), max_size=8)))
        edges = [0, *points, len(d)]
        return [d[a:b] for a, b in zip(edges, edges[1:], strict=False)]

    assert summary(feed(flights[kind], cuts)) == whole


def test_handshake_message_offsets_survive_fragmentation():
    hs = HandshakeReassembler()
    msg = bytes([2]) + (40).to_bytes(3, "big") + bytes(range(40))
    got = []
    stream_offset = 0
    for i in range(0, len(msg), 9):  # 9-byte fragments, each behind a 5-byte header
        stream_offset += 5
        got += hs.add(msg[i : i + 9], stream_offset)
        stream_offset += len(msg[i : i + 9])
    (m,) = got
    assert m.body == bytes(range(40)) and m.offset == 5
    # body byte 0 is stream byte 9; body byte 5 (message byte 9) starts fragment 2 at 19
    assert m.stream_offset(0) == 9 and m.stream_offset(5) == 19 and m.stream_offset(14) == 33


def test_application_data_is_skipped_not_buffered():
    rs = RecordStream()
    big = records(23, b"x" * 16000, 16000)
    assert [r.payload for r in rs.feed(big[:100])] == [None]
    assert rs.feed(big[100:] + record(21, b"\x01\x00"))[0].payload == b"\x01\x00"
    assert rs.consumed == len(big) + 7 and rs.pending() is None
