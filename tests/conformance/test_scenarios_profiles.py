"""Profile scenarios (AES, gzip, HTTP/1.0 and chunked, POST): clean phone passes in every
family; the quirks that name them fail exactly those requirements."""

import pytest

from harness.rules import Verdict
from harness.spec import family_names
from tests.conformance.sim_runs import run_sim

NAMES = ["encrypted-profile-over-http", "gzip-profile", "http-1.0-and-chunked", "post-rule"]


async def verdicts(name, family="cisco-8831-3pcc", quirks=()):
    out = await run_sim(name, family, quirks)
    return {f.rule: f.verdict for f in out.findings}, out


@pytest.mark.parametrize("family", family_names())
@pytest.mark.parametrize("name", NAMES)
async def test_clean_phone_passes(name, family):
    got, out = await verdicts(name, family)
    assert got and all(v is Verdict.PASS for v in got.values()), out.findings


@pytest.mark.parametrize(
    ("quirk", "name", "fails"),
    [
        ("aes-wrong-kdf", "encrypted-profile-over-http", {"PROFILE-AES"}),
        ("ignore-gzip", "gzip-profile", {"PROFILE-GZIP"}),
        ("no-chunked", "http-1.0-and-chunked", {"HTTP-VERSIONS"}),
        ("post-as-get", "post-rule", {"HTTP-POST"}),
    ],
)
@pytest.mark.parametrize("family", ["cisco-spa", "cisco-mpp"])
async def test_quirk_fails_what_it_names(quirk, name, fails, family):
    got, out = await verdicts(name, family, quirks=(quirk,))
    assert {r for r, v in got.items() if v is Verdict.FAIL} == fails, out.findings


async def test_plain_http_finding_is_about_the_server_not_the_phone():
    # PROFILE-PLAIN-HTTP judges what the server sent: a phone that cannot decrypt changes nothing
    got, _ = await verdicts("encrypted-profile-over-http", quirks=("aes-wrong-kdf",))
    assert got["PROFILE-PLAIN-HTTP"] is Verdict.PASS
