"""`harness replay` asks which device when a capture holds several, even behind one address.

Phones behind a NAT share an IP; their MACs or serials tell them apart. Replaying
them all as one would mix their requests, so replay refuses (exit 2, naming the
devices) until `--device` picks one. docs/capture-and-replay.md says the same.
"""

from __future__ import annotations

import pytest

from harness.analyze.replay import ReplayError, Target, plan
from harness.observe.events import DeviceKey, Evidence, HttpExchange


def exchange(url: str, t: float, serial: str | None, ip: str = "192.0.2.10") -> HttpExchange:
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


TARGET = Target.parse("http://198.51.100.1")


def test_two_phones_behind_one_address_need_device() -> None:
    obs = [exchange("/a.cfg", 1.0, "SER1"), exchange("/b.cfg", 2.0, "SER2")]
    with pytest.raises(ReplayError, match=r"2 devices.*--device.*SER1.*SER2"):
        plan(obs, TARGET)
    assert [r.target for r in plan(obs, TARGET, "SER2")] == ["/b.cfg"]


def test_one_phone_with_and_without_serial_is_one_device() -> None:
    obs = [exchange("/a.cfg", 1.0, "SER1"), exchange("/b.cfg", 2.0, None)]
    assert [r.target for r in plan(obs, TARGET)] == ["/a.cfg", "/b.cfg"]
