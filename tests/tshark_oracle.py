"""The tests' tshark oracle: tshark's dissection of a capture, read through pyshark.

One helper for every cross-check (`tshark_fields`), on `harness.analyze.verify.
tshark_packets` (pyshark in an event loop of its own, closed with tshark), so no test
shells out to tshark or parses its text output by hand."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.analyze.verify import tshark_packets


def tshark_fields(
    path: str | Path,
    display_filter: str,
    fields: Iterable[str],
    decode_as: Iterable[str] = (),
    prefs: dict[str, str] | None = None,
) -> list[list[str]]:
    """One row per frame matching `display_filter`, one string per field (tshark's field
    names, e.g. "http.request.uri"; several occurrences joined with ","; "" when absent).
    `decode_as`: tshark's `-d` strings ("tcp.port==8080,http")."""
    fields = list(fields)
    decode = dict(d.rsplit(",", 1) for d in decode_as)
    rows = []
    with tshark_packets(path, display_filter, prefs=prefs, decode_as=decode) as pkts:
        for pkt in pkts:
            rows.append([_values(pkt, f) for f in fields])
    return rows


def _values(pkt, name: str) -> str:  # noqa: ANN001 - a pyshark packet
    if name == "frame.number":
        return str(pkt.number)
    layer, _, rest = name.lower().partition(".")
    if layer == "frame":  # pyshark keeps the frame's own fields apart from the layers
        return str(pkt.frame_info.get_field_value(rest.replace(".", "_")) or "")
    out = _from(pkt, lambda lay: lay.layer_name == layer, rest.replace(".", "_"))
    if not out:  # a protocol nested in another (x509sat in tls): its fields keep their prefix
        out = _from(pkt, lambda lay: True, name.lower().replace(".", "_"))
    return ",".join(out)


def _from(pkt, which, field_name: str) -> list[str]:  # noqa: ANN001
    out: list[str] = []
    for lay in pkt.layers:
        if which(lay):
            field = lay.get_field(field_name)
            if field is not None:
                out.extend(str(x.show) for x in field.all_fields)
    return out
