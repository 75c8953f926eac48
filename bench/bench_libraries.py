"""The hand-written hot paths against the well-kept libraries that could replace them.

Three measurements, each the median of 3 runs, printed as a table (docs/libraries.md
quotes it); no assertions, nothing written but a temporary capture:
- capture reading to TCP/UDP payloads: harness.capture (CaptureReader + PacketDecoder)
  vs dpkt (pcapng.Reader + Ethernet) vs scapy (PcapNgReader, full layer decoding);
- the TLS ClientHello: harness.tls.handshake.parse_client_hello vs scapy's TLS layer;
- an HTTP request head: harness.endpoints.http_wire.parse_head vs h11 (a server
  Connection fed the bytes, up to its Request event).
The frames are the reference captures' (captures/*.pcapng), repeated.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.capture.packets import PacketDecoder
from harness.capture.pcapwrite import write_pcapng
from harness.capture.reader import CaptureReader

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 20000
PARSES = 5000
RUNS = 3


def _median(fn: Callable[[], int]) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(RUNS):
        t0 = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), n


def _reference_frames() -> list[tuple[float, bytes, int]]:
    out = []
    for cap in sorted((ROOT / "captures").glob("*.pcapng")):
        with CaptureReader(cap) as r:
            out.extend((ts, data, 0) for ts, lt, data in r if lt == 1)
    return out


def _harness_read(path: Path) -> int:
    dec, n = PacketDecoder(), 0
    with CaptureReader(path) as r:
        for i, (ts, lt, data) in enumerate(r, 1):
            pkt = dec.decode(i, ts, lt, data)
            if pkt is not None:
                n += len(pkt.payload)
    return n


def _dpkt_read(path: Path) -> int:
    import dpkt

    n = 0
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcapng.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) and isinstance(
                ip.data, dpkt.tcp.TCP | dpkt.udp.UDP
            ):
                n += len(ip.data.data)
    return n


def _scapy_read(path: Path) -> int:
    from scapy.layers.inet import TCP, UDP
    from scapy.utils import PcapNgReader

    n = 0
    with PcapNgReader(str(path)) as r:
        for pkt in r:
            layer = pkt.getlayer(TCP) or pkt.getlayer(UDP)
            if layer is not None:
                n += len(bytes(layer.payload))
    return n


def _client_hello() -> bytes:
    dec = PacketDecoder()
    with CaptureReader(ROOT / "captures" / "https-resync-clean.pcapng") as r:
        for i, (ts, lt, data) in enumerate(r, 1):
            pkt = dec.decode(i, ts, lt, data)
            if pkt is not None and pkt.payload[:1] == b"\x16" and pkt.payload[5:6] == b"\x01":
                return pkt.payload
    raise SystemExit("no ClientHello in captures/https-resync-clean.pcapng")


REQUEST = (
    b"GET /CP-8831-3PCC.cfg HTTP/1.1\r\nHost: 192.0.2.1\r\n"
    b"User-Agent: cisco/CP-8831-3PCC (88012BA01234)\r\nAccept: */*\r\nConnection: close\r\n\r\n"
)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        frames = _reference_frames()
        cap = Path(tmp) / "bench.pcapng"
        reps = [frames[i % len(frames)] for i in range(FRAMES)]
        write_pcapng(cap, ((float(i), d, ifc) for i, (_, d, ifc) in enumerate(reps)))
        for name, fn in (
            ("harness.capture", _harness_read),
            ("dpkt", _dpkt_read),
            ("scapy", _scapy_read),
        ):
            s, n = _median(lambda fn=fn: fn(cap))
            rows.append(("capture to payloads", name, FRAMES / s, "frames/s", n))

    hello = _client_hello()
    from harness.tls.handshake import parse_client_hello

    def ours_tls() -> int:
        return sum(len(parse_client_hello(hello).cipher_suites) for _ in range(PARSES))

    def scapy_tls() -> int:
        from scapy.layers.tls.record import TLS

        return sum(len(TLS(hello).msg[0].ciphers) for _ in range(PARSES))

    for name, fn in (("harness.tls", ours_tls), ("scapy TLS layer", scapy_tls)):
        s, n = _median(fn)
        rows.append(("TLS ClientHello", name, PARSES / s, "parses/s", n))

    from harness.endpoints.http_wire import parse_head

    def ours_http() -> int:
        return sum(len(parse_head(REQUEST).target) for _ in range(PARSES))

    def h11_http() -> int:
        import h11

        n = 0
        for _ in range(PARSES):
            conn = h11.Connection(h11.SERVER)
            conn.receive_data(REQUEST)
            n += len(conn.next_event().target)
        return n

    for name, fn in (("harness http_wire", ours_http), ("h11", h11_http)):
        s, n = _median(fn)
        rows.append(("HTTP request head", name, PARSES / s, "parses/s", n))

    print(f"{'what':22} {'implementation':20} {'rate':>12}  unit       (check)")
    for what, name, rate, unit, n in rows:
        print(f"{what:22} {name:20} {rate:12,.0f}  {unit:10} ({n})")


if __name__ == "__main__":
    main()
