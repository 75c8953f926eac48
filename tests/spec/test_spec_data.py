"""The spec data loads, is complete against requirements.md, and validates family files."""

import re
from pathlib import Path

import pytest

from harness.spec import (
    TABLE_3_2,
    Action,
    FamilyError,
    catalog,
    cipher_suite_name,
    family_names,
    is_grease,
    is_signalling,
    load_family,
    status_row,
    transport_row,
)
from harness.spec.cert_name import cn_matches_host
from harness.spec.family import load_family_file
from harness.spec.user_agent import format_user_agent, identify_user_agent, parse_user_agent

REQUIREMENTS_MD = Path(__file__).resolve().parents[3] / "shared" / "spec" / "requirements.md"


@pytest.mark.skipif(
    not REQUIREMENTS_MD.exists(), reason="shared/spec/requirements.md not beside the repo"
)
def test_catalog_has_every_id_of_requirements_md():
    text = REQUIREMENTS_MD.read_text()
    ids = set(re.findall(r"^\| ([A-Z0-9]+(?:-[A-Z0-9]+)+) \|", text, re.M))
    ids |= {f"HTTP-50{i}" for i in range(5)}  # the catalog writes "HTTP-500 … HTTP-504"
    ids.discard("HTTP-500 … HTTP-504")
    assert ids - set(catalog()) == set()


@pytest.mark.parametrize(
    ("status", "action", "req"),
    [
        (301, Action.REDIRECT_NOW, "HTTP-301"),
        (302, Action.REDIRECT_NOW, "HTTP-302"),
        (303, Action.C, "HTTP-3XX"),
        (401, Action.AUTH_RETRY, "HTTP-401"),
        (404, Action.B, "HTTP-404"),
        (407, Action.AUTH_RETRY, "HTTP-407"),
        (418, Action.C, "HTTP-4XX"),
        (503, Action.C, "HTTP-503"),
        (599, Action.C, "HTTP-5XX"),
        (200, Action.A, "HTTP-200"),
    ],
)
def test_table_3_1(status, action, req):
    row = status_row(status)
    assert (row.action, row.requirement) == (action, req)


def test_auth_rows_retry_twice_then_c():
    for code in (401, 407):
        row = status_row(code)
        assert (row.max_retries, row.then) == (2, Action.C)


def test_transport_rows():
    assert transport_row("corrupt").action is Action.B
    assert transport_row("timeout").action is Action.C
    with pytest.raises(KeyError, match="unknown transport outcome"):
        transport_row("nope")


def test_table_3_2_and_names():
    assert TABLE_3_2 == (0x39, 0x35, 0x33, 0x2F, 0x05, 0x04, 0x62, 0x60, 0x03)
    assert cipher_suite_name(0x0035) == "TLS_RSA_WITH_AES_256_CBC_SHA"
    assert cipher_suite_name(0xBEEF) == "0xbeef"
    assert is_signalling(0x00FF) and not is_signalling(0x0035)
    assert is_grease(0x1A1A) and not is_grease(0x1A2A)


@pytest.mark.parametrize("name", family_names())
def test_shipped_families_load(name):
    fam = load_family(name)
    assert fam.name == name
    assert fam.parameters["Resync_Periodic"] == "3600"
    for role in ("request", "success", "failure"):
        assert fam.syslog_params[role] in fam.parameters


def test_family_disagreements_are_settings():
    spa, c8831, mpp = (load_family(n) for n in ("cisco-spa", "cisco-8831-3pcc", "cisco-mpp"))
    assert mpp.parameters["Resync_Error_Retry_Delay"].startswith("60,120,")
    assert c8831.parameters["Resync_Error_Retry_Delay"] == "3600"
    assert spa.syslog_params["request"] == "Log_Resync_Request_Msg"
    assert c8831.syslog_params["request"] == "Log_Request_Msg"
    assert not spa.upgrade_https_allowed and mpp.upgrade_https_allowed
    assert (spa.aes_kdf_digest, mpp.aes_kdf_digest) == ("md5", "sha256")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[family]\nname = 1\n", "[family].name: must be str"),
        ("not toml ][", "not valid TOML"),
        ("[bogus]\n", "[bogus]: unknown section"),
    ],
)
def test_broken_family_file_names_file_key_problem(tmp_path, body, problem):
    path = tmp_path / "vendor-x.toml"
    path.write_text(body)
    with pytest.raises(FamilyError) as err:
        load_family_file(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_family_file_needs_its_delay_defaults(tmp_path):
    from importlib import resources

    text = resources.files("harness.spec").joinpath("families", "cisco-mpp.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('Forced_Resync_Delay = "14400"', 'Forced_Resync_Delay = "soon"'))
    with pytest.raises(FamilyError, match=r"\[parameters\]\.Forced_Resync_Delay: not a delay"):
        load_family_file(bad)
    bad.write_text(text.replace('Forced_Resync_Delay = "14400"\n', ""))
    with pytest.raises(FamilyError, match=r"\[parameters\]\.Forced_Resync_Delay: missing"):
        load_family_file(bad)


def test_family_file_unknown_suite_set(tmp_path):
    from importlib import resources

    text = resources.files("harness.spec").joinpath("families", "cisco-8831-3pcc.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('cipher_suites = "table-3-2"', 'cipher_suites = "nope"'))
    with pytest.raises(FamilyError, match=r"\[tls\]\.cipher_suites: unknown suite set 'nope'"):
        load_family_file(bad)


def test_user_agents_of_the_guides():
    fam = load_family("cisco-8831-3pcc")
    ua = parse_user_agent(fam, "cisco/CP-8831-3PCC (88012BA01234)")
    assert (ua.product, ua.serial) == ("CP-8831-3PCC", "88012BA01234")
    assert parse_user_agent(fam, "curl/8.0") is None
    assert format_user_agent(
        fam, product="CP-8831-3PCC", serial="88012BA01234", mac="000e08abcdef", firmware=""
    ) == ("cisco/CP-8831-3PCC (88012BA01234)")
    name, parts = identify_user_agent("Cisco/SPA508G-7.4.4 (0002FDFF2103)(CBT141400UK)")
    assert name == "cisco-spa" and parts.serial == "CBT141400UK" and parts.mac == "0002fdff2103"
    name, parts = identify_user_agent("Cisco-CP-8841-3PCC/11.0 (00562b043615)")
    assert name == "cisco-mpp" and parts.mac == "00562b043615"


@pytest.mark.parametrize(
    ("cn", "host", "ok"),
    [
        ("sprov.callme.com", "sprov.callme.com", True),
        ("pv.telco.net/mailto:admin@telco.net", "pv.telco.net", True),
        ("prof.voice.com/info@voice.com", "prof.voice.com", True),
        ("PV.Telco.NET", "pv.telco.net", True),
        ("other.telco.net", "pv.telco.net", False),
        ("pv.telco.net.evil.test", "pv.telco.net", False),
        (None, "pv.telco.net", False),
    ],
)
def test_cn_rule(cn, host, ok):
    assert cn_matches_host(cn, host) is ok


def test_rows_carry_their_key_and_defaults():
    from harness.spec.status_table import StatusRow, all_transport_rows

    assert status_row(404) == StatusRow("404", "HTTP-404", Action.B, 0, None)
    assert status_row(599) == StatusRow("5xx", "HTTP-5XX", Action.C, 0, None)
    assert status_row(401) == StatusRow("401", "HTTP-401", Action.AUTH_RETRY, 2, Action.C)
    # no row for the class at all (1xx, 6xx): an unhandled status, class C
    assert status_row(600) == StatusRow("600", "HTTP-4XX", Action.C)
    assert [(r.key, r.requirement, r.action) for r in all_transport_rows()] == [
        ("corrupt", "HTTP-CORRUPT", Action.B),
        ("connection-error", "HTTP-CONNERR", Action.C),
        ("timeout", "HTTP-TIMEOUT", Action.C),
        ("complete", "TFTP-RESYNC", Action.A),
        ("not-found", "TFTP-RESYNC", Action.B),
    ]
    with pytest.raises(KeyError) as err:
        transport_row("nope")
    assert "known: complete, connection-error, corrupt, not-found, timeout" in str(err.value)


def test_user_agent_parts_and_every_format_field():
    from dataclasses import replace

    spa = parse_user_agent(load_family("cisco-spa"), "Linksys/SPA-942-6.1.5(a) (88019FA42805)")
    assert (spa.maker, spa.product, spa.firmware) == ("Linksys", "SPA-942", "6.1.5(a)")
    assert (spa.serial, spa.mac) == ("88019FA42805", None)
    mpp = load_family("cisco-mpp")
    ua = format_user_agent(mpp, product="CP-8841-3PCC", serial="X", mac="00:56:2B:04:36:15",
                           firmware="11.0")  # fmt: skip
    assert ua == "Cisco-CP-8841-3PCC/11.0 (00562b043615)"
    every = replace(mpp, ua_format="{maker}|{product}|{serial}|{mac}|{mac_upper}|{firmware}")
    ua = format_user_agent(every, product="P", serial="S", mac="00:0E:08:aB:cd:ef", firmware="1.2")
    assert ua == "Cisco|P|S|000e08abcdef|000E08ABCDEF|1.2"
    assert identify_user_agent(None) == (None, None) == identify_user_agent("")
    assert identify_user_agent("curl/8.0") == (None, None)


def test_which_families_a_requirement_applies_to():
    from harness.spec.catalog import Requirement

    every = Requirement("X", "g", "t", "s")
    assert every.applies_to("cisco-spa") and every.families == ("*",) and every.kind == "device"
    some = Requirement("X", "g", "t", "s", families=("cisco-mpp",))
    assert some.applies_to("cisco-mpp") and not some.applies_to("cisco-spa")
