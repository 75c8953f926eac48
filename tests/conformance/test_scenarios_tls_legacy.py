"""TLS-NEGOTIATE with the RC4 suites of Table 3-2, which this machine's OpenSSL cannot serve:
the lab serves them through tlslite-ng. A "device" built on tlslite-ng (a TLS implementation
nobody here wrote) that completes every suite passes; one that gives up mid-handshake when
the server picks an RC4 suite fails. The simulated phone (OpenSSL) cannot offer RC4, so no
RC4 verdict is ever claimed for it; EXPORT suites stay inconclusive."""

from __future__ import annotations

import asyncio

import pytest

from harness.conformance.scenario import run_scenario, scenarios
from harness.device.base import DeviceUnsupported
from harness.device.sim_device import SimDevice
from harness.endpoints.lab import ProvisioningLab
from harness.endpoints.legacy_tls import TLSError  # tlslite-ng's, imported quietly there
from harness.observe.events import TlsHandshake
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity
from harness.spec.ciphers import TABLE_3_2, cipher_suite_name
from harness.spec.family import load_family
from harness.spec.macros import expand
from tests.endpoints.test_https_legacy_helpers import Refused, tlslite_get

RC4 = {s for s in TABLE_3_2 if "_RC4_128_" in cipher_suite_name(s)}
FAMILIES_WITH_RC4 = [
    f for f in ("cisco-spa", "cisco-8831-3pcc") if load_family(f).cipher_suites >= RC4
]
NEGOTIATE = "tls-negotiate-each-suite"


class TlsliteDevice:
    """A minimal HTTPS provisioning client on tlslite-ng, as a DeviceUnderTest.

    It offers the family's suites that tlslite-ng knows and makes one resync (a GET of the
    expanded Profile_Rule) each time it is waited on for one more attempt. `refuse`: suites
    it gives up on mid-handshake, right after the server's first flight."""

    capabilities = frozenset()

    def __init__(self, family: str, refuse: frozenset[int] = frozenset()) -> None:
        self.family = load_family(family)
        self.refuse = refuse
        self.description = f"tlslite-ng client ({family})"
        self._identity = DeviceIdentity(product="SPA-TLSLITE", serial="TL0001", mac="0e0000000001")
        self.lab: ProvisioningLab | None = None
        self.url = ""
        self.attempts = 0
        self.errors: list[str] = []

    @property
    def identity(self) -> DeviceIdentity:
        return self._identity

    async def provision(self, lab, parameters, *, power_up=True):
        self.lab = lab
        values = {"PN": self._identity.product, "SN": self._identity.serial}
        self.url = expand(parameters["Profile_Rule"], values)
        return None

    def _resync(self) -> None:
        assert self.lab is not None and self.url.startswith("https://")
        host_port, _, path = self.url.removeprefix("https://").partition("/")
        host = host_port.rsplit(":", 1)[0]
        suites = sorted(self.family.cipher_suites)
        try:
            tlslite_get(
                self.lab.https.host,
                self.lab.https.port,
                "/" + path,
                sni=host,
                suites=suites,
                refuse=self.refuse,
            )
        except (Refused, OSError, TLSError) as exc:  # a failed resync is still an attempt
            self.errors.append(f"{type(exc).__name__}: {exc}")

    async def wait_attempts(self, count: int, timeout: float) -> bool:
        assert self.lab is not None
        while self.attempts < count:
            await asyncio.to_thread(self._resync)
            self.attempts += 1
            # the attempt is over once the lab has recorded its connection
            await asyncio.to_thread(self.lab.https.wait_for_handshakes, self.attempts, 10.0)
        return True

    async def set_call(self, active: bool) -> None:
        raise DeviceUnsupported("a tlslite-ng client makes no calls")

    async def stop(self) -> None:
        pass


async def negotiate(device):
    out = await run_scenario(scenarios()[NEGOTIATE], device)
    [f] = [f for f in out.findings if f.rule == "TLS-NEGOTIATE"]
    handshakes = [o for o in out.observations if isinstance(o, TlsHandshake)]
    return f, handshakes


@pytest.mark.parametrize("family", FAMILIES_WITH_RC4)
async def test_device_completing_the_rc4_suites_passes(family):
    f, handshakes = await negotiate(TlsliteDevice(family))
    assert f.verdict is Verdict.PASS, f.why
    chosen = {hs.chosen_cipher_suite for hs in handshakes if hs.established}
    assert chosen >= RC4, chosen
    for suite in RC4:
        assert cipher_suite_name(suite) in f.why
    rc4 = [hs for hs in handshakes if hs.chosen_cipher_suite in RC4]
    assert all(hs.application_data and hs.server_cert_variant == "valid" for hs in rc4)


@pytest.mark.parametrize("suite", sorted(RC4), ids=lambda s: f"0x{s:04x}")
async def test_device_refusing_an_rc4_suite_mid_handshake_fails(suite):
    f, handshakes = await negotiate(TlsliteDevice("cisco-spa", refuse=frozenset({suite})))
    assert f.verdict is Verdict.FAIL, f.why
    assert cipher_suite_name(suite) in f.why and "closed the connection" in f.why
    [hs] = [hs for hs in handshakes if hs.chosen_cipher_suite == suite]
    assert not hs.established and not hs.application_data


@pytest.mark.parametrize("family", FAMILIES_WITH_RC4)
async def test_simulated_phone_cannot_offer_rc4_so_no_rc4_verdict_is_claimed(family):
    f, handshakes = await negotiate(SimDevice(family))
    assert f.verdict is Verdict.PASS, f.why  # on the suites it does offer
    assert not any(set(hs.offered_cipher_suites) & RC4 for hs in handshakes)
    assert not any(cipher_suite_name(s) in f.why for s in RC4), f.why
