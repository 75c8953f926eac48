"""The scenario layer: the clean simulated phone passes the basics; quirks fail what they name."""

import pytest

from harness.rules import Verdict
from tests.conformance.sim_runs import run_sim

SCENARIO = "power-up-resync-over-http"


async def verdicts(*quirks):
    out = await run_sim(SCENARIO, quirks=quirks)
    return {f.rule: f.verdict for f in out.findings}


async def test_clean_phone_passes_every_basic_requirement():
    got = await verdicts()
    assert got and all(v is Verdict.PASS for v in got.values()), got


@pytest.mark.parametrize(
    ("quirk", "fails"),
    [
        ("srv-lookup", {"DNS-A-ONLY"}),
        ("silent-syslog", {"SYSLOG-REQUEST", "SYSLOG-RESULT"}),
        ("syslog-no-macros", {"SYSLOG-MACROS"}),
        ("ua-wrong-product", {"UA-IDENTITY"}),
        ("get-as-post", {"HTTP-GET"}),
    ],
)
async def test_quirk_fails_what_it_breaks(quirk, fails):
    got = await verdicts(quirk)
    assert {r for r, v in got.items() if v is Verdict.FAIL} == fails, got
