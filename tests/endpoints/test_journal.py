"""The bounded recorder and its journal: a window in memory, every observation on disk, read back."""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.endpoints.lab import ProvisioningLab
from harness.observe.events import (
    DeviceKey,
    DhcpExchange,
    Evidence,
    HttpExchange,
    SyslogMessage,
    TlsAlert,
    TlsCertificate,
    TlsHandshake,
)
from harness.observe.journal import Journal, decode, encode, journal_files, read_journal
from harness.observe.recorder import Recorder

EV = Evidence("endpoint:http:127.0.0.1:80", (3, 4), "d")
DEV = DeviceKey(ip="192.0.2.9", mac="00aabbccddee", serial="SER1", product="CP-8831-3PCC")


def _samples():
    yield HttpExchange(
        time=1.5, client=("192.0.2.9", 5000), server=("192.0.2.1", 80), device=DEV, evidence=EV,
        method="GET", url="/a.cfg", headers=(("User-Agent", "x\x1b"),), request_body=b"\xff\x00",
        status=200, response_headers=(("Content-Length", "3"),),
    )  # fmt: skip
    yield TlsHandshake(
        time=2.0, device=DEV, evidence=EV, offered_cipher_suites=(0x2F, 0x35),
        server_cert_chain=(TlsCertificate("CN=a", "CN=b", san_dns=("a.test",)),),
        alert=TlsAlert("client", 2, 48, "unknown_ca"), client_cert_subject={"CN": "SER1"},
    )  # fmt: skip
    yield DhcpExchange(time=3.0, message_type="OFFER", offered_options={66: "tftp://x"})
    yield SyslogMessage(time=4.0, message="line one\nline two", facility=16, severity=6)


def test_every_observation_type_round_trips():
    for o in _samples():
        assert decode(encode(o)) == o


@settings(max_examples=100, deadline=None)
@given(st.text(), st.binary(max_size=64))
def test_any_text_and_body_round_trip(text, body):
    o = HttpExchange(time=0.0, method="GET", url=text, user_agent=text, request_body=body)
    assert decode(encode(o)) == o


def test_window_bounds_memory_and_the_journal_keeps_everything(tmp_path):
    recorder = Recorder(window=10, journal=Journal(tmp_path, max_bytes=2000, keep=1000))
    for i in range(500):
        recorder.record(SyslogMessage(time=float(i), message=f"message {i}"))
    recorder.close()
    assert [o.time for o in recorder.observations] == [float(i) for i in range(490, 500)]
    assert recorder.count == 500
    assert len(journal_files(tmp_path)) > 5  # rotated
    assert [o.message for o in recorder.history()] == [f"message {i}" for i in range(500)]


def test_rotation_keeps_disk_bounded(tmp_path):
    journal = Journal(tmp_path, max_bytes=1000, keep=2)
    for i in range(1000):
        journal.write(SyslogMessage(time=float(i), message="m" * 50))
    journal.close()
    assert len(journal_files(tmp_path)) == 3
    assert sum(p.stat().st_size for p in journal_files(tmp_path)) < 3 * 1200
    times = [o.time for o in read_journal(tmp_path)]
    assert times == sorted(times) and times[-1] == 999.0


def test_a_torn_line_is_skipped_and_said(tmp_path):
    journal = Journal(tmp_path)
    journal.write(SyslogMessage(time=1.0, message="ok"))
    journal.close()
    with open(journal.path, "a") as fp:
        fp.write('{"kind":"syslog","time":')
    problems: list[str] = []
    assert [o.message for o in read_journal(tmp_path, problems)] == ["ok"]
    assert problems and "observations.jsonl:2" in problems[0]


def test_lab_rules_read_the_journal_back(tmp_path):
    recorder = Recorder(window=2, journal=Journal(tmp_path / "journal"))
    with ProvisioningLab(tmp_path / "root", recorder=recorder) as lab:
        lab.put("a.cfg", "<flat-profile/>")
        for _ in range(5):
            subprocess.run(["curl", "-sf", lab.http.url + "/a.cfg"], check=True, timeout=20)
        assert recorder.wait_for(lambda _: recorder.count >= 5)
        assert len(lab.observations) == 2
        timelines = lab.timelines()
    assert sum(len(t.observations) for t in timelines) == 5
