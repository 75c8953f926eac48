"""`harness replay`: a capture of curl and tftp-hpa against the harness's servers, replayed.

One capture per module (curl GET/POST with a phone's User-Agent against an
HttpServer, tftp-hpa against a TftpServer, on loopback, real tools), then
replayed against servers scripted the same way (exit 0) and differently
(exit 1, the table names the rows), with the CLI as a user runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.analyze.engine import analyze_capture
from harness.analyze.replay import ReplayError, ReplayRequest, Target, plan, render_table, replay
from harness.capture.live import LiveCapture
from harness.cli import main
from harness.endpoints.http import HttpServer
from harness.endpoints.tftp import TftpServer
from harness.observe.events import DeviceKey, Evidence, HttpExchange
from tests.clients import free_udp_port, tftp_get

UA = "Cisco/SPA504G-7.6.2 (88012BA01234)"
PROFILE = b"<flat-profile><Resync_Periodic>77</Resync_Periodic></flat-profile>\n"
FIRMWARE = bytes(range(256)) * 9  # 2304 bytes: several TFTP blocks
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root"),
    pytest.mark.skipif(not shutil.which("curl") or not shutil.which("tftp"), reason="no curl/tftp"),
]


def curl(*args: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-A", UA, *args], check=True, timeout=10)


def script_like_capture(server: HttpServer) -> None:
    server.expect("/CP-8831-3PCC.cfg").respond(200, PROFILE)
    server.expect("/status", method="POST").respond(204)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The capture: GET profile (200), GET missing (404), POST status (204), 2 TFTP reads."""
    tmp = tmp_path_factory.mktemp("replay")
    http = HttpServer()
    tftp = TftpServer(files={"/SPA504G.bin": FIRMWARE})
    http.start()
    tftp.start()
    try:
        script_like_capture(http)
        local, local2 = free_udp_port(), free_udp_port()
        bpf = (
            f"tcp port {http.port} or udp port {tftp.port} or udp port {local} or udp port {local2}"
        )
        with LiveCapture("lo", bpf, tmp / "field.pcapng") as cap:
            curl(http.url_for("/CP-8831-3PCC.cfg"))
            curl(http.url_for("/missing.cfg"))
            curl("-d", "state=ok", http.url_for("/status"))
            tftp_get(tftp.port, "SPA504G.bin", tmp / "fw", local)
            tftp_get(tftp.port, "nofile.cfg", tmp / "nofile", local2)
    finally:
        http.stop()
        tftp.stop()
    return cap.path


@pytest.fixture
def server():
    s = HttpServer()
    s.start()
    try:
        yield s
    finally:
        s.stop()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["replay", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_against_the_same_content_exits_0(recorded, server, capsys):
    script_like_capture(server)
    code, out, err = run_cli(capsys, str(recorded), "--target", server.url, "--no-wait")
    assert code == 0, out + err
    assert "3 request(s) replayed, all answered as captured" in out
    seen = [(e.method, e.url, e.user_agent) for e in server.requests]
    assert seen == [
        ("GET", "/CP-8831-3PCC.cfg", UA),
        ("GET", "/missing.cfg", UA),
        ("POST", "/status", UA),
    ]
    assert server.requests[2].request_body == b"state=ok"


def test_replay_against_a_different_server_exits_1_and_says_which(recorded, server, capsys):
    server.expect("/CP-8831-3PCC.cfg").respond(403)
    server.expect("/missing.cfg").respond(200, b"now here")
    server.expect("/status", method="POST").respond(204)
    code, out, _ = run_cli(capsys, str(recorded), "--target", server.url, "--scale", "0")
    assert code == 1
    rows = {line.split()[3]: line for line in out.splitlines() if line[:1].isdigit()}
    assert rows["/CP-8831-3PCC.cfg"].split()[4:7] == ["200", str(len(PROFILE)), "403"]
    assert rows["/CP-8831-3PCC.cfg"].endswith("status, size")
    assert rows["/missing.cfg"].split()[4] == "404" and "status" in rows["/missing.cfg"]
    assert rows["/status"].split()[4:] == ["204", "0", "204", "0"]  # same: no "differs" mark
    assert "3 request(s) replayed, 2 answered differently" in out


def test_same_status_different_size_differs_unless_ignored(recorded, server, capsys):
    server.expect("/CP-8831-3PCC.cfg").respond(200, PROFILE + b"<!-- changed -->")
    server.expect("/status", method="POST").respond(204)
    assert run_cli(capsys, str(recorded), "--target", server.url, "--no-wait")[0] == 1
    code, _, _ = run_cli(
        capsys, str(recorded), "--target", server.url, "--no-wait", "--ignore-size"
    )
    assert code == 0


def test_replay_json_and_base_path(recorded, server, capsys):
    server.expect("/base/CP-8831-3PCC.cfg").respond(200, PROFILE)
    server.expect("/base/status").respond(204)
    code, out, _ = run_cli(
        capsys, str(recorded), "--target", server.url + "/base/", "--no-wait", "--format", "json"
    )
    doc = json.loads(out)
    assert code == 0  # /base/missing.cfg: the same "no expectation" 404 as in the capture
    diffs = {r["request"]["target"]: r["differs"] for r in doc["results"]}
    assert diffs == {"/CP-8831-3PCC.cfg": "", "/missing.cfg": "", "/status": ""}
    assert [e.url for e in server.requests][0] == "/base/CP-8831-3PCC.cfg"


def test_replay_tftp_same_and_different(recorded, capsys):
    same = TftpServer(files={"/SPA504G.bin": FIRMWARE})
    other = TftpServer(files={"/nofile.cfg": b"exists now"})
    same.start()
    other.start()
    try:
        code, out, _ = run_cli(capsys, str(recorded), "--target", same.url, "--no-wait")
        assert code == 0, out
        done = [t.filename for t in same.wait_transfers(1) if t.outcome == "complete"]
        assert done == ["SPA504G.bin"]  # (nofile.cfg is refused there, as it was in the capture)
        code, out, _ = run_cli(capsys, str(recorded), "--target", other.url, "--no-wait")
        assert code == 1
        lines = [line for line in out.splitlines() if line[:1].isdigit()]
        assert lines[0].split()[3:8] == [
            "SPA504G.bin",
            "complete",
            str(len(FIRMWARE)),
            "error",
            "1",
        ]
        assert lines[1].split()[3:8] == ["nofile.cfg", "error", "1", "-", "complete"]
    finally:
        same.stop()
        other.stop()


def test_gaps_are_kept_and_scaled(recorded):
    observations = analyze_capture(recorded).observations
    target = Target.parse("http://127.0.0.1:9")
    requests = plan(observations, target)
    t0 = requests[0].time
    waits: list[float] = []
    clock = [100.0]
    replay(
        requests,
        Target.parse("http://127.0.0.1:1"),  # nothing listens: answers do not matter here
        scale=2.5,
        timeout=1,
        sleep=waits.append,
        monotonic=lambda: clock[0],
    )
    expected = [(r.time - t0) * 2.5 for r in requests[1:]]
    assert waits == pytest.approx([w for w in expected if w > 0])
    assert len(waits) == 2


def test_unreachable_target_is_reported_per_request(recorded, capsys):
    code, out, _ = run_cli(capsys, str(recorded), "--target", "http://127.0.0.1:1", "--no-wait")
    assert code == 1
    assert "no answer" in out and "ConnectionRefusedError" in out


@pytest.mark.parametrize(
    ("cut", "message"),
    [(None, "not a pcap or pcapng file"), (0.6, "damaged capture")],
)
def test_broken_captures_are_clear_errors(recorded, tmp_path, capsys, cut, message):
    bad = tmp_path / "bad.pcapng"
    data = recorded.read_bytes()
    bad.write_bytes(b"this is no capture" if cut is None else data[: int(len(data) * cut)])
    code, out, err = run_cli(capsys, str(bad), "--target", "http://127.0.0.1:1", "--no-wait")
    assert code == 2 and message in err and out == ""


def test_truncated_capture_replays_what_came_before_when_allowed(recorded, tmp_path, server):
    script_like_capture(server)
    data = recorded.read_bytes()
    bad = tmp_path / "cut.pcapng"
    bad.write_bytes(data[: len(data) - 7])
    code = main(["replay", str(bad), "--target", server.url, "--no-wait", "--allow-truncated"])
    assert code == 0
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["--target", "ftp://x/"],
        ["--target", "http://127.0.0.1:1", "--scale", "-1"],
        ["--target", "http://127.0.0.1:1", "--device", "10.9.9.9"],
    ],
)
def test_usage_errors_exit_2(recorded, capsys, argv):
    code, _, err = run_cli(capsys, str(recorded), *argv)
    assert code == 2 and err.startswith("harness replay: ")


# -- planning, pure -------------------------------------------------------------------------
def exchange(ip: str, url: str, t: float, serial: str | None = None) -> HttpExchange:
    return HttpExchange(
        time=t,
        client=(ip, 40000),
        server=("198.51.100.1", 80),
        device=DeviceKey(ip=ip, serial=serial),
        evidence=Evidence("test", (1,)),
        method="GET",
        url=url,
        status=200,
        response_bytes=3,
    )


def test_plan_needs_a_device_when_several_ask():
    obs = [exchange("192.0.2.10", "/a", 1.0, "SER1"), exchange("192.0.2.11", "/b", 2.0)]
    target = Target.parse("http://198.51.100.1")
    with pytest.raises(ReplayError, match=r"2 devices.*--device.*serial SER1"):
        plan(obs, target)
    assert [r.target for r in plan(obs, target, "ser1")] == ["/a"]
    assert [r.target for r in plan(obs, target, "192.0.2.11")] == ["/b"]


def test_plan_takes_absolute_form_targets_and_keeps_order():
    obs = [
        exchange("192.0.2.10", "http://p.example/x.cfg?m=1", 5.0),
        exchange("192.0.2.10", "/y", 1.0),
    ]
    got = plan(obs, Target.parse("http://198.51.100.1"))
    assert [r.target for r in got] == ["/y", "/x.cfg?m=1"]


def test_render_table_without_results_and_errors():
    req = ReplayRequest("http", 0.0, "GET", "/a", captured_status="200", captured_bytes=3)
    from harness.analyze.replay import ReplayResult

    text = render_table([ReplayResult(req, "no answer", None, "ConnectionRefusedError: x")])
    assert "#1: ConnectionRefusedError" in text and "1 answered differently" in text
