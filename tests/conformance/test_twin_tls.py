"""Why the TLS scenarios' pcaps give their live verdicts: the certificates the lab serves are
valid on the phone's clock (the pcap's time line), and `--scenario` re-judges with what the
scenario's entry holds for TLS (trust anchors, key log, Profile_Rule hosts, family settings).

Root-free: no capture here (tests/conformance/test_twin_verdicts.py compares the verdicts).
"""

from __future__ import annotations

import pytest

from harness.analyze.scenario import ScenarioEntry, tls_options
from harness.observe.events import TlsHandshake
from harness.pki import ServerCA
from harness.spec.family import load_family
from tests.conformance.sim_runs import run_sim

TLS_SCENARIOS = ["tls-cn-suffix", "tls-dns-match", "tls-negotiate-each-suite"]


@pytest.mark.parametrize("name", TLS_SCENARIOS)
async def test_served_certificates_are_valid_on_the_phones_clock(name):
    """The endpoint stamps a handshake with the lab's (= the phone's) virtual clock, the time
    its pcap shows; the leaf the lab served must be valid then, as it was on the real
    clock the TLS stacks checked it with (else the pcap says not-yet-valid)."""
    out = await run_sim(name)
    handshakes = [o for o in out.observations if isinstance(o, TlsHandshake)]
    assert handshakes, f"{name}: no TLS handshake"
    for hs in handshakes:
        leaf = hs.server_cert_chain[0]
        assert leaf.not_before is not None and leaf.not_after is not None
        assert leaf.not_before <= hs.time <= leaf.not_after, (
            f"{name}: handshake at {hs.time}, leaf {leaf.subject_cn!r} valid "
            f"{leaf.not_before}..{leaf.not_after}"
        )


def _entry(tmp_path, **extra) -> ScenarioEntry:
    return ScenarioEntry(
        name="tls-x",
        device="sim",
        requirements=["TLS-NEGOTIATE"],
        capture=tmp_path / "x.pcapng",
        family="cisco-8831-3pcc",
        params={"Profile_Rule": "https://Prov.Example.Test:443/$PN.cfg"},
        verdicts={"TLS-NEGOTIATE": "fail"},
        **extra,
    )


def test_rejudging_is_given_the_entrys_trust_anchors_key_log_and_hosts(tmp_path):
    ca = tmp_path / "x.ca.pem"
    pem = ServerCA().cert_pem.bytes()
    ca.write_bytes(pem)
    keys = tmp_path / "x.keys"
    keys.write_text("CLIENT_RANDOM " + "00" * 32 + " " + "11" * 48 + "\n")
    family = load_family("cisco-8831-3pcc")
    opts = tls_options(_entry(tmp_path, trust_ca=ca, keylog=keys), family)
    assert opts.trust_pem == (pem,)
    assert "CLIENT_RANDOM" in opts.keylog_text
    assert opts.profile_hosts == ("prov.example.test",)
    assert opts.suffix_accepted == family.tls_cn_suffix_accepted
    assert opts.check_san == family.tls_check_san


def test_rejudging_without_files_has_no_anchors(tmp_path):
    """A missing CA file (or none listed) gives no anchors: then the issuer stays unchecked."""
    opts = tls_options(_entry(tmp_path, trust_ca=tmp_path / "gone.pem"), load_family("cisco-spa"))
    assert opts.trust_pem == () and opts.keylog_text == ""
