"""Other clients summarized, phones kept whole (harness.analyze.keep).

The default report gives each other client (no phone identity, not named) as
counts; `--list-other-clients` keeps every observation in memory and lists
them. The phones' facts and verdicts must be the same either way, although a
phone's first DHCP, DNS and TFTP come before the User-Agent that says it is one
(the keeper writes them out and reads them back), and although a phone's TLS
server name may come from another client's DNS answer.
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest

from bench.bench_analyze import (
    TimedCapture,
    _certificate_der,
    generate,
    generate_ordinary,
    tcp_frame,
    tls_flights,
    udp_frame,
)
from harness.analyze.engine import Analyzer
from harness.analyze.keep import KeepOptions
from harness.capture.reader import CaptureReader
from harness.cli import main

ROUTER = b"\x02\x00\x00\x00\x00\xfe"
UA = "cisco/CP-8831-3PCC (88012BA00001)"


def _ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def _dns(qid: int, name: str, answer: bytes | None) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    flags, an = (0x0100, 0) if answer is None else (0x8180, 1)
    msg = struct.pack("!HHHHHH", qid, flags, 1, an, 0, 0) + qname + b"\x00\x01\x00\x01"
    if answer is not None:
        msg += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    return msg


def tls_named_by_another_client(path: Path) -> None:
    """A phone resolves prov.example.net, a desktop then resolves other.example.org to
    the same server, then the phone's TLS handshake (no SNI) gets the server's chain:
    the name checked is the last answer's (the desktop's)."""
    phone_mac, desk_mac = b"\x00\x11\x22\x00\x00\x01", b"\x02\x33\x00\x00\x00\x01"
    phone, desk = _ip("192.0.2.10"), _ip("192.0.2.20")
    srv, resolver = _ip("198.51.100.1"), _ip("198.51.100.53")
    hello, flight = tls_flights("", _certificate_der())
    with TimedCapture(path, 0.05) as put:

        def ask(mac: bytes, ip: bytes, port: int, qid: int, name: str) -> None:
            put(udp_frame(mac, ROUTER, ip, port, resolver, 53, _dns(qid, name, None)))
            put(udp_frame(ROUTER, mac, resolver, 53, ip, port, _dns(qid, name, srv)))

        ask(phone_mac, phone, 5000, 1, "prov.example.net")
        ask(desk_mac, desk, 5001, 2, "other.example.org")
        # the phone's HTTP request with its User-Agent (what makes it a phone)
        req = f"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: prov\r\nUser-Agent: {UA}\r\n\r\n".encode()
        put(tcp_frame(phone_mac, ROUTER, phone, 30000, srv, 80, 100, 0, 0x02))
        put(tcp_frame(ROUTER, phone_mac, srv, 80, phone, 30000, 900, 101, 0x12))
        put(tcp_frame(phone_mac, ROUTER, phone, 30000, srv, 80, 101, 901, 0x18, req))
        resp = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        put(tcp_frame(ROUTER, phone_mac, srv, 80, phone, 30000, 901, 101 + len(req), 0x18, resp))
        # the handshake
        put(tcp_frame(phone_mac, ROUTER, phone, 30001, srv, 443, 500, 0, 0x02))
        put(tcp_frame(ROUTER, phone_mac, srv, 443, phone, 30001, 700, 501, 0x12))
        put(tcp_frame(phone_mac, ROUTER, phone, 30001, srv, 443, 501, 701, 0x18, hello))
        put(
            tcp_frame(
                ROUTER, phone_mac, srv, 443, phone, 30001, 701, 501 + len(hello), 0x18, flight
            )
        )
        put(tcp_frame(phone_mac, ROUTER, phone, 30001, srv, 443, 501 + len(hello), 0, 0x04))


@pytest.fixture(scope="module")
def caps(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("keep")
    out = {"mixed": base / "mixed.pcap", "ordinary": base / "ordinary.pcap"}
    generate(out["mixed"], 20_000)
    generate_ordinary(out["ordinary"], 40_000)
    out["tls"] = base / "tls-named-by-another.pcap"
    tls_named_by_another_client(out["tls"])
    return out


def report(capsys, cap: Path, *extra: str) -> dict:
    code = main(["analyze", str(cap), "--format", "json", "--no-progress", *extra])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return json.loads(out)


@pytest.mark.parametrize("name", ["mixed", "ordinary", "tls"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_phones_are_the_same_whether_other_clients_are_listed_or_counted(
    capsys, caps, name, jobs
) -> None:
    listed = report(capsys, caps[name], "--list-other-clients")
    counted = report(capsys, caps[name], "-j", jobs)
    assert counted["devices"] == listed["devices"] and counted["devices"]
    assert counted["findings"] == listed["findings"]
    others = {o["id"] for o in listed["other_clients"]}
    assert counted["transactions"] == [
        t for t in listed["transactions"] if t["device"] not in others
    ]
    assert counted["other_clients"] == listed["other_clients"]
    assert counted["captures"] == listed["captures"]


def test_a_phones_transactions_before_its_user_agent_are_kept(capsys, caps) -> None:
    rep = report(capsys, caps["ordinary"])
    phone = rep["devices"][0]["id"]
    mine = [t for t in rep["transactions"] if t["device"] == phone]
    first_http = min(t["time"] for t in mine if t["kind"] == "http")
    assert {"dhcp", "dns", "tftp"} <= {t["kind"] for t in mine if t["time"] < first_http}
    assert rep["other_clients"] and all(o["kinds"] for o in rep["other_clients"])


def test_a_phones_tls_server_name_may_come_from_another_clients_dns_answer(capsys, caps) -> None:
    for extra in ((), ("--list-other-clients",)):
        rep = report(capsys, caps["tls"], *extra)
        (tls,) = [t for t in rep["transactions"] if t["kind"] == "tls"]
        assert tls["device"] == "88012BA00001"
        assert (tls["server_cert_checked_name"], tls["server_cert_name_source"]) == (
            "other.example.org",
            "dns",
        ), extra
    (desk,) = rep["other_clients"]
    assert desk["ip"] == "192.0.2.20" and desk["kinds"] == {"dns": 1}


def test_a_client_named_with_device_is_kept_and_judged(capsys, caps) -> None:
    rep = report(capsys, caps["tls"], "--device", "ip=192.0.2.20")
    assert rep["other_clients"] == []
    assert {t["device"] for t in rep["transactions"] if t["kind"] == "dns"} == {
        "88012BA00001",
        "023300000001",
    }


def test_other_clients_go_to_a_spill_file_that_is_removed(caps, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cap = caps["ordinary"]

    def observations(keep):
        a = Analyzer(f"capture:{cap}", keep=keep)
        with CaptureReader(cap) as reader:
            a.run(reader)
        return a, a.finish()

    everything = observations(None)[1].observations
    keeper, counted = observations(KeepOptions())
    assert keeper.keeper.spilled > len(everything) // 2  # desktops: most of the capture
    assert len(counted.observations) + sum(o.transactions for o in counted.other_clients) == len(
        everything
    )
    assert list(tmp_path.iterdir()) == []


def test_split_workers_leave_no_spill_file(capsys, caps, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rep = report(capsys, caps["ordinary"], "-j", "2")
    assert rep["other_clients"]
    assert list(tmp_path.iterdir()) == []


def test_a_spilled_dns_query_is_the_record_of_the_query_it_stands_for() -> None:
    """`Keeper.add_dns` writes what `add(DnsQuery(...))` would, without the object; a query
    of a phone-related client is kept as that object."""
    from harness.analyze.dns import DNS_FIELDS
    from harness.analyze.keep import Keeper, _batches, encode
    from harness.observe.events import DeviceKey, DnsQuery, Evidence

    values = (5.5, ("192.0.2.7", 5353), ("192.0.2.1", 53), "prov.example", "A", "NOERROR",
              ("192.0.2.9",), "udp")  # fmt: skip
    query = DnsQuery(**dict(zip(DNS_FIELDS, values, strict=True)),
                     device=DeviceKey(ip="192.0.2.7"), evidence=Evidence("capture:x", (3, 4)))  # fmt: skip
    by_object, by_values = Keeper([]), Keeper([])
    by_object.add(query)
    by_values.add_dns(values, DeviceKey(ip="192.0.2.7"), "capture:x", (3, 4))
    assert by_values.spilled == by_object.spilled == 1
    for k in (by_object, by_values):
        k._obs.flush()
        k._dns.flush()
    assert list(_batches(by_values._obs.f)) == [[(*encode(query), -1)]]
    assert list(_batches(by_values._dns.f)) == list(_batches(by_object._dns.f))
    kept: list = []
    phone = Keeper(kept, stated=[("192.0.2.7", None, None)])
    phone.add_dns(values, DeviceKey(ip="192.0.2.7"), "capture:x", (3, 4))
    assert kept == [query] and phone.spilled == 0


def test_spilled_handshakes_come_back_whole_whether_marshal_takes_them_or_not() -> None:
    """A batch with a TLS chain is written with marshal (certificates as tuples), one with
    an alert (an object marshal refuses) with pickle; both read back equal to the originals
    when their client turns out to be a phone."""
    from harness.analyze.keep import Keeper, _batches, decode, encode
    from harness.observe.events import (
        DeviceKey,
        Evidence,
        HttpExchange,
        TlsAlert,
        TlsCertificate,
        TlsHandshake,
    )

    cert = TlsCertificate("CN=prov.example", "CN=Lab CA", "prov.example", ("prov.example",),
                          1.0, 2.0, "RSA", 2048, "sha256WithRSAEncryption", "ab" * 32)  # fmt: skip
    dev, ev = DeviceKey(ip="192.0.2.7"), Evidence("capture:x", (5, 6))
    with_chain = TlsHandshake(time=1.0, client=("192.0.2.7", 40000),
                              server=("198.51.100.1", 443), device=dev, evidence=ev,
                              server_name="prov.example", server_cert_chain=(cert, cert))  # fmt: skip
    with_alert = TlsHandshake(time=2.0, client=("192.0.2.7", 40001),
                              server=("198.51.100.1", 443), device=dev, evidence=ev,
                              alert=TlsAlert("client", 2, 48, "unknown_ca"))  # fmt: skip
    assert decode(encode(with_chain)) == with_chain
    kinds = []
    for hs in (with_chain, with_alert):
        keeper = Keeper(kept := [])
        keeper.add(hs)
        keeper._obs.flush()
        keeper._obs.f.seek(0)
        kinds.append(keeper._obs.f.read(5)[4:5])
        assert [decode(r[:4]) for b in _batches(keeper._obs.f) for r in b] == [hs]
        phone = HttpExchange(time=3.0, client=("192.0.2.7", 40002), server=("198.51.100.1", 80),
                             device=DeviceKey(ip="192.0.2.7", serial="SN1", product="CP-8831"),
                             evidence=ev, method="GET", url="/x.cfg")  # fmt: skip
        keeper.add(phone)  # the client is a phone after all: its handshake comes back
        keeper.resolve({})
        assert kept == [phone, hs]
    assert kinds == [b"m", b"p"]
