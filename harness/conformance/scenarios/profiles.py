"""Scenarios for how a profile travels: AES-encrypted over plain HTTP, gzip-compressed,
answered as HTTP/1.0 and chunked HTTP/1.1, and fetched with POST.

Each serves valid profiles (and tells the rules what it served, as the `served` fact);
the device provisions with a long `Resync_Periodic`, so a profile it could not read
(class B) shows as an early retry. Arranging only: the rules in
harness.rules.status_rules judge; the AES digest comes from the family file.
"""

from __future__ import annotations

from harness.conformance.scenario import ScenarioRun, scenario
from harness.conformance.scenarios.http_status import (
    LONG_PERIODIC,
    WAIT,
    served,
    valid_profile,
)
from harness.profiles import encrypt_profile, gzip_profile

AES_KEY = "harness-profile-key"
PATHS = {
    "aes": "/profiles/encrypted.cfg",
    "gzip": "/profiles/compressed.cfg",
    "versions": "/profiles/versions.cfg",
    "post": "/profiles/posted.cfg",
}
POST_TEMPLATE = "product=$PN serial=$SN mac=$MA"


async def _provision(run: ScenarioRun, rule: str, attempts: int, **params: str) -> None:
    await run.provision(Profile_Rule=rule, Resync_Periodic=LONG_PERIODIC, **params)
    await run.wait_attempts(attempts, timeout=WAIT)


def _url(run: ScenarioRun, path: str) -> str:
    return f"http://{run.lab.http.host}:{run.lab.http.port}{path}"


@scenario("PROFILE-AES", "PROFILE-PLAIN-HTTP", name="encrypted-profile-over-http")
async def scenario_encrypted_profile(run: ScenarioRun) -> None:
    """The server sends an AES-256-CBC profile over plain HTTP; the rule gives the key."""
    path = PATHS["aes"]
    body = encrypt_profile(valid_profile(), AES_KEY, run.family.aes_kdf_digest)
    run.lab.http.expect(path).respond(200, body, content_type="application/octet-stream")
    served(run, path, body)
    await _provision(run, f"[--key {AES_KEY}]{_url(run, path)}", 2)


@scenario("PROFILE-GZIP", name="gzip-profile")
async def scenario_gzip_profile(run: ScenarioRun) -> None:
    """The server sends a gzip-compressed profile."""
    path = PATHS["gzip"]
    body = gzip_profile(valid_profile())
    run.lab.http.expect(path).respond(200, body, content_type="application/octet-stream")
    served(run, path, body)
    await _provision(run, _url(run, path), 2)


@scenario("HTTP-VERSIONS", name="http-1.0-and-chunked")
async def scenario_http_versions(run: ScenarioRun) -> None:
    """The first answer comes as HTTP/1.0, the next as chunked HTTP/1.1, then plain 1.1."""
    path = PATHS["versions"]
    profile = valid_profile()
    run.lab.http.expect(path).respond(200, profile, http_version="HTTP/1.0").then(
        200, profile, chunked=True
    ).then(200, profile)
    served(run, path, profile, version="HTTP/1.0")
    served(run, path, profile, version="HTTP/1.1")
    await _provision(run, _url(run, path), 3)


@scenario("HTTP-POST", name="post-rule")
async def scenario_post(run: ScenarioRun) -> None:
    """The rule asks for POST with GPP_A (identity macros) as the body."""
    path = PATHS["post"]
    profile = valid_profile()
    run.lab.http.expect(path).respond(200, profile)
    served(run, path, profile)
    await _provision(run, f"[--post a]{_url(run, path)}", 1, GPP_A=POST_TEMPLATE)
