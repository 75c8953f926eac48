"""`harness analyze --verify`: tshark (through pyshark) against the analyzer, fact by fact.

The reference captures (curl, tftp-hpa, logger, dnsmasq against stock servers) and a
crafted DNS exchange must show no disagreement; a fault injected into the analyzer (a
field dropped or changed, a transaction lost) must be reported with its frame, and so
must a capture rewritten (scapy) into something the two read differently."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from harness.analyze import engine
from harness.analyze.verify import verify_capture
from harness.cli import main
from harness.observe.events import (
    HttpExchange,
    SyslogMessage,
    TftpTransfer,
    TlsHandshake,
)

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
SCHEMA = json.loads(Path("/work/shared/spec/report.schema.json").read_text())


def _analyze(tmp_path: Path, capture: Path, *extra: str) -> dict:
    out = tmp_path / "report.json"
    args = ["analyze", str(capture), "--verify", "--format", "json", "--out", str(out)]
    keys = capture.with_suffix(".keys")
    if keys.exists():
        args += ["--keylog", str(keys)]
    assert main([*args, *extra]) in (0, 1)
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    (verified,) = report["verify"]
    assert verified["error"] is None
    return verified


@pytest.mark.parametrize(
    "name",
    [
        "http-404-retry-ok",
        "https-resync-clean",  # decrypted with its key log: HTTP inside TLS compared too
        "tftp-resync-tid",
        "syslog-request-result",
        "dhcp-option66",
    ],
)
def test_reference_captures_agree(tmp_path, name):
    verified = _analyze(tmp_path, CAPTURES / f"{name}.pcapng")
    assert verified["disagreements"] == []
    assert verified["agree"] is True
    assert verified["facts_compared"] > 0


def test_decrypted_https_is_compared_only_with_the_key_log():
    cap = CAPTURES / "https-resync-clean.pcapng"
    from harness.analyze.engine import analyze_capture
    from harness.analyze.tls import TlsOptions

    keys = cap.with_suffix(".keys")
    clear = verify_capture(cap, analyze_capture(cap).observations)
    decrypted = verify_capture(
        cap,
        analyze_capture(cap, tls=TlsOptions(keylog_text=keys.read_text())).observations,
        keylog=str(keys),
    )
    assert clear.disagreements == decrypted.disagreements == []
    # ClientHello suites + SNI, chosen suite; then method, URI, User-Agent, status
    assert (clear.facts_compared, decrypted.facts_compared) == (3, 7)


def _dns_capture(path: Path) -> None:
    """A DNS query and its answer for an A and an SRV name, crafted with scapy."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    frames = []
    for i, (name, qtype) in enumerate(
        (("prov.example.test", "A"), ("_tftp._udp.example.test", "SRV"))
    ):
        q = DNS(id=100 + i, rd=1, qd=DNSQR(qname=name, qtype=qtype))
        a = DNS(id=100 + i, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype))
        if qtype == "A":
            a.an = DNSRR(rrname=name, type="A", rdata="192.0.2.1", ttl=60)
            a.ancount = 1
        else:
            a.rcode = 3
        phone = Ether(src="00:0e:08:ab:cd:ef") / IP(src="192.0.2.10", dst="192.0.2.1")
        server = Ether(dst="00:0e:08:ab:cd:ef") / IP(src="192.0.2.1", dst="192.0.2.10")
        frames.append(phone / UDP(sport=40000 + i, dport=53) / q)
        frames.append(server / UDP(sport=53, dport=40000 + i) / a)
    for n, f in enumerate(frames):
        f.time = 1_796_400_000 + n * 0.01
    wrpcap(str(path), frames)


def test_dns_names_and_types_agree(tmp_path):
    cap = tmp_path / "dns.pcap"
    _dns_capture(cap)
    verified = _analyze(tmp_path, cap)
    assert verified["disagreements"] == []
    assert verified["facts_compared"] == 4  # two queries: name and type each


def _fault(kind: type, change):  # noqa: ANN001, ANN202
    """Analyzer.finish with `change` applied to every observation of `kind`."""
    finish = engine.Analyzer.finish

    def faulty(self):  # noqa: ANN001, ANN202
        result = finish(self)
        result.observations = [change(o) if isinstance(o, kind) else o for o in result.observations]
        return result

    return faulty


R = dataclasses.replace
FAULTS = {
    # capture, observation type, injected fault, (frame, what, field, analyzer, tshark)
    "http user-agent dropped": (
        "http-404-retry-ok", HttpExchange, lambda o: R(o, user_agent=None),
        (4, "http-request", "user-agent", "", "cisco/CP-8831-3PCC (88012BA01234)"),
    ),
    "http status misread": (
        "http-404-retry-ok", HttpExchange, lambda o: R(o, status=500 if o.status == 404 else o.status),
        (6, "http-response", "status", "500", "404"),
    ),
    "decrypted https uri misread": (
        "https-resync-clean", HttpExchange, lambda o: R(o, url=o.url.upper()),
        (10, "http-request", "uri", "/CP-8831-3PCC.CFG", "/CP-8831-3PCC.cfg"),
    ),
    "tftp file name cut": (
        "tftp-resync-tid", TftpTransfer, lambda o: R(o, filename=o.filename[:-4]),
        (1, "tftp-request", "file", "CP-8831-3PCC", "CP-8831-3PCC.cfg"),
    ),
    "tftp opcode swapped": (
        "tftp-resync-tid", TftpTransfer, lambda o: R(o, op="WRQ"),
        (1, "tftp-request", "opcode", "WRQ", "RRQ"),
    ),
    "syslog severity lost": (
        "syslog-request-result", SyslogMessage, lambda o: R(o, severity=None),
        (1, "syslog", "severity", "", "6"),
    ),
    "tls suite list shortened": (
        "https-wrong-cn-accepted", TlsHandshake,
        lambda o: R(o, offered_cipher_suites=o.offered_cipher_suites[:-1]),
        (4, "tls-client-hello", "cipher-suites",
         "0x0039,0x0035,0x0033,0x002f", "0x0039,0x0035,0x0033,0x002f,0x00ff"),
    ),
    "tls sni dropped": (
        "https-wrong-cn-accepted", TlsHandshake, lambda o: R(o, server_name=None),
        (4, "tls-client-hello", "sni", "", "prov.example.test"),
    ),
    "tls chosen suite misread": (
        "https-resync-clean", TlsHandshake, lambda o: R(o, chosen_cipher_suite=0x002F),
        (6, "tls-server-hello", "cipher-suite", "0x002f", "0x0035"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS)
def test_an_injected_analyzer_fault_is_reported(tmp_path, monkeypatch, fault):
    name, kind, change, expected = FAULTS[fault]
    monkeypatch.setattr(engine.Analyzer, "finish", _fault(kind, change))
    verified = _analyze(tmp_path, CAPTURES / f"{name}.pcapng")
    got = [tuple(d.values()) for d in verified["disagreements"]]
    assert expected in got
    assert verified["agree"] is False


def test_a_dropped_dissector_field_is_reported_with_its_frame(tmp_path, monkeypatch):
    """The syslog dissector itself loses the host name: tshark has it at frames 1 and 12."""
    real = engine.syslog_observation

    def no_host(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        obs = real(*args, **kwargs)
        return obs and R(obs, hostname=None)

    monkeypatch.setattr(engine, "syslog_observation", no_host)
    verified = _analyze(tmp_path, CAPTURES / "syslog-request-result.pcapng")
    got = [(d["frame"], d["field"], d["analyzer"], d["tshark"]) for d in verified["disagreements"]]
    assert got == [(1, "host", "", "vm"), (12, "host", "", "vm")]


def test_a_lost_transaction_is_reported_as_seen_by_tshark_only(tmp_path, monkeypatch):
    finish = engine.Analyzer.finish

    def lose_second(self):  # noqa: ANN001, ANN202
        result = finish(self)
        http = [o for o in result.observations if isinstance(o, HttpExchange)]
        result.observations = [o for o in result.observations if o is not http[1]]
        return result

    monkeypatch.setattr(engine.Analyzer, "finish", lose_second)
    verified = _analyze(tmp_path, CAPTURES / "http-404-retry-ok.pcapng")
    got = [(d["frame"], d["what"], d["field"], d["analyzer"], d["tshark"])
           for d in verified["disagreements"]]  # fmt: skip
    assert got == [
        (14, "http-request", "frame", None, "14"),
        (16, "http-response", "frame", None, "16"),
    ]


def test_text_output_lists_the_disagreements(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engine.Analyzer, "finish", _fault(TftpTransfer, lambda o: R(o, op="WRQ")))
    cap = CAPTURES / "tftp-resync-tid.pcapng"
    assert main(["analyze", str(cap), "--verify", "--no-progress"]) in (0, 1)
    out = capsys.readouterr().out
    assert "1 disagreements" in out
    assert "frame 1 tftp-request opcode: analyzer 'WRQ', tshark 'RRQ'" in out


def test_help_says_it_is_slow(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--verify" in out and "SLOW" in out


def test_without_tshark_the_report_says_why_and_the_verdicts_stand(tmp_path, monkeypatch):
    from harness.analyze import verify

    monkeypatch.setattr(verify.shutil, "which", lambda name: None)
    out = tmp_path / "report.json"
    cap = CAPTURES / "http-404-retry-too-soon.pcapng"
    args = ["analyze", str(cap), "--verify", "--format", "json", "--out", str(out),
            "--param", "Resync_Error_Retry_Delay=30"]  # fmt: skip
    assert main(args) == 1  # HTTP-404 fails as without --verify
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    (verified,) = report["verify"]
    assert verified["agree"] is False and verified["facts_compared"] == 0
    assert "tshark is not installed" in verified["error"]


def _fold_user_agent(src: Path, dst: Path) -> None:
    """The first request's User-Agent rewritten (scapy) into an obsolete line folding
    (RFC 9112 5.2), same length, so TCP sequence numbers still hold."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap, wrpcap

    old, new = b" (88012BA01234)", b"\r\n\t88012BA01234"
    frames, done = [], False
    for p in rdpcap(str(src)):
        if not done and p.haslayer(TCP) and old in bytes(p[TCP].payload):
            raw = bytes(p[TCP].payload).replace(old, new)
            p[TCP].remove_payload()
            p[TCP].add_payload(raw)
            del p[IP].chksum, p[TCP].chksum
            done = True
        frames.append(p)
    assert done
    wrpcap(str(dst), frames)


def test_a_folded_header_read_two_ways_is_reported(tmp_path):
    """A capture the two read differently: the analyzer unfolds the obs-fold (as RFC 9112
    allows a recipient to), tshark keeps the first line only; --verify says so."""
    cap = tmp_path / "folded.pcap"
    _fold_user_agent(CAPTURES / "http-404-retry-ok.pcapng", cap)
    verified = _analyze(tmp_path, cap)
    assert [tuple(d.values()) for d in verified["disagreements"]] == [
        (4, "http-request", "user-agent", "cisco/CP-8831-3PCC 88012BA01234", "cisco/CP-8831-3PCC")
    ]
