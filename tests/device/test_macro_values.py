"""The phone's macro values and their expansion in the spec's templates and rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.device.sim.macro_values import (
    MACRO_NAMES,
    MacroState,
    macro_values,
    option_macro_values,
    product_series_number,
)
from harness.device.sim.parameters import Parameters
from harness.device.sim.profile_rule import expand_options, parse_profile_rule, resolve_url
from harness.spec.macros import expand


@dataclass(frozen=True)
class Unit:
    product: str = "CP-8831-3PCC"
    serial: str = "88012BA01234"
    mac: str = "00:0E:08:AA:BB:CC"
    firmware: str = "10.3.1"
    hardware: str = "2.0"
    ip: str = "192.0.2.10"
    external_ip: str = "203.0.113.7"
    has_individual_cert: bool = True


def test_every_catalog_macro_has_a_value() -> None:
    values = macro_values(Unit(), MacroState())
    assert set(MACRO_NAMES) <= set(values)
    assert {chr(c) for c in range(ord("A"), ord("P") + 1)} <= set(values)
    assert not {"SA", "SB", "SC", "SD"} & set(values)


def test_identity_macros() -> None:
    v = macro_values(Unit())
    assert (v["MA"], v["MAU"], v["MAC"]) == ("000e08aabbcc", "000E08AABBCC", "00:0e:08:aa:bb:cc")
    assert (v["PN"], v["PSN"], v["SN"]) == ("CP-8831-3PCC", "8831", "88012BA01234")
    assert (v["SWVER"], v["HWVER"], v["IP"], v["EXTIP"]) == (
        "10.3.1",
        "2.0",
        "192.0.2.10",
        "203.0.113.7",
    )


@pytest.mark.requirement("MACRO-CCERT")
@pytest.mark.parametrize(("installed", "text"), [(True, "Installed"), (False, "Not Installed")])
def test_ccert(installed: bool, text: str) -> None:
    assert macro_values(Unit(has_individual_cert=installed))["CCERT"] == text


@pytest.mark.parametrize(
    ("product", "psn"),
    [("SPA525G", "525G"), ("SPA-942", "942"), ("CP-8831-3PCC", "8831"), ("CP-8841-3PCC", "8841")],
)
def test_product_series_number(product: str, psn: str) -> None:
    assert product_series_number(product) == psn


@pytest.mark.requirement("SYSLOG-MACROS")
def test_the_request_template_with_the_url_being_fetched() -> None:
    params = Parameters("cisco-8831-3pcc")
    rule_url = parse_profile_rule("http://$SERV:8080/$PN.cfg")[0].url
    assert rule_url is not None
    url = resolve_url(rule_url, {**macro_values(Unit()), "SERV": "prov"})
    state = MacroState(provisioning_state=1, server_ip="198.51.100.5", seconds_since_resync=61.9)
    v = macro_values(Unit(), state, url)
    assert expand(params["Log_Request_Msg"], v) == (
        "CP-8831-3PCC 00:0e:08:aa:bb:cc -- Requesting resync http://198.51.100.5:8080/CP-8831-3PCC.cfg"
    )
    assert (v["PRVST"], v["PRVTMR"], v["UPGTMR"], v["SERV"]) == ("1", "61", "", "prov")


def test_servip_falls_back_to_an_address_host_and_err_is_passed_through() -> None:
    url = parse_profile_rule("tftp://198.51.100.9/a.cfg")[0].url
    v = macro_values(Unit(), MacroState(error="file not found"), url)
    assert (v["SCHEME"], v["SERVIP"], v["PORT"], v["PATH"], v["ERR"]) == (
        "tftp",
        "198.51.100.9",
        "69",
        "/a.cfg",
        "file not found",
    )


def test_gpp_letters_and_secret_macros_only_in_options() -> None:
    params = Parameters("cisco-spa")
    params.apply({"GPP_A": "alpha", "GPP_P": "papa", "GPP_SA": "s3cret"})
    v = macro_values(Unit(), MacroState(gpp=params))
    assert (v["A"], v["B"], v["P"]) == ("alpha", "", "papa")
    assert expand("$SA/$A", v) == "$SA/alpha"  # SA is not a general macro
    (alt,) = parse_profile_rule("[--key $SA --uid $A] https://h/p")
    opts = expand_options(alt.options, {**v, **option_macro_values(params)})
    assert (opts.key, opts.uid) == ("s3cret", "alpha")


def test_works_with_the_engines_identity_type() -> None:
    identity_mod = pytest.importorskip("harness.device.sim.identity")
    unit = identity_mod.Identity(product="SPA525G", serial="CBT141900G7", mac="0002fdff2103")
    v = macro_values(unit)
    assert (v["MAU"], v["PSN"], v["CCERT"]) == ("0002FDFF2103", "525G", "Not Installed")
