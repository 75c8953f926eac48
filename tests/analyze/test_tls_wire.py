"""TLS judged from the wire: real captures of openssl s_server (the harness.pki matrix) with
a spec-following client and a faulty one (curl -k), analyzed with --trust-ca and --keylog.

Each case is one capture of one client against every variant; the verdicts of the
server-certificate rules are asserted, and the decrypted HTTP fields are checked
against tshark given the same key log (pyshark)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.analyze.engine import analyze_capture
from harness.analyze.tls import TlsOptions
from harness.cli import main
from harness.observe.events import HttpExchange, TlsHandshake
from harness.pki.cli import init_pki
from tests.analyze.conftest import loopback_capture
from tests.analyze.tls_wire_helpers import (
    FQDN,
    PATH,
    UA,
    curl_insecure,
    nginx_servers,
    s_client,
    s_servers,
    spec_client,
    tshark_http,
)

pytestmark = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("curl") and shutil.which("tcpdump")),
    reason="openssl, curl and tcpdump are needed",
)
VARIANTS = ["valid", "wrong-cn", "cn-suffix", "self-signed", "untrusted-ca", "expired"]
FAMILY = "cisco-8831-3pcc"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    init_pki(d, FQDN, [], VARIANTS)
    return d


def capture(
    tmp_path: Path, pki: Path, tls: str, client: str, variants=VARIANTS, server: str = "openssl"
):
    """(capture, key log, {variant: fetched}) of one client against each variant's server
    (`openssl s_server` or nginx)."""
    cap, keylog = tmp_path / f"{client}-{tls}.pcap", tmp_path / f"{client}-{tls}.keys"
    fetched = {}
    servers = s_servers if server == "openssl" else nginx_servers
    with servers(pki, variants, tmp_path / "root", tls) as ports:
        bpf = " or ".join(f"tcp port {p}" for p in ports.values())
        with loopback_capture(cap, bpf):
            for v, port in ports.items():
                if client == "spec":
                    fetched[v] = spec_client(port, pki / "server-ca.pem", keylog)
                else:
                    fetched[v] = curl_insecure(port, keylog) == 200
    return cap, keylog, fetched


SCHEMA = Path("/work/shared/spec/report.schema.json")


def analyze(cap: Path, *extra) -> dict:
    """`harness analyze --format json`; the report must validate against the contract.

    The client on 127.0.0.1 is named as the device under test: without a key log its
    User-Agent is not visible, and a client with no phone identity is not judged."""
    out = cap.with_suffix(".json")
    code = main(
        [
            "analyze",
            str(cap),
            "--family",
            FAMILY,
            "--format",
            "json",
            "--out",
            str(out),
            "--device",
            "ip=127.0.0.1",
            *map(str, extra),
        ]
    )
    assert code in (0, 1)
    report = json.loads(out.read_text())
    if SCHEMA.is_file():
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    return report


def verdicts(report: dict) -> dict[str, tuple[str, str]]:
    return {f["rule"]: (f["verdict"], f["why"]) for f in report["findings"]}


def variants_seen(report: dict) -> dict[int, str]:
    return {
        t["server"][1]: t["server_cert_variant"]
        for t in report["transactions"]
        if t["kind"] == "tls"
    }


SERVERS = [("openssl", "1.2"), ("openssl", "1.3"), ("nginx", "1.2"), ("nginx", "1.3")]


@pytest.mark.parametrize(("server", "tls"), SERVERS, ids=[f"{s}-tls{v}" for s, v in SERVERS])
def test_spec_following_client_passes_the_certificate_rules(tmp_path, pki, server, tls):
    cap, keylog, fetched = capture(tmp_path, pki, tls, "spec", server=server)
    assert fetched == {v: v in ("valid", "cn-suffix") for v in VARIANTS}
    report = analyze(cap, "--trust-ca", pki / "server-ca.pem", "--keylog", keylog)
    got = verdicts(report)
    for rule in ("TLS-SERVER-CA", "TLS-SERVER-CN", "TLS-CN-SUFFIX"):
        assert got[rule][0] == "pass", (rule, got[rule])
    # refusing self-signed, untrusted, wrong-cn and expired servers is no negotiation failure
    # (TLS 1.3 suites are outside the 8831's Table 3-2 set: nothing to judge there)
    assert got["TLS-NEGOTIATE"][0] == ("pass" if tls == "1.2" else "inconclusive")
    assert sorted(variants_seen(report).values()) == sorted(VARIANTS)
    tls_records = [t for t in report["transactions"] if t["kind"] == "tls"]
    assert all(
        t["server_cert_reason"] and t["server_cert_checked_name"] == FQDN for t in tls_records
    )
    https = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(https) == 2 and {(t["method"], t["url"], t["status"]) for t in https} == {
        ("GET", PATH, 200)
    }


@pytest.mark.parametrize(("server", "tls"), SERVERS, ids=[f"{s}-tls{v}" for s, v in SERVERS])
def test_curl_insecure_fails_the_ca_and_cn_rules(tmp_path, pki, server, tls):
    cap, keylog, fetched = capture(tmp_path, pki, tls, "curl", server=server)
    assert all(fetched.values())
    report = analyze(cap, "--trust-ca", pki / "server-ca.pem", "--keylog", keylog)
    got = verdicts(report)
    assert (
        got["TLS-SERVER-CA"][0] == "fail"
        and "self-signed" in got["TLS-SERVER-CA"][1]
        or ("untrusted-ca" in got["TLS-SERVER-CA"][1])
    )
    assert got["TLS-SERVER-CN"][0] == "fail" and "wrong-cn" in got["TLS-SERVER-CN"][1]
    assert "other-host.example.test" in got["TLS-SERVER-CN"][1]
    assert got["TLS-CN-SUFFIX"][0] == "pass"
    https = [t for t in report["transactions"] if t["kind"] == "http"]
    assert len(https) == len(VARIANTS) and all(t["user_agent"] == UA for t in https)
    assert {(t["scheme"], t["status"], t["response_content_kind"]) for t in https} == {
        ("https", 200, "xml-profile")
    }
    # the decrypted requests are judged like plain HTTP ones
    assert got["UA-FORMAT"][0] == "pass" and got["HTTP-GET"][0] == "pass", got["UA-FORMAT"]
    blind = verdicts(analyze(cap, "--trust-ca", pki / "server-ca.pem"))
    assert blind["UA-FORMAT"][0] == "inconclusive"


def test_without_trust_anchors_the_cn_rules_judge_and_the_ca_rule_says_what_is_missing(
    tmp_path, pki
):
    cap, keylog, _ = capture(tmp_path, pki, "1.2", "curl", ["valid", "wrong-cn", "untrusted-ca"])
    got = verdicts(analyze(cap))
    assert got["TLS-SERVER-CN"][0] == "fail"
    assert got["TLS-SERVER-CA"][0] == "inconclusive" and "--trust-ca" in got["TLS-SERVER-CA"][1]


def test_tls13_without_a_key_log_judges_no_certificate(tmp_path, pki):
    cap, _, _ = capture(tmp_path, pki, "1.3", "spec", ["wrong-cn", "self-signed", "valid"])
    got = verdicts(analyze(cap, "--trust-ca", pki / "server-ca.pem"))
    assert got["TLS-SERVER-CN"][0] == "inconclusive"
    assert got["TLS-NEGOTIATE"][0] != "fail", got["TLS-NEGOTIATE"]


@pytest.mark.parametrize(("server", "tls"), SERVERS, ids=[f"{s}-tls{v}" for s, v in SERVERS])
def test_decrypted_http_matches_tshark(tmp_path, pki, server, tls):
    pytest.importorskip("pyshark")
    cap, keylog, _ = capture(tmp_path, pki, tls, "curl", ["valid", "expired"], server=server)
    r = analyze_capture(cap, tls=TlsOptions(keylog_text=keylog.read_text()))
    ours = sorted(
        (x.method, x.url, x.user_agent, x.status)
        for x in r.observations
        if isinstance(x, HttpExchange)
    )
    theirs = sorted(tshark_http(cap, keylog))
    assert len(ours) == 2 and ours == theirs
    hs = [o for o in r.observations if isinstance(o, TlsHandshake)]
    assert {h.server_cert_variant for h in hs} == {"valid", "expired"}
    assert all(h.decrypted for h in hs)


def test_key_log_embedded_in_pcapng(tmp_path, pki):
    if shutil.which("editcap") is None:
        pytest.skip("editcap not installed")
    cap, keylog, _ = capture(tmp_path, pki, "1.3", "curl", ["valid"])
    dsb = tmp_path / "with-secrets.pcapng"
    subprocess.run(
        ["editcap", "--inject-secrets", f"tls,{keylog}", str(cap), str(dsb)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    r = analyze_capture(dsb)
    (x,) = [o for o in r.observations if isinstance(o, HttpExchange)]
    assert (x.method, x.url, x.status, x.scheme) == ("GET", PATH, 200, "https")
    assert not [o for o in analyze_capture(cap).observations if isinstance(o, HttpExchange)]


def test_the_name_the_device_meant_profile_rule_then_sni_then_dns():
    from harness.analyze.tls import TlsWire, profile_rule_hosts
    from harness.observe.events import DeviceKey, Evidence

    hosts = profile_rule_hosts(
        {
            "Profile_Rule": "[--key abc] https://Prov.Example.Test:8443/$PN.cfg",
            "Profile_Rule_B": "tftp://tftp.example.test/x.cfg",
            "Profile_Rule_C": "https://backup.example.test/$MA.cfg",
        }
    )
    assert hosts == ("prov.example.test", "backup.example.test")

    def hs(sni):
        return TlsHandshake(
            time=10.0, client=("192.0.2.5", 40000), server=("198.51.100.7", 443),
            device=DeviceKey(ip="192.0.2.5"), evidence=Evidence("capture:x"), server_name=sni,
        )  # fmt: skip

    dns = {"198.51.100.7": [(9.0, "backup.example.test"), (11.0, "later.example.test")]}
    wire = TlsWire(TlsOptions(profile_hosts=hosts))
    assert wire._name(hs(None), dns) == ("backup.example.test", "profile-rule")
    assert wire._name(hs("prov.example.test"), dns) == ("prov.example.test", "profile-rule")
    # SNI naming another host: not the provisioning server, judged by its own name
    assert wire._name(hs("directory.example.test"), dns) == ("directory.example.test", "sni")
    bare = TlsWire(TlsOptions())
    assert bare._name(hs(None), dns) == ("backup.example.test", "dns")  # asked before, not after
    assert bare._name(hs(None), {}) == (None, None)


def test_an_unknown_ca_alert_from_openssl_s_client_is_a_right_refusal(tmp_path, pki):
    """The case issue 10 names: a correct unknown_ca rejection of a self-signed server must
    pass TLS-SERVER-CA and must not fail TLS-NEGOTIATE."""
    cap, keylog = tmp_path / "s_client.pcap", tmp_path / "s_client.keys"
    with s_servers(pki, ["self-signed", "valid"], tmp_path / "root", "1.2") as ports:
        bpf = " or ".join(f"tcp port {p}" for p in ports.values())
        with loopback_capture(cap, bpf):
            got = {v: s_client(p, pki / "server-ca.pem", keylog) for v, p in ports.items()}
    assert got == {"self-signed": False, "valid": True}
    report = analyze(cap, "--trust-ca", pki / "server-ca.pem", "--keylog", keylog)
    alerts = [t["alert"] for t in report["transactions"] if t["kind"] == "tls" and t["alert"]]
    assert {"from": "client", "level": 2, "description": "unknown_ca"} in alerts
    v = verdicts(report)
    assert v["TLS-SERVER-CA"][0] == "pass" and "self-signed" in v["TLS-SERVER-CA"][1]
    assert v["TLS-NEGOTIATE"][0] == "pass", v["TLS-NEGOTIATE"]
