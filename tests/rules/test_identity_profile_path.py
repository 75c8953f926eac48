"""The identity a profile rule's path gives (`$PN`, `$SN`, `$MA` expanded by the device):
only what every way of splitting the requested path agrees on. In `$PN-$SN` the product
`CP-8831-3PCC` holds the separator, so the path alone does not say where the product ends;
reading it as `CP` failed a clean phone on UA-IDENTITY and TLS-CLIENT-CERT.
"""

from harness.observe import build_timelines
from harness.rules import Verdict, evaluate
from tests.rules.test_tls_rules import OWN, conn
from tests.rules.timelines import SERIAL, context, http

AMBIGUOUS = "http://198.51.100.5/$PN-$SN.cfg"
CLEAR = "http://198.51.100.5/$PN/$SN.cfg"


def judge(rule, observations, ctx):
    (tl,) = build_timelines(observations)
    (f,) = evaluate([tl], ctx, only=[rule])
    return f


def test_an_ambiguous_split_of_the_path_names_nobody():
    ctx = context(identity=False, Profile_Rule=AMBIGUOUS)
    f = judge("UA-IDENTITY", [http(1, url=f"/CP-8831-3PCC-{SERIAL}.cfg")], ctx)
    assert f.verdict is Verdict.INCONCLUSIVE, f.why
    obs = conn(1, client_cert=OWN, asked=True, ua=None, url=f"/CP-8831-3PCC-{SERIAL}.cfg")
    f = judge("TLS-CLIENT-CERT", obs, ctx)
    assert f.verdict is Verdict.INCONCLUSIVE, f.why


def test_a_clear_split_of_the_path_is_a_source():
    ctx = context(identity=False, Profile_Rule=CLEAR)
    f = judge("UA-IDENTITY", [http(1, url=f"/CP-8831-3PCC/{SERIAL}.cfg")], ctx)
    assert f.verdict is Verdict.PASS, f.why
    f = judge("UA-IDENTITY", [http(1, url="/CP-8831-3PCC/88012BA09999.cfg")], ctx)
    assert f.verdict is Verdict.FAIL and "88012BA09999" in f.why


def test_the_unambiguous_part_of_a_path_still_counts():
    # `$SN` is bounded by '/' and '.cfg': known; `$PN-x` has one reading too
    ctx = context(identity=False, Profile_Rule="http://198.51.100.5/$PN-x/$SN.cfg")
    f = judge("UA-IDENTITY", [http(1, url="/CP-8831-3PCC-x/88012BA09999.cfg")], ctx)
    assert f.verdict is Verdict.FAIL and "88012BA09999" in f.why
