"""MACRO-CCERT, branch by branch: which profile rules carry `$CCERT` (every Profile_Rule*,
bracketed options, a `--post x` body from GPP_x), what the device expanded it to, the
request a finding points at (time and frames) and the facts its reason names.

Spec: `$CCERT` expands to `Installed` or `Not Installed`; `[--post x]` makes the request an
HTTP POST whose body is the macro-expanded `GPP_x`.
"""

import dataclasses

from harness.observe.events import TftpTransfer
from harness.rules import Verdict
from tests.rules.test_tls_client_cert_rules import points_at
from tests.rules.test_tls_rules import GENERIC, OWN, conn, judge
from tests.rules.timelines import DEV, IP, context, ev

RULE = "https://prov.example.test/$PN-$CCERT.cfg"


def post(t, body: bytes, url="/x.cfg", **kw):
    hs, req = conn(t, url=url, **kw)
    return [hs, dataclasses.replace(req, method="POST", request_body=body)]


def test_ccert_rule_with_no_matching_request_is_inconclusive_and_points_nowhere():
    f = judge("MACRO-CCERT", conn(1, url="/other.cfg"), context(Profile_Rule=RULE))
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.time is None and f.frames == ()


def test_ccert_pass_counts_and_links_every_matching_request():
    one = conn(1, url="/CP-8831-3PCC-Installed.cfg")
    two = conn(2, url="/CP-8831-3PCC-Installed.cfg")
    f = judge("MACRO-CCERT", one + two + conn(3, url="/other.cfg"), context(Profile_Rule=RULE))
    assert f.verdict is Verdict.PASS and "2 request(s)" in f.why and "'Installed'" in f.why
    assert points_at(f, one[1], two[1])


def test_ccert_bad_expansion_fails_on_that_request():
    ok = conn(1, url="/CP-8831-3PCC-Installed.cfg")
    bad = conn(2, url="/CP-8831-3PCC-yes.cfg")
    f = judge("MACRO-CCERT", ok + bad, context(Profile_Rule=RULE))
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why
    assert points_at(f, bad[1])


def test_ccert_installed_with_the_generic_certificate_fails_naming_it():
    obs = conn(1, url="/CP-8831-3PCC-Installed.cfg", client_cert=GENERIC, asked=True)
    f = judge("MACRO-CCERT", obs, context(Profile_Rule=RULE))
    assert f.verdict is Verdict.FAIL and "the generic" in f.why
    assert "L=ciscogeneric, OU=cisco.com, ST=ciscogeneric" in f.why
    assert points_at(f, obs[1])
    obs = conn(1, url="/CP-8831-3PCC-Not%20Installed.cfg", client_cert=GENERIC, asked=True)
    assert judge("MACRO-CCERT", obs, context(Profile_Rule=RULE)).verdict is Verdict.PASS
    obs = conn(1, url="/CP-8831-3PCC-Installed.cfg", client_cert=OWN, asked=True)
    assert judge("MACRO-CCERT", obs, context(Profile_Rule=RULE)).verdict is Verdict.PASS


def test_ccert_in_a_later_profile_rule():
    # Profile_Rule without $CCERT, Profile_Rule_B with it: the request of B is judged
    ctx = context(Profile_Rule_B=RULE)
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-Installed.cfg"), ctx)
    assert f.verdict is Verdict.PASS
    # both rules use $CCERT: a request matching only the second one is judged too
    ctx = context(Profile_Rule="https://prov.example.test/a-$CCERT.cfg", Profile_Rule_B=RULE)
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), ctx)
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why


def test_ccert_after_bracketed_options():
    ctx = context(Profile_Rule=f"[--key secret --uid u --pwd p] {RULE}")
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), ctx)
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why


def test_ccert_in_a_post_body_names_the_gpp_parameter():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg", GPP_A="c=$CCERT")
    f = judge("MACRO-CCERT", post(1, b"c=yes"), ctx)
    assert f.verdict is Verdict.FAIL and "GPP_A" in f.why and "'yes'" in f.why


def test_ccert_post_without_its_gpp_value_uses_no_ccert():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg")
    f = judge("MACRO-CCERT", post(1, b"c=Installed"), ctx)
    assert f.verdict is Verdict.INCONCLUSIVE


def test_ccert_post_body_that_is_not_utf8_fails_without_crashing():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg", GPP_A="c=$CCERT")
    f = judge("MACRO-CCERT", post(1, b"c=Install\xffed"), ctx)
    assert f.verdict is Verdict.FAIL


def test_ccert_expansion_spanning_a_line_break_is_not_installed():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg", GPP_A="c=$CCERT")
    f = judge("MACRO-CCERT", post(1, b"c=Not\nInstalled"), ctx)
    assert f.verdict is Verdict.FAIL


# -- where the rule is fetched from: TFTP without a scheme, alternatives -------------------
def tftp(t, filename, op="RRQ"):
    return TftpTransfer(
        time=t, client=(IP, 40001), server=("198.51.100.5", 69), device=DEV, evidence=ev(),
        op=op, filename=filename,
    )  # fmt: skip


def test_ccert_in_a_tftp_rule_is_judged_on_the_tftp_read():
    # no scheme means TFTP (with or without a server before the path)
    for rule in ("/$PN-$CCERT.cfg", "prov.example.test:69/$PN-$CCERT.cfg"):
        ctx = context(Profile_Rule=rule)
        bad = tftp(1, "CP-8831-3PCC-yes.cfg")
        f = judge("MACRO-CCERT", [bad], ctx)
        assert f.verdict is Verdict.FAIL and "'yes'" in f.why and "CP-8831-3PCC-yes.cfg" in f.why
        assert points_at(f, bad)
        one, two = (
            tftp(1, "/CP-8831-3PCC-Not Installed.cfg"),
            tftp(2, "CP-8831-3PCC-Not Installed.cfg"),
        )
        f = judge("MACRO-CCERT", [one, two], ctx)
        assert f.verdict is Verdict.PASS and "2 request(s)" in f.why
        assert points_at(f, one, two)


def test_ccert_is_not_read_from_a_tftp_write():
    f = judge(
        "MACRO-CCERT",
        [tftp(1, "CP-8831-3PCC-yes.cfg", op="WRQ")],
        context(Profile_Rule="/$PN-$CCERT.cfg"),
    )
    assert f.verdict is Verdict.INCONCLUSIVE


def test_ccert_in_any_alternative_of_a_conditional_rule():
    rule = (
        '($PRVST eq 0)? ( Provisioning_Enable = "Yes" )! [--key k] https://prov.example.test/a.cfg'
        f" | {RULE}"
    )
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), context(Profile_Rule=rule))
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why
    rule = f"($PRVST eq 0)? [--key k] {RULE} | https://prov.example.test/b.cfg"
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), context(Profile_Rule=rule))
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why


def test_ccert_post_option_of_one_alternative_is_its_own():
    ctx = context(
        Profile_Rule="($PRVST eq 0)? [--post a] https://prov.example.test/x.cfg | https://prov.example.test/y.cfg",
        GPP_A="c=$CCERT",
    )
    f = judge("MACRO-CCERT", post(1, b"c=yes"), ctx)
    assert f.verdict is Verdict.FAIL and "GPP_A" in f.why
    # a GET carries no body: the POST template says nothing about it
    assert judge("MACRO-CCERT", conn(1, url="/x.cfg"), ctx).verdict is Verdict.INCONCLUSIVE
    # an empty POST body is judged (and is no expansion of $CCERT)
    assert judge("MACRO-CCERT", post(1, b""), ctx).verdict is Verdict.INCONCLUSIVE


def test_ccert_in_a_later_rule_after_an_empty_one():
    ctx = context(Profile_Rule="", Profile_Rule_B=RULE)
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), ctx)
    assert f.verdict is Verdict.FAIL and "Profile_Rule_B" in f.why


def test_ccert_tftp_path_is_the_whole_path_after_the_server():
    ctx = context(Profile_Rule="prov.example.test/cfg/ccert-$CCERT.cfg")
    f = judge("MACRO-CCERT", [tftp(1, "/cfg/ccert-yes.cfg")], ctx)
    assert f.verdict is Verdict.FAIL and "'yes'" in f.why
    for name in ("/cfg/ccert-Installed.cfg", "cfg/ccert-Installed.cfg"):  # with or without '/'
        assert judge("MACRO-CCERT", [tftp(1, name)], ctx).verdict is Verdict.PASS
    assert judge("MACRO-CCERT", [tftp(1, "/ccert-yes.cfg")], ctx).verdict is Verdict.INCONCLUSIVE


def test_ccert_body_template_is_only_read_from_a_post():
    ctx = context(Profile_Rule="[--post a] https://prov.example.test/x.cfg", GPP_A="c=$CCERT")
    hs, get = conn(1, url="/x.cfg")
    get = dataclasses.replace(get, request_body=b"c=yes")  # a GET with a body: not GPP_A's
    assert judge("MACRO-CCERT", [hs, get], ctx).verdict is Verdict.INCONCLUSIVE


def test_ccert_path_of_a_later_rule_when_an_earlier_one_posts():
    ctx = context(
        Profile_Rule="[--post a] https://prov.example.test/x.cfg",
        GPP_A="c=$CCERT",
        Profile_Rule_B=RULE,
    )
    f = judge("MACRO-CCERT", conn(1, url="/CP-8831-3PCC-yes.cfg"), ctx)
    assert f.verdict is Verdict.FAIL and "Profile_Rule_B path" in f.why
