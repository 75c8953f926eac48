"""The CN rule of seed 000 at its edges (the '/anything' suffix, trailing dots, case) and the
names of suites, signalling values and unknown numbers."""

import pytest

from harness.spec.cert_name import cn_host, cn_matches_host
from harness.spec.ciphers import _hex_keys, cipher_suite_name


@pytest.mark.parametrize(
    ("cn", "kwargs", "host"),
    [
        ("pv.telco.net/mailto:admin@telco.net", {}, "pv.telco.net"),  # suffix accepted by default
        ("pv.telco.net/a/b", {}, "pv.telco.net"),  # up to the FIRST '/'
        ("pv.telco.net/a", {"suffix_accepted": False}, "pv.telco.net/a"),
        (" PV.Telco.NET. ", {}, "pv.telco.net"),  # a root dot and the case do not count
        ("box", {}, "box"),  # only dots are taken off the end
        ("BOX", {}, "box"),
    ],
)
def test_cn_host(cn, kwargs, host):
    assert cn_host(cn, **kwargs) == host


@pytest.mark.parametrize(
    ("cn", "fqdn", "kwargs", "ok"),
    [
        ("pv.telco.net", "PV.telco.net.", {}, True),
        ("hostx", "hostX", {}, True),
        (".hostx", "hostx", {}, False),
        ("hostx", ".hostx", {}, False),
        ("pv.telco.net/x", "pv.telco.net", {}, True),
        ("pv.telco.net/x", "pv.telco.net", {"suffix_accepted": False}, False),
        ("", "pv.telco.net", {}, False),
        (None, "pv.telco.net", {}, False),
    ],
)
def test_cn_matches_host(cn, fqdn, kwargs, ok):
    assert cn_matches_host(cn, fqdn, **kwargs) is ok


def test_suite_table_keys_are_hexadecimal():
    assert _hex_keys({"c02b": "A", "0x0035": "B", "10": "C"}) == {0xC02B: "A", 0x35: "B", 0x10: "C"}


def test_names_of_signalling_grease_and_unknown_values():
    assert cipher_suite_name(0x00FF) == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"
    assert cipher_suite_name(0x5600) == "TLS_FALLBACK_SCSV"
    assert cipher_suite_name(0x1A1A) == "GREASE_0x1a1a"
    assert cipher_suite_name(0x1A1B) == "0x1a1b"
