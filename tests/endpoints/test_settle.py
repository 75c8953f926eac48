"""Settling: `settle()` returns once endpoints have recorded what reached them.

Each test makes the record come late on purpose (the endpoints' loop busy while a
datagram waits in the socket, an HTTP answer delayed, a TFTP transfer stalled) and
checks that settle waits for it, or says False when it cannot finish in time.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time

from harness.endpoints.loop import background_loop
from harness.testing import HttpExchange


def block_loop(seconds: float) -> threading.Event:
    """Keep the shared background loop busy for `seconds`; the event is set once it is."""
    started = threading.Event()

    def hog() -> None:
        started.set()
        time.sleep(seconds)

    background_loop().call_soon_threadsafe(hog)
    assert started.wait(5)
    return started


def test_a_queued_datagram_is_waited_for(syslog_server) -> None:
    block_loop(0.3)  # the endpoint cannot read while the loop is busy
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"<134>CP-8831-3PCC 00:0e:08:ab:cd:ef -- Resync failed: 404",
                 syslog_server.address)  # fmt: skip
    assert syslog_server.messages == []  # not read yet: it waits in the socket
    assert syslog_server._busy()  # and the socket's queue (SIOCINQ) says so
    assert syslog_server.settle(quiet=0) is True  # no quiet window: the socket queue tells
    assert [m.message for m in syslog_server.messages] == [
        "CP-8831-3PCC 00:0e:08:ab:cd:ef -- Resync failed: 404"
    ]


def test_a_request_being_answered_is_waited_for(http_server) -> None:
    http_server.expect("/slow.cfg").respond(200, body="<flat-profile/>").delay(0.4)
    curl = subprocess.Popen(["curl", "-s", "-o", "/dev/null", http_server.url_for("/slow.cfg")])
    try:
        deadline = time.monotonic() + 5
        while http_server._in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert http_server._in_flight == 1
        assert http_server.records(HttpExchange) == []  # answered later, recorded after
        assert http_server.settle() is True
        assert [r.status for r in http_server.records(HttpExchange)] == [200]
    finally:
        curl.wait(10)


def test_settle_says_false_when_a_transfer_does_not_end(tftp_server, tmp_path) -> None:
    tftp_server.add_file("/big.cfg", b"x" * 4096)
    tftp_server.fault("/big.cfg").stall_after(1)
    client = subprocess.Popen(["tftp", "127.0.0.1", str(tftp_server.port), "-m", "binary",
                               "-c", "get", "big.cfg", str(tmp_path / "got")])  # fmt: skip
    try:
        time.sleep(0.3)
        assert tftp_server.settle(timeout=0.3) is False  # a transfer is still open
    finally:
        client.kill()
        client.wait(5)
