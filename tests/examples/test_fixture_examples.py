"""The README's fixture examples, verbatim, so they stay true.

Each test here is what a user writes with the `harness` pytest plugin: start a
throwaway endpoint, point a client at it, assert on what the endpoint recorded.
"""

import socket
import subprocess

from harness.testing import DeviceIdentity, HttpExchange, TftpTransfer, Verdict

UA = "cisco/CP-8831-3PCC (88012BA01234)"


def test_tftp_server(tftp_server, tmp_path):
    (tftp_server.root / "CP-8831-3PCC.cfg").write_text("<flat-profile/>")
    tftp_server.fault("/CP-8831-3PCC.cfg").drop_block(1)  # the client must retransmit
    out = tmp_path / "got.cfg"
    cmd = ["tftp", "127.0.0.1", str(tftp_server.port), "-m", "binary", "-c", "get"]
    subprocess.run([*cmd, "CP-8831-3PCC.cfg", str(out)], check=True, timeout=30)
    (transfer,) = tftp_server.wait_transfers(1)
    assert isinstance(transfer, TftpTransfer) and transfer.outcome == "complete"
    assert transfer.retransmissions >= 1


def test_http_server(http_server):
    http_server.expect("/CP-8831-3PCC.cfg").respond(404).then(200, body="<flat-profile/>")
    url = http_server.url_for("/CP-8831-3PCC.cfg")
    for expected in ("404", "200"):
        got = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", UA, url],
            capture_output=True, text=True, timeout=30,
        ).stdout  # fmt: skip
        assert got == expected
    assert [r.status for r in http_server.requests] == [404, 200]
    assert http_server.requests[0].user_agent == UA
    http_server.check_no_unexpected()


def test_https_server(https_server, tmp_path):
    ca = https_server.ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    subprocess.run(
        ["curl", "-sf", "--cacert", str(ca), "--resolve", https_server.resolve,
         "-o", "/dev/null", https_server.url + "/missing.cfg"],
        timeout=30,
    )  # fmt: skip
    (hs,) = https_server.wait_for_handshakes(1)
    assert hs.server_name == "prov.example.test" and hs.established
    assert 0x002F in hs.offered_cipher_suites or hs.chosen_version == "TLS1.3"


def test_syslog_server(syslog_server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(
            b"<134>CP-8831-3PCC 00:0e:08:ab:cd:ef -- Resync failed: 404", syslog_server.address
        )
    assert syslog_server.recorder.wait_for(lambda obs: len(obs) == 1)
    assert syslog_server.messages[0].message.endswith("Resync failed: 404")


def test_dns_server(dns_server):
    dns_server.add_a("prov.example.test", "127.0.0.2", "127.0.0.1")
    cmd = ["dig", "@127.0.0.1", "-p", str(dns_server.port), "+short", "prov.example.test"]
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.split() == [
        "127.0.0.2",
        "127.0.0.1",
    ]
    assert [(q.qname, q.qtype) for q in dns_server.queries] == [("prov.example.test", "A")]


def test_provisioning_lab(provisioning_lab):
    lab = provisioning_lab
    lab.put("/CP-8831-3PCC.cfg", "<flat-profile/>")
    subprocess.run(["curl", "-sf", "-A", UA, lab.http.url_for("/CP-8831-3PCC.cfg")], timeout=30)
    findings = lab.evaluate(
        "cisco-8831-3pcc",
        identity=DeviceIdentity(product="CP-8831-3PCC", serial="88012BA01234"),
        only=["UA-FORMAT", "UA-IDENTITY"],
    )
    assert [(f.rule, f.verdict) for f in findings] == [
        ("UA-FORMAT", Verdict.PASS),
        ("UA-IDENTITY", Verdict.PASS),
    ]
    assert isinstance(lab.observations[0], HttpExchange)
