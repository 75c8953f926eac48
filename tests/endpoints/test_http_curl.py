"""HttpServer against a real client (curl in a subprocess): versions, keep-alive, chunked,
POST, Basic/Digest (401) and proxy (407) auth, redirects, the ordered script, faults."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest

from harness.clock import VirtualClock
from harness.endpoints.http import HttpServer
from harness.endpoints.http_script import Response

UA_8831 = "cisco/CP-8831-3PCC (88012BA01234)"
PROFILE = b'<flat-profile><Resync_Periodic ua="na">3600</Resync_Periodic></flat-profile>\n'


def curl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    """Run curl (killed on timeout by subprocess.run)."""
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)


def code_of(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode("latin-1").rsplit("\n", 1)[-1]


def raw_exchange(server: HttpServer, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(server.address, timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("flag,version", [("--http1.0", "HTTP/1.0"), ("--http1.1", "HTTP/1.1")])
def test_get_with_http_1_0_and_1_1(http_server, flag, version):
    http_server.expect("/CP-8831-3PCC.cfg").respond(200, body=PROFILE)
    result = curl(flag, "-A", UA_8831, http_server.url_for("/CP-8831-3PCC.cfg"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == PROFILE
    (ex,) = http_server.requests
    assert (ex.method, ex.url, ex.version, ex.status, ex.outcome) == (
        "GET",
        "/CP-8831-3PCC.cfg",
        version,
        200,
        "answered",
    )
    assert ex.user_agent == UA_8831
    assert (ex.device.serial, ex.device.product, ex.device.ip) == (
        "88012BA01234",
        "CP-8831-3PCC",
        "127.0.0.1",
    )
    assert ex.response_bytes == len(PROFILE) and ex.scheme == "http"
    assert ex.evidence == http_server.evidence


def test_ordered_script_404_then_200_last_step_repeats(http_server):
    http_server.expect("/CP-8831-3PCC.cfg").respond(404).then(200, body=PROFILE)
    url = http_server.url_for("/CP-8831-3PCC.cfg")
    codes = [code_of(curl("-o", "/dev/null", "-w", "\n%{http_code}", url)) for _ in range(3)]
    assert codes == ["404", "200", "200"]
    assert [e.status for e in http_server.requests] == [404, 200, 200]
    assert http_server.unused_expectations() == []
    http_server.assert_no_unexpected()


def test_times_and_once_make_an_expectation_run_out(http_server):
    http_server.expect("/x").respond(503).times(2).then(200).once()
    url = http_server.url_for("/x")
    codes = [code_of(curl("-o", "/dev/null", "-w", "\n%{http_code}", url)) for _ in range(4)]
    assert codes == ["503", "503", "200", "404"]
    with pytest.raises(AssertionError, match=r"1 request\(s\) no expectation matched:\n  GET /x"):
        http_server.check_no_unexpected()


def test_unused_expectations_lists_steps_never_served(http_server):
    e = http_server.expect("/CP-8831-3PCC.cfg").respond(404).then(200)
    http_server.expect("/never")
    curl("-o", "/dev/null", http_server.url_for("/CP-8831-3PCC.cfg"))
    unused = http_server.unused_expectations()
    assert e in unused and [u.path for u in unused] == ["/CP-8831-3PCC.cfg", "/never"]


def test_keep_alive_two_urls_share_one_connection(http_server):
    http_server.expect("/a").respond(200, body="A")
    http_server.expect("/b").respond(200, body="B")
    result = curl(http_server.url_for("/a"), http_server.url_for("/b"))
    assert result.stdout == b"AB"
    a, b = http_server.requests
    assert a.client == b.client  # same client port: one TCP connection


def test_http_1_0_keep_alive_on_request(http_server):
    http_server.expect("/a").respond(200, body="A")
    result = curl(
        "--http1.0",
        "-H",
        "Connection: keep-alive",
        http_server.url_for("/a"),
        http_server.url_for("/a"),
    )
    assert result.stdout == b"AA"
    a, b = http_server.requests
    assert a.client == b.client
    assert ("Connection", "keep-alive") in a.response_headers


def test_http_1_0_closes_by_default(http_server):
    http_server.expect("/a").respond(200, body="A")
    curl("--http1.0", http_server.url_for("/a"), http_server.url_for("/a"))
    a, b = http_server.requests
    assert a.client != b.client


def test_answer_as_http_1_0_server(http_server):
    http_server.expect("/a").respond(200, body="A", http_version="HTTP/1.0")
    result = curl("-i", http_server.url_for("/a"), http_server.url_for("/a"))
    assert result.stdout.startswith(b"HTTP/1.0 200 OK\r\n")
    a, b = http_server.requests
    assert a.client != b.client  # a 1.0 server closes after each answer


def test_answer_without_content_length_ends_at_close(http_server):
    http_server.expect("/a").respond(
        200, body=PROFILE, http_version="HTTP/1.0", content_length=False
    )
    result = curl("-i", http_server.url_for("/a"))
    assert b"Content-Length" not in result.stdout and result.stdout.endswith(PROFILE)


def test_chunked_response_curl_decodes_and_raw_bytes_are_chunks(http_server):
    body = bytes(range(256)) * 10  # 2560 bytes: chunks of 1024, 1024, 512
    http_server.expect("/c").respond(200, body=body, chunked=True)
    result = curl("--http1.1", http_server.url_for("/c"))
    assert result.returncode == 0 and result.stdout == body
    raw = raw_exchange(http_server, b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert payload == (
        b"400\r\n"
        + body[:1024]
        + b"\r\n400\r\n"
        + body[1024:2048]
        + b"\r\n200\r\n"
        + body[2048:]
        + b"\r\n0\r\n\r\n"
    )


def test_chunked_is_not_sent_to_an_http_1_0_client(http_server):
    http_server.expect("/c").respond(200, body="abc", chunked=True)
    result = curl("--http1.0", "-i", http_server.url_for("/c"))
    assert b"Content-Length: 3" in result.stdout and b"chunked" not in result.stdout
    assert "HTTP/1.0" in http_server.requests[0].note


@pytest.mark.parametrize("chunked", [False, True])
def test_post_body_is_recorded(http_server, tmp_path, chunked):
    data = bytes(range(256)) * 8 + b"\r\n0\r\n\r\n"  # binary, with CRLFs inside
    (tmp_path / "body.bin").write_bytes(data)
    http_server.expect("/report", method="POST").respond(200, body="ok")
    extra = ["-H", "Transfer-Encoding: chunked"] if chunked else []
    result = curl(
        *extra, "--data-binary", f"@{tmp_path / 'body.bin'}", http_server.url_for("/report")
    )
    assert result.stdout == b"ok", result.stderr
    (ex,) = http_server.requests
    assert ex.method == "POST" and ex.request_body == data
    assert (ex.header("Transfer-Encoding") == "chunked") is chunked


def test_method_filter(http_server):
    http_server.expect("/x", method="POST").respond(200, body="posted")
    assert (
        code_of(curl("-o", "/dev/null", "-w", "\n%{http_code}", http_server.url_for("/x"))) == "404"
    )
    assert curl("-d", "a=1", http_server.url_for("/x")).stdout == b"posted"


def test_header_filter(http_server):
    http_server.expect("/x", headers={"User-Agent": UA_8831}).respond(200, body="phone")
    assert curl("-A", UA_8831, http_server.url_for("/x")).stdout == b"phone"
    assert (
        curl(
            "-A", "other", "-o", "/dev/null", "-w", "%{http_code}", http_server.url_for("/x")
        ).stdout
        == b"404"
    )


def test_head_sends_length_without_body(http_server):
    http_server.expect("/x").respond(200, body=PROFILE)
    result = curl("-I", http_server.url_for("/x"))
    assert f"Content-Length: {len(PROFILE)}".encode() in result.stdout
    assert http_server.requests[0].method == "HEAD" and http_server.requests[0].response_bytes == 0


def test_basic_auth_401(http_server):
    http_server.expect("/p.cfg").require_auth("basic", "u", "p").respond(200, body=PROFILE)
    url = http_server.url_for("/p.cfg")
    denied = curl("-i", url)
    assert denied.stdout.startswith(b"HTTP/1.1 401")
    assert b'WWW-Authenticate: Basic realm="harness"' in denied.stdout
    assert (
        curl("-u", "u:wrong", "--basic", "-o", "/dev/null", "-w", "%{http_code}", url).stdout
        == b"401"
    )
    assert curl("-u", "u:p", "--basic", url).stdout == PROFILE
    statuses = [(e.status, e.note.split(" (")[0]) for e in http_server.requests]
    assert statuses == [(401, "Basic challenge"), (401, "Basic challenge"), (200, "")]
    assert "wrong password for user 'u'" in http_server.requests[1].note


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_auth_401(http_server, algorithm):
    http_server.expect("/p.cfg").require_auth("digest", "u", "p", algorithm=algorithm).respond(
        200, body=PROFILE
    )
    url = http_server.url_for("/p.cfg")
    result = curl("-u", "u:p", "--digest", url)
    assert result.stdout == PROFILE, result.stderr
    first, second = http_server.requests
    assert first.status == 401 and second.status == 200
    assert second.header("Authorization").startswith("Digest ")
    wrong = curl("-u", "u:bad", "--digest", "-o", "/dev/null", "-w", "%{http_code}", url)
    assert wrong.stdout == b"401"
    assert "digest mismatch" in http_server.requests[-1].note


@pytest.mark.parametrize("flag", ["--proxy-basic", "--proxy-digest"])
def test_proxy_auth_407(http_server, flag):
    http_server.expect("/CP-8831-3PCC.cfg").require_auth(
        flag.removeprefix("--proxy-"), "pu", "pp", proxy=True
    ).respond(200, body=PROFILE)
    target = "http://prov.example.invalid/CP-8831-3PCC.cfg"
    denied = curl("-i", "--proxy", http_server.url, target)
    assert denied.stdout.startswith(b"HTTP/1.1 407") and b"Proxy-Authenticate: " in denied.stdout
    result = curl("--proxy", http_server.url, "--proxy-user", "pu:pp", flag, target)
    assert result.stdout == PROFILE, result.stderr
    last = http_server.requests[-1]
    assert last.url == target and last.status == 200 and last.header("Proxy-Authorization")
    assert last.host == "prov.example.invalid"


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_redirects_followed_by_curl(http_server, status):
    http_server.expect("/old.cfg").redirect(status, http_server.url_for("/new.cfg"))
    http_server.expect("/new.cfg").respond(200, body=PROFILE)
    result = curl("-L", http_server.url_for("/old.cfg"))
    assert result.stdout == PROFILE
    old, new = http_server.requests
    assert old.status == status and dict(old.response_headers)["Location"].endswith("/new.cfg")
    assert new.url == "/new.cfg"


def test_close_without_answer_is_curl_exit_52(http_server):
    http_server.expect("/x").close().then(200, body="back")
    result = curl(http_server.url_for("/x"))
    assert result.returncode == 52  # "Empty reply from server"
    assert curl(http_server.url_for("/x")).stdout == b"back"
    first = http_server.requests[0]
    assert (first.status, first.outcome) == (None, "no-response")


def test_delay_uses_the_server_clock():
    clock = VirtualClock(start=1_700_000_000.0)
    with HttpServer(clock=clock) as server:
        server.expect("/x").respond(200, body="late").delay(3600)
        result = curl("-i", server.url_for("/x"))
        assert result.stdout.endswith(b"late")
        (ex,) = server.requests
        # the Date header is taken after the delay: an hour of virtual time later
        date = dict(ex.response_headers)["Date"]
        import email.utils

        assert email.utils.parsedate_to_datetime(date).timestamp() - ex.time >= 3599


def test_delay_really_waits_with_the_real_clock(http_server):
    http_server.expect("/x").delay(30).respond(200)
    result = curl("-m", "0.5", http_server.url_for("/x"))
    assert result.returncode == 28  # curl gave up: the answer was held back


def test_slow_body_arrives_in_pieces(http_server):
    body = b"0123456789abcde"
    http_server.expect("/slow").respond(200, body=body).slow_body(5, 0.4)
    with socket.create_connection(http_server.address, timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got or len(got.partition(b"\r\n\r\n")[2]) < 5:
            got += sock.recv(4096)
        assert got.partition(b"\r\n\r\n")[2] == b"01234"
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):  # the next piece is 0.4 s away
            sock.recv(4096)
        sock.setblocking(True)
        while chunk := sock.recv(4096):
            got += chunk
    assert got.endswith(b"\r\n\r\n" + body)
    assert curl(http_server.url_for("/slow")).stdout == body


def test_respond_with_callback_sees_the_request(http_server):
    def answer(request):
        return Response(200, body=f"{request.method} {request.path} {request.client[0]}".encode())

    http_server.expect("/cb").respond_with(answer)
    assert curl(http_server.url_for("/cb")).stdout == b"GET /cb 127.0.0.1"


def test_a_failing_callback_gives_500_and_a_problem(http_server):
    http_server.expect("/cb").respond_with(lambda request: 1 / 0)
    assert (
        curl("-o", "/dev/null", "-w", "%{http_code}", http_server.url_for("/cb")).stdout == b"500"
    )
    assert "ZeroDivisionError" in http_server.problems[0]


def test_root_directory_serves_files_and_refuses_traversal(tmp_path):
    root = tmp_path / "tftpboot"
    root.mkdir()
    (root / "CP-8831-3PCC.cfg").write_bytes(PROFILE)
    (tmp_path / "secret.txt").write_text("secret")
    with HttpServer(root=root) as server:
        assert curl(server.url_for("/CP-8831-3PCC.cfg")).stdout == PROFILE
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
            result = curl(
                "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", server.url + path
            )
            assert result.stdout == b"403", path
        missing = curl("-o", "/dev/null", "-w", "%{http_code}", server.url_for("/nope.cfg"))
        assert missing.stdout == b"404"
        assert len([p for p in server.problems if "path traversal refused" in p]) == 3
        assert [e.status for e in server.unexpected_requests()] == [403, 403, 403, 404]


def test_unscripted_path_is_404_and_unexpected(http_server):
    assert curl("-o", "/dev/null", "-w", "%{http_code}", http_server.url_for("/x")).stdout == b"404"
    with pytest.raises(AssertionError, match="GET /x from 127.0.0.1 -> 404"):
        http_server.assert_no_unexpected()


def test_binds_a_given_host(tmp_path):
    with HttpServer(host="127.0.0.2") as server:
        server.expect("/x").respond(200, body="two")
        assert server.url.startswith("http://127.0.0.2:")
        assert curl(server.url_for("/x")).stdout == b"two"
        assert server.requests[0].server[0] == "127.0.0.2"


async def curl_async(url: str) -> bytes:
    """curl from an async test, without blocking the test's event loop."""
    proc = await asyncio.create_subprocess_exec("curl", "-sS", url, stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return out


async def test_fixture_works_from_async_tests(http_server):
    http_server.expect("/a").respond(200, body="async")
    out = await curl_async(http_server.url_for("/a"))
    assert out == b"async"
    assert http_server.requests[0].status == 200


async def test_start_async_on_the_test_loop():
    async with HttpServer() as server:
        server.expect("/a").respond(200, body="own loop")
        out = await curl_async(server.url_for("/a"))
        assert out == b"own loop"
        assert server.requests[0].status == 200


def test_a_response_header_that_would_break_framing_is_a_problem_not_a_crash(http_server):
    http_server.expect("/bad").respond(200, headers={"X-Evil": "a\r\nInjected: 1"})
    assert curl(http_server.url_for("/bad")).returncode == 52
    assert "would break the response framing" in http_server.problems[0]
    assert http_server.requests[0].outcome == "no-response"
    curl_result = curl("-o", "/dev/null", "-w", "%{http_code}", http_server.url_for("/other"))
    assert curl_result.stdout == b"404"
