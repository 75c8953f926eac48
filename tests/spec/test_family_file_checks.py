"""Every check a family file gets on load, each with the message that names the file, the key
and the problem, and every optional key's default (issue 12: the spec modules' mutants)."""

import json
import tomllib
from importlib import resources

import pytest

from harness.spec import load_family
from harness.spec.ciphers import suite_sets
from harness.spec.family import FamilyError, load_family_file


def _spa() -> dict:
    text = resources.files("harness.spec").joinpath("families", "cisco-spa.toml").read_text()
    return tomllib.loads(text)


def _toml(raw: dict) -> str:
    """The dict as TOML (strings, booleans, integers and lists are all a family file has)."""
    out = []
    for section, table in raw.items():
        if not isinstance(table, dict):
            out.insert(0, f"{section} = {json.dumps(table)}")
            continue
        out.append(f"[{section}]")
        for key, value in table.items():
            text = str(value).lower() if isinstance(value, bool) else json.dumps(value)
            out.append(f"{key} = {text}")
    return "\n".join(out) + "\n"


def _load(tmp_path, raw):
    path = tmp_path / "vendor-x.toml"
    path.write_text(_toml(raw))
    return path, load_family_file(path)


def _edit(section, key, value):
    def edit(raw):
        if value is _DROP:
            del raw[section][key]
        else:
            raw.setdefault(section, {})[key] = value

    return edit


_DROP = object()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r.update(bogus={}), "[bogus]: unknown section (known: dhcp, family, parameters, "
         "profile, syslog, timing, tls, upgrade, user_agent)"),
        (lambda r: r.update(timing=5), "[timing]: must be a table"),
        (_edit("family", "maker", _DROP), "[family].maker: missing"),
        (_edit("syslog", "failure", _DROP), "[syslog].failure: missing"),
        (_edit("tls", "check_san", "yes"), "[tls].check_san: must be bool, got str"),
        (_edit("timing", "random_delay_unit_seconds", True),
         "[timing].random_delay_unit_seconds: must be int, got bool"),
        (_edit("family", "products", "SPA-942"), "[family].products: must be list, got str"),
        (_edit("parameters", "Resync_Periodic", 3600),
         "[parameters].Resync_Periodic: parameter values are strings"),
        (_edit("tls", "min_version", "TLS1.0"), "[tls].min_version: unknown key"),
        (_edit("user_agent", "pattern", "(?P<product>"), "[user_agent].pattern: not a regular expression"),
        (_edit("user_agent", "pattern", "^(?P<model>.*)$"),
         "[user_agent].pattern: must have a named group (?P<product>...)"),
        (_edit("tls", "max_version", "TLS9"),
         "[tls].max_version: must be one of SSL3.0, TLS1.0, TLS1.1, TLS1.2, TLS1.3"),
        (_edit("profile", "aes_kdf_digest", "sha1"), "[profile].aes_kdf_digest: must be 'md5' or 'sha256'"),
        (_edit("user_agent", "identity_field", "imei"),
         "[user_agent].identity_field: must be 'serial' or 'mac'"),
        (_edit("family", "default_product", "SPA-9000"),
         "[family].default_product: must be one of [family].products"),
        (_edit("parameters", "Upgrade_Error_Retry_Delay", _DROP),
         "[parameters].Upgrade_Error_Retry_Delay: missing (every family needs this delay's default)"),
        (_edit("parameters", "Resync_Error_Retry_Delay", ""),
         "[parameters].Resync_Error_Retry_Delay: not a delay"),
        (_edit("dhcp", "tftp_option_precedence", [66, 0]),
         "[dhcp].tftp_option_precedence: must be DHCP option numbers (1..254)"),
        (_edit("dhcp", "tftp_option_precedence", [255]),
         "[dhcp].tftp_option_precedence: must be DHCP option numbers (1..254)"),
        (_edit("dhcp", "tftp_option_precedence", ["66"]),
         "[dhcp].tftp_option_precedence: must be DHCP option numbers (1..254)"),
    ],
)  # fmt: skip
def test_a_broken_family_file_names_file_key_and_problem(tmp_path, edit, problem):
    raw = _spa()
    edit(raw)
    with pytest.raises(FamilyError) as err:
        _load(tmp_path, raw)
    assert str(err.value).startswith(f"{tmp_path / 'vendor-x.toml'}: {problem}"), str(err.value)


def test_every_key_of_a_family_file_lands_in_the_family(tmp_path):
    raw = _spa()
    raw["dhcp"]["tftp_option_precedence"] = [1, 254]  # the ends of the option range
    path, fam = _load(tmp_path, raw)
    assert (fam.name, fam.maker, fam.default_product) == ("cisco-spa", "Cisco", "SPA525G")
    assert fam.description == raw["family"]["description"]
    assert fam.products == tuple(raw["family"]["products"])
    assert fam.ua_format == raw["user_agent"]["format"]
    assert fam.ua_pattern.pattern == raw["user_agent"]["pattern"]
    assert (fam.ua_carries_firmware, fam.ua_identity_field) == (True, "serial")
    assert fam.cipher_suite_set == "table-3-2"
    assert fam.cipher_suites == suite_sets()["table-3-2"]
    assert (fam.tls_max_version, fam.tls_check_san) == ("TLS1.0", False)
    assert (fam.tls_cn_suffix_accepted, fam.tls_dns_ip_check) == (True, True)
    assert (fam.upgrade_https_allowed, fam.aes_kdf_digest) == (False, "md5")
    assert fam.tftp_option_precedence == (1, 254)
    assert fam.syslog_params == raw["syslog"]
    assert fam.random_delay_unit_seconds == 20
    assert fam.parameters == raw["parameters"] and fam.default("Resync_Periodic") == "3600"
    assert fam.default("No_Such_Parameter") == "" and fam.path == str(path)


def test_the_optional_keys_defaults(tmp_path):
    raw = _spa()
    del raw["family"]["description"], raw["timing"]
    for key in ("carries_firmware", "identity_field"):
        raw["user_agent"].pop(key, None)
    for key in ("check_san", "cn_suffix_accepted", "dns_ip_check"):
        del raw["tls"][key]
    for key in ("upgrade_request", "upgrade_success", "upgrade_failure"):
        del raw["syslog"][key]
    _, fam = _load(tmp_path, raw)
    assert (fam.description, fam.random_delay_unit_seconds) == ("", 1)
    assert (fam.ua_carries_firmware, fam.ua_identity_field) == (False, "serial")
    assert (fam.tls_check_san, fam.tls_cn_suffix_accepted, fam.tls_dns_ip_check) == (
        False, True, True
    )  # fmt: skip
    raw["tls"].update(check_san=True, cn_suffix_accepted=False, dns_ip_check=False)
    raw["user_agent"]["identity_field"] = "mac"
    raw["profile"]["aes_kdf_digest"] = "sha256"
    _, fam = _load(tmp_path, raw)
    assert (fam.tls_check_san, fam.tls_cn_suffix_accepted, fam.tls_dns_ip_check) == (
        True, False, False
    )  # fmt: skip
    assert (fam.ua_identity_field, fam.aes_kdf_digest) == ("mac", "sha256")


def test_missing_unreadable_and_unknown_families(tmp_path):
    with pytest.raises(FamilyError, match=r"nope\.toml: no such family file$"):
        load_family_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[family\n")
    with pytest.raises(FamilyError, match=r"bad\.toml: not valid TOML: "):
        load_family_file(bad)
    with pytest.raises(FamilyError) as err:
        load_family("cisco-9999")
    assert str(err.value) == (
        "unknown device family 'cisco-9999' (shipped: cisco-8831-3pcc, cisco-mpp, cisco-spa;"
        " or give a .toml path)"
    )
    path, _ = _load(tmp_path, _spa())
    assert load_family(str(path)).path == str(path)  # a path is loaded as a file
    assert load_family("cisco-spa").path == "harness/spec/families/cisco-spa.toml"
