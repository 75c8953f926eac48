"""`--device` / `--devices`: parsing, errors, and which timeline a stated device is."""

from __future__ import annotations

import pytest

from harness.analyze.cli import load_devices_file
from harness.analyze.devices import (
    DeviceArgError,
    StatedDevice,
    parse_device_arg,
    stated_for,
)
from harness.observe.events import DeviceKey, HttpExchange, TlsHandshake
from harness.observe.timeline import DeviceTimeline


def test_parse_normalises_mac_and_ip():
    d = parse_device_arg("serial=88012BA01234,mac=00:0E:08:AA:BB:CC,product=CP-8831-3PCC,ip=::1")
    assert (d.serial, d.mac, d.product, d.ip) == (
        "88012BA01234",
        "000e08aabbcc",
        "CP-8831-3PCC",
        "::1",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("serial", "KEY=VALUE"),
        ("colour=red", "KEY=VALUE"),
        ("serial=a,serial=b", "given twice"),
        ("mac=00:11", "not a MAC"),
        ("ip=example.net", "not an IP"),
        (",", "at least one"),
    ],
)
def test_parse_errors_say_what_and_why(text, message):
    with pytest.raises(DeviceArgError, match=message):
        parse_device_arg(text)


def test_devices_file_gives_serial_mac_product_and_the_address_as_ip(tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text(
        '[a]\nkind = "remote"\naddress = "[2001:db8::5]:8080"\nmac = "00-0e-08-aa-bb-cc"\n'
        'serial = "SN1"\nproduct = "CP-8831-3PCC"\n'
        '[b]\nkind = "remote"\naddress = "phone.example.net"\nmac = "000e08aabbcd"\n'
        'serial = "SN2"\nproduct = "CP-8831-3PCC"\n'
        '[sim]\nkind = "sim"\n'
    )
    a, b = load_devices_file(lab)
    assert (a.ip, a.mac, a.serial, a.name) == ("2001:db8::5", "000e08aabbcc", "SN1", "a")
    assert (b.ip, b.serial) == (None, "SN2")


def test_devices_file_errors_are_device_arg_errors(tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text("[a]\ncolour = 1\n")
    with pytest.raises(DeviceArgError, match="unknown keys"):
        load_devices_file(lab)


def _timeline() -> DeviceTimeline:
    return DeviceTimeline(
        DeviceKey(ip="192.0.2.10", serial="SN1"),
        [
            HttpExchange(
                time=1,
                client=("192.0.2.10", 4000),
                device=DeviceKey(ip="192.0.2.10", serial="SN1"),
                method="GET",
                url="/x",
            ),  # fmt: skip
            TlsHandshake(
                time=2,
                device=DeviceKey(ip="192.0.2.10", mac="000e08aabbcc"),
                client_cert_subject={"L": "SN-CERT"},
            ),  # fmt: skip
        ],
    )


@pytest.mark.parametrize(
    ("stated", "hit"),
    [
        (StatedDevice(serial="sn1"), True),
        (StatedDevice(serial="SN-CERT"), True),
        (StatedDevice(mac="000e08aabbcc"), True),
        (StatedDevice(ip="192.0.2.10"), True),
        (StatedDevice(ip="192.0.2.11", serial="SN3"), False),
    ],
)
def test_stated_for_matches_by_serial_mac_or_ip(stated, hit):
    assert (stated_for([stated], _timeline()) is stated) == hit
