"""Cassettes: a capture's recorded answers served again to real clients (curl, tftp-hpa)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.analyze.cassette import Cassette, CassetteError
from harness.capture.live import LiveCapture
from harness.endpoints.http import HttpServer
from harness.endpoints.tftp import TftpServer
from tests.clients import free_udp_port, tftp_get

UA = "Cisco/SPA504G-7.6.2 (88012BA01234)"
PROFILE = b"<flat-profile><Resync_Periodic>77</Resync_Periodic></flat-profile>\n"
BIG = os.urandom(70000)  # several TCP segments
FIRMWARE = os.urandom(3000)
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root"),
    pytest.mark.skipif(not shutil.which("curl") or not shutil.which("tftp"), reason="no curl/tftp"),
]


def curl(url: str, *extra: str) -> tuple[int, bytes, str]:
    """(status, body, headers text) as curl saw them."""
    r = subprocess.run(
        ["curl", "-s", "-A", UA, "-D", "/dev/stderr", *extra, url],
        capture_output=True,
        timeout=10,
        check=True,
    )
    head = r.stderr.decode("latin-1")
    return int(head.split()[1]), r.stdout, head


@pytest.fixture(scope="module")
def field(tmp_path_factory) -> tuple[Path, dict]:
    """A capture of a provisioning run, and what curl/tftp got during it."""
    tmp = tmp_path_factory.mktemp("cassette")
    http = HttpServer()
    tftp = TftpServer(files={"/SPA504G.bin": FIRMWARE})
    http.start()
    tftp.start()
    seen: dict = {}
    try:
        http.expect("/CP-8831-3PCC.cfg").respond(404).then(
            200, PROFILE, headers={"Content-Type": "text/xml", "X-Profile": "v7"}
        )
        http.expect("/big.bin").respond(200, BIG, content_type="application/octet-stream")
        http.expect("/chunked.cfg").respond(200, PROFILE * 3).chunked()
        local, local2 = free_udp_port(), free_udp_port()
        bpf = (
            f"tcp port {http.port} or udp port {tftp.port} or udp port {local} or udp port {local2}"
        )
        with LiveCapture("lo", bpf, tmp / "field.pcapng") as cap:
            seen["first"] = curl(http.url_for("/CP-8831-3PCC.cfg"))
            seen["second"] = curl(http.url_for("/CP-8831-3PCC.cfg"))
            seen["big"] = curl(http.url_for("/big.bin"))
            seen["chunked"] = curl(http.url_for("/chunked.cfg"))
            assert tftp_get(tftp.port, "SPA504G.bin", tmp / "fw", local).returncode == 0
            tftp_get(tftp.port, "nofile.cfg", tmp / "nofile", local2)
    finally:
        http.stop()
        tftp.stop()
    return cap.path, seen


@pytest.fixture
def server():
    s = HttpServer()
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_cassette_holds_the_recorded_answers(field):
    path, _ = field
    c = Cassette.from_pcap(path)
    assert [(r.exchange.url, r.exchange.status, r.complete) for r in c.http] == [
        ("/CP-8831-3PCC.cfg", 404, True),
        ("/CP-8831-3PCC.cfg", 200, True),
        ("/big.bin", 200, True),
        ("/chunked.cfg", 200, True),
    ]
    assert c.http[2].body == BIG and c.http[3].body == PROFILE * 3
    assert [(r.transfer.filename, r.transfer.outcome) for r in c.tftp] == [
        ("SPA504G.bin", "complete"),
        ("nofile.cfg", "error"),
    ]
    assert c.tftp[0].body == FIRMWARE
    assert not c.problems


def test_cassette_serves_the_same_bytes_to_curl(field, server):
    path, seen = field
    assert Cassette.from_pcap(path).install(server) == 4
    first = curl(server.url_for("/CP-8831-3PCC.cfg"))
    second = curl(server.url_for("/CP-8831-3PCC.cfg"))
    assert (first[0], first[1]) == (seen["first"][0], seen["first"][1]) == (404, first[1])
    assert (second[0], second[1]) == (200, PROFILE) == (seen["second"][0], seen["second"][1])
    assert "X-Profile: v7" in second[2] and "text/xml" in second[2]
    assert curl(server.url_for("/big.bin"))[1] == seen["big"][1] == BIG
    assert curl(server.url_for("/chunked.cfg"))[1] == PROFILE * 3
    assert curl(server.url_for("/CP-8831-3PCC.cfg"))[0] == 200  # the last answer repeats
    assert server.unexpected_requests() == []


def test_cassette_serves_tftp_files_and_errors(field, tmp_path):
    path, _ = field
    tftp = TftpServer()
    tftp.start()
    try:
        assert Cassette.from_pcap(path).install_tftp(tftp) == 2
        assert tftp_get(tftp.port, "SPA504G.bin", tmp_path / "fw", free_udp_port()).returncode == 0
        assert (tmp_path / "fw").read_bytes() == FIRMWARE
        r = tftp_get(tftp.port, "nofile.cfg", tmp_path / "nofile", free_udp_port())
        assert "Error code 1" in r.stdout + r.stderr
    finally:
        tftp.stop()


def test_device_filter(field):
    path, _ = field
    assert len(Cassette.from_pcap(path, device="88012BA01234").http) == 4  # serial of the UA
    assert len(Cassette.from_pcap(path, device="127.0.0.1").tftp) == 2
    assert Cassette.from_pcap(path, device="192.0.2.99").http == []


def test_gzipped_capture_works(field, tmp_path):
    path, _ = field
    gz = tmp_path / "field.pcapng.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert len(Cassette.from_pcap(gz).http) == 4


def test_damaged_captures_are_clear_errors(field, tmp_path, server):
    path, _ = field
    data = path.read_bytes()
    cut = tmp_path / "cut.pcapng"
    at = data.find(BIG[-40:-8])  # cut in the last segment of the big answer
    assert at > 0
    cut.write_bytes(data[:at])
    with pytest.raises(CassetteError, match=r"damaged.*strict=False"):
        Cassette.from_pcap(cut)
    lenient = Cassette.from_pcap(cut, strict=False)
    assert lenient.problems and lenient.problems[0].startswith("file: ")
    assert [(r.exchange.url, r.complete) for r in lenient.http][-1] == ("/big.bin", False)
    with pytest.raises(CassetteError, match=r"/big.bin answered 200 with \d+ body bytes"):
        lenient.install(HttpServer())  # not started: install only scripts
    assert lenient.install(server, strict=False) == 2
    assert "left out" in lenient.problems[-1]
    assert curl(server.url_for("/big.bin"))[0] == 404  # not served rather than served cut
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(CassetteError, match="not a pcap or pcapng"):
        Cassette.from_pcap(junk)
    with pytest.raises(CassetteError, match="No such file"):
        Cassette.from_pcap(tmp_path / "missing.pcap")
