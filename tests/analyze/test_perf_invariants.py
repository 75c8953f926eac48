"""Invariants of the analyzer's speed work: every shortcut gives what the plain path gives.

The fast paths (inline Ethernet/IPv4 decoding in the hot loop, shared attempts,
certificate and profile caches, the chunked JSON writer, the paused garbage
collector) must not change a single fact. Timing bounds live in bench/, not here.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.analyze.engine import analyze_capture
from harness.analyze.judge import device_parameters, judge
from harness.analyze.params import sniff_profile
from harness.capture.pcapwrite import PcapWriter
from harness.observe.events import DeviceKey, Evidence, HttpExchange, TftpTransfer
from harness.observe.timeline import DeviceTimeline
from harness.report.json_report import (
    build_report,
    finding_dict,
    json_safe,
    transaction_dict,
    write_report,
)
from harness.rules.attempts import group_attempts, provisioning_requests, shared_attempts
from harness.rules.finding import Finding, Verdict
from harness.spec.family import load_family
from harness.tls.x509_summary import (
    CertificateSummaryError,
    subject_attributes,
    summarize_certificate,
)


def _bench() -> Any:
    """bench/bench_analyze.py (the benchmark's capture generator), loaded by path."""
    import importlib.util
    import sys

    name = "bench_analyze_for_tests"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "bench" / "bench_analyze.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's mix (DHCP, DNS, TFTP, HTTP, HTTPS, syslog and noise), small."""
    path = tmp_path_factory.mktemp("perf") / "mixed.pcap"
    _bench().generate(path, packets=3000, seed=7)
    return path


def _vlan_tagged(src: Path, dst: Path) -> None:
    """The same frames, same timestamps, with an 802.1Q tag: the hot loop's shortcut no
    longer applies, so the general decoder reads every packet."""
    raw = src.read_bytes()
    out = [raw[:24]]
    pos = 24
    while pos < len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
        data = raw[pos + 16 : pos + 16 + incl]
        out.append(struct.pack("<IIII", sec, usec, incl + 4, orig + 4))
        out.append(data[:12] + b"\x81\x00\x00\x05" + data[12:])
        pos += 16 + incl
    dst.write_bytes(b"".join(out))


def _facts(path: Path) -> tuple[list[dict[str, Any]], int, int]:
    r = analyze_capture(path)
    out = []
    for o in r.observations:
        d = transaction_dict(o)
        d.pop("evidence")  # names the file
        out.append(d)
    return out, r.packets, r.malformed


def test_fast_path_gives_the_same_facts_as_the_general_decoder(mixed: Path, tmp_path: Path) -> None:
    tagged = tmp_path / "tagged.pcap"
    _vlan_tagged(mixed, tagged)
    fast, n_fast, bad_fast = _facts(mixed)
    slow, n_slow, bad_slow = _facts(tagged)
    assert n_fast == n_slow == 3000 + (n_fast - 3000)  # same record count
    assert bad_fast == bad_slow == 0
    assert len(fast) > 100
    assert {t["kind"] for t in fast} >= {"dhcp", "dns", "tftp", "http", "tls", "syslog"}
    assert fast == slow


def test_truncated_frames_still_reach_the_decoder_and_are_counted(tmp_path: Path) -> None:
    """A frame whose IPv4 length overruns the capture takes the general path (malformed)."""
    eth = b"\x00\x11\x22\x33\x44\x55" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 400, 0, 0x4000, 64, 6, 0, b"\xc0\0\2\1", b"\xc0\0\2\2"
    )
    tcp = (
        struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x18, 65535, 0, 0) + b"GET / HTTP/1.1\r\n"
    )
    path = tmp_path / "short.pcap"
    with open(path, "wb") as f:
        PcapWriter(f).write(1.0, eth + ip + tcp)
    r = analyze_capture(path)
    assert r.malformed == 1
    assert "truncated" in r.problems[0][1]


@pytest.mark.parametrize("enabled", [True, False])
def test_analysis_restores_the_garbage_collector(mixed: Path, enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        analyze_capture(mixed)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# -- rules: attempts computed once per timeline --------------------------------------------
def _http(t: float, status: int, ip: str = "x") -> HttpExchange:
    return HttpExchange(time=t, method="GET", url="/a.cfg", status=status, device=DeviceKey(ip=ip))


def test_shared_attempts_equal_the_plain_ones_and_are_fresh_lists() -> None:
    tl = DeviceTimeline(
        DeviceKey(ip="x"),
        [
            _http(0.0, 302),
            _http(1.0, 200),
            TftpTransfer(time=5.0, op="RRQ", filename="b.cfg"),
            _http(9.0, 404),
        ],
    )
    plain, plain_req = group_attempts(tl), provisioning_requests(tl)
    with shared_attempts(tl):
        first, second = group_attempts(tl), group_attempts(tl)
        assert first == second == plain
        assert first is not second  # a rule may change its copy
        first.clear()
        assert group_attempts(tl) == plain
        assert provisioning_requests(tl) == plain_req
        tl.observations.append(_http(20.0, 200))  # a changed timeline is computed again
        assert len(group_attempts(tl)) == len(plain) + 1
        other = DeviceTimeline(DeviceKey(ip="y"), [_http(0.0, 200)])
        assert len(group_attempts(other)) == 1
    assert len(group_attempts(tl)) == len(plain) + 1


def test_judge_gives_the_same_findings_with_and_without_shared_attempts(
    mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    import harness.rules.registry as registry

    r = analyze_capture(mixed)
    family = load_family("cisco-8831-3pcc")
    _, shared, _ = judge(r.observations, family, seen_profiles=r.profiles)
    monkeypatch.setattr(registry, "shared_attempts", lambda tl: contextlib.nullcontext())
    _, plain, _ = judge(r.observations, family, seen_profiles=r.profiles)
    assert shared == plain
    assert {f.verdict for f in shared} >= {Verdict.PASS}


def test_device_parameters_apply_profiles_in_capture_order() -> None:
    tl = DeviceTimeline(DeviceKey(ip="10.0.0.1"), [_http(0.0, 200, "10.0.0.1")])
    seen = [
        ("10.0.0.1", "/a", {"A": "1", "B": "1"}),
        ("10.0.0.2", "/a", {"A": "other"}),
        ("10.0.0.1", "/b", {"A": "2"}),
    ]
    assert device_parameters(tl, seen, {}, {}) == {"A": "2", "B": "1"}
    assert device_parameters(tl, seen, {"B": "f"}, {"A": "c"}) == {"A": "c", "B": "f"}


# -- caches ----------------------------------------------------------------------------
def test_certificate_summaries_are_cached_by_bytes() -> None:
    der = _bench()._certificate_der()
    a, b = summarize_certificate(der), summarize_certificate(bytes(der))
    assert a == b and a.subject_cn == "prov.example.net"
    s1 = subject_attributes(der)
    s1["CN"] = "changed"
    assert subject_attributes(der)["CN"] == "prov.example.net"
    for _ in range(2):  # a bad certificate fails every time, not only the first
        with pytest.raises(CertificateSummaryError):
            summarize_certificate(b"\x30\x03\x02\x01\x01")


def test_profile_sniffing_is_cached_but_returns_fresh_dicts() -> None:
    body = b"<flat-profile><Resync_Periodic>60</Resync_Periodic></flat-profile>"
    first = sniff_profile(body)
    assert first == {"Resync_Periodic": "60"}
    first["Resync_Periodic"] = "changed"
    assert sniff_profile(body) == {"Resync_Periodic": "60"}
    assert sniff_profile(b"<html></html>") is None


# -- the JSON report ---------------------------------------------------------------------
def _reference_json_safe(value: Any) -> Any:
    """The converter before the fast path: dataclasses through `dataclasses.asdict`."""
    if type(value) in (str, int, bool, type(None)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, Mapping):
        return {str(k): _reference_json_safe(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _reference_json_safe(dataclasses.asdict(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [_reference_json_safe(v) for v in value]
    return str(value)


def test_json_safe_matches_the_reference_converter(mixed: Path) -> None:
    r = analyze_capture(mixed)
    odd = {
        1: float("nan"),
        "b": b"\xff",
        "v": Verdict.FAIL,
        "s": {3},
        "k": Evidence("x", (1, 2)),
        "t": (1.5, float("inf"), [None, True]),
    }
    for value in [odd, *(o.to_dict() for o in r.observations[:300])]:
        assert json_safe(value) == _reference_json_safe(value)


def test_finding_dict_equals_the_generic_conversion() -> None:
    cases = [
        Finding("UA-FORMAT", Verdict.PASS, "ok", "SN1", 1.5, (3, 1), ("capture:a",)),
        Finding("UA-FORMAT", Verdict.FAIL, "bad", None, float("nan")),
        Finding("UA-FORMAT", Verdict.SKIPPED, "n/a", "SN1", None),
    ]
    for f in cases:
        assert finding_dict(f) == _reference_json_safe(f.to_dict())


def test_streamed_report_is_the_same_document(mixed: Path) -> None:
    r = analyze_capture(mixed)
    _, findings, _ = judge(r.observations, load_family("cisco-spa"), seen_profiles=r.profiles)
    report = build_report(captures=[r], observations=r.observations, findings=findings)
    many = dict(report, transactions=report["transactions"] * 40)  # past one slice
    for rep in (report, many, {"transactions": []}):
        buf = io.StringIO()
        write_report(rep, buf)
        assert buf.getvalue().endswith("}\n")
        assert json.loads(buf.getvalue()) == json.loads(json.dumps(rep))
