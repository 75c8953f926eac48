"""Scenarios for HTTPS provisioning: suites offered and negotiated, certificate checks, $CCERT.

Each scenario sets the lab's HTTPS server (certificate variant from harness.pki,
one pinned cipher suite, client-certificate request) before each provisioning
attempt, and tells the rules what it served through `run.facts`. Certificates
that must be refused are followed by a valid one (a control: a phone that
refuses every server must not pass). Only the `DeviceUnderTest` protocol and the
lab are used, so the same scenarios run against a real phone. No judging here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.conformance.scenario import ScenarioRun, scenario
from harness.device.base import GENERIC_CERT_UNIT
from harness.endpoints.https import HttpsServer
from harness.pki.variants import build_server_cert, other_host
from harness.profiles import render_xml_profile
from harness.spec.ciphers import cipher_suite_name, real_suites

# Virtual seconds a scenario waits for one attempt: the retry and periodic delays it sets
# (RESYNC_DELAY) plus slack. Harness constants, not spec facts.
RESYNC_DELAY = "60"
ATTEMPT_TIMEOUT = 600.0
# An address of a documentation range (RFC 5737): where DNS says the certificate's name is.
ELSEWHERE_ADDRESS = "192.0.2.10"


def serve(run: ScenarioRun, **settings: Any) -> None:
    """From the next connection on, the lab's HTTPS server uses `settings` for every client
    (by SNI = the lab's FQDN, and as the default for clients that send no SNI)."""
    https = run.lab.https
    persona = https.personality(sni=https.fqdn, **settings)
    https.default = replace(persona, sni=None, client_ip=None)


def _profile_path(run: ScenarioRun) -> str:
    product = run.device.identity.product or "device"
    run.lab.put(f"{product}.cfg", render_xml_profile({}))
    return "/$PN.cfg"


async def _provision(run: ScenarioRun, url: str, **parameters: str) -> None:
    await run.provision(
        Profile_Rule=url,
        Resync_Random_Delay="0",
        Resync_Periodic=RESYNC_DELAY,
        Resync_Error_Retry_Delay=RESYNC_DELAY,
        **parameters,
    )


def _by_name(run: ScenarioRun) -> str:
    lab = run.lab
    return f"https://{lab.fqdn}:{lab.https.port}{_profile_path(run)}"


async def _variants_in_turn(run: ScenarioRun, variants: list[str]) -> None:
    """One attempt per certificate variant, in order, over HTTPS by the lab's name."""
    serve(run, variant=variants[0])
    await _provision(run, _by_name(run))
    for n, variant in enumerate(variants, start=1):
        if n > 1:
            serve(run, variant=variant)
        await run.wait_attempts(n, timeout=ATTEMPT_TIMEOUT)
    run.facts["served_variants"] = list(variants)


@scenario("TLS-CIPHERS", name="tls-offered-suites")
async def scenario_tls_ciphers(run: ScenarioRun) -> None:
    """The device resyncs over HTTPS; its ClientHello must offer only the family's suites."""
    await _variants_in_turn(run, ["valid"])


def _pinnable(suite: int) -> bool:
    """Suites the lab server can be restricted to one at a time with its RSA certificate."""
    name = cipher_suite_name(suite)
    return HttpsServer.can_offer(suite) and "_WITH_" in name and "_ECDSA_" not in name


@scenario("TLS-NEGOTIATE", name="tls-negotiate-each-suite")
async def scenario_tls_negotiate(run: ScenarioRun) -> None:
    """The server picks, one attempt each, every family suite the device offered."""
    https = run.lab.https
    serve(run, variant="valid")
    await _provision(run, _by_name(run))
    await run.wait_attempts(1, timeout=ATTEMPT_TIMEOUT)
    family = run.family.cipher_suites
    run.facts["suite_offer_verdicts"] = {s: HttpsServer.offer_verdict(s) for s in family}
    seen = https.handshakes
    if not seen:
        return
    offered = [s for s in real_suites(seen[-1].offered_cipher_suites) if s in family]
    tried = {hs.chosen_cipher_suite for hs in seen}
    attempts = 1
    for suite in offered:
        if suite in tried or not _pinnable(suite):
            continue
        serve(run, variant="valid", cipher_suites=[suite])
        attempts += 1
        await run.wait_attempts(attempts, timeout=ATTEMPT_TIMEOUT)
        tried.add(suite)
    run.facts["pinned_suites"] = sorted(s for s in tried if s is not None)


@scenario("TLS-SERVER-CA", name="tls-untrusted-server-certificates")
async def scenario_tls_server_ca(run: ScenarioRun) -> None:
    """A self-signed, then an unknown-CA certificate (both refused), then a valid one."""
    await _variants_in_turn(run, ["self-signed", "untrusted-ca", "valid"])


@scenario("TLS-SERVER-CN", name="tls-wrong-cn")
async def scenario_tls_server_cn(run: ScenarioRun) -> None:
    """A certificate naming another host (refused), then a valid one (accepted). DNS puts
    that other host at the server too, so only the name comparison can refuse it."""
    run.lab.dns.add_a(other_host(run.lab.fqdn), run.lab.host)
    await _variants_in_turn(run, ["wrong-cn", "valid"])


@scenario("TLS-CN-SUFFIX", name="tls-cn-suffix")
async def scenario_tls_cn_suffix(run: ScenarioRun) -> None:
    """A certificate whose CN is `FQDN/mailto:...` (accepted)."""
    await _variants_in_turn(run, ["cn-suffix"])


@scenario("TLS-DNS-MATCH", name="tls-dns-match")
async def scenario_tls_dns_match(run: ScenarioRun) -> None:
    """The URL names the server by address. First its certificate names a host DNS puts
    elsewhere (refused), then the lab's name, which DNS puts at the server (accepted)."""
    lab = run.lab
    domain = lab.fqdn.split(".", 1)[1] if "." in lab.fqdn else lab.fqdn
    elsewhere = f"elsewhere.{domain}"
    lab.dns.add_a(elsewhere, ELSEWHERE_ADDRESS)
    run.facts["dns_answer_for_cert_name"] = {elsewhere: [ELSEWHERE_ADDRESS], lab.fqdn: [lab.host]}
    serve(run, cert=build_server_cert(lab.server_ca, elsewhere, "valid"))
    await _provision(run, f"https://{lab.https.host}:{lab.https.port}{_profile_path(run)}")
    await run.wait_attempts(1, timeout=ATTEMPT_TIMEOUT)
    serve(run, variant="valid")
    await run.wait_attempts(2, timeout=ATTEMPT_TIMEOUT)


@scenario("TLS-CLIENT-CERT", name="tls-client-certificate")
async def scenario_tls_client_cert(run: ScenarioRun) -> None:
    """The server asks for a client certificate (optional, so a missing one is seen)."""
    serve(run, variant="valid", client_cert="optional", client_ca=run.lab.device_ca)
    await _provision(run, _by_name(run))
    await run.wait_attempts(1, timeout=ATTEMPT_TIMEOUT)


@scenario("TLS-GENERIC-CERT", name="tls-generic-client-certificate", needs=[GENERIC_CERT_UNIT])
async def scenario_tls_generic_cert(run: ScenarioRun) -> None:
    """The server asks for a client certificate of a unit made to have none of its own: it
    must show the generic one."""
    run.device.drop_individual_certificate()  # type: ignore[attr-defined]
    run.facts["individual_cert"] = False
    serve(run, variant="valid", client_cert="optional", client_ca=run.lab.device_ca)
    await _provision(run, _by_name(run))
    await run.wait_attempts(1, timeout=ATTEMPT_TIMEOUT)


@scenario("MACRO-CCERT", name="macro-ccert")
async def scenario_macro_ccert(run: ScenarioRun) -> None:
    """Profile_Rule `https://fqdn/$PN-$CCERT.cfg`; the server does not ask for a certificate."""
    lab = run.lab
    product = run.device.identity.product or "device"
    lab.put(f"{product}-Installed.cfg", render_xml_profile({}))
    serve(run, variant="valid", client_cert="none")
    await _provision(run, f"https://{lab.fqdn}:{lab.https.port}/$PN-$CCERT.cfg")
    await run.wait_attempts(1, timeout=ATTEMPT_TIMEOUT)
