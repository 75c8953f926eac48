"""Table 3-1 and profile rules on hand-made timelines: each row passes on time and fails off it."""

import pytest

from harness.observe.events import HttpExchange
from harness.observe.timeline import build_timelines
from harness.profiles import encrypt_profile, gzip_profile, render_xml_profile
from harness.rules import Verdict
from harness.rules.registry import evaluate
from harness.spec.status_table import Action, all_status_rows
from tests.rules.timelines import DEV, IP, SERVER, UA, context, ev

PATH = "/p.cfg"
RULE = f"http://{SERVER[0]}{PATH}"
PROFILE = render_xml_profile({"GPP_P": "x"})
T0 = 1_700_000_000.0


def req(t, status=200, *, path=PATH, method="GET", rheaders=(), headers=(), body=b"", **kw):
    return HttpExchange(
        time=t, client=(IP, 40000), server=SERVER, device=DEV, evidence=ev(), method=method,
        url=path, user_agent=UA, status=status, response_headers=tuple(rheaders),
        headers=tuple(headers), request_body=body, **kw,
    )  # fmt: skip


def verdict(req_id, observations, **params):
    facts = params.pop("facts", {})
    ctx = context(**{"Profile_Rule": RULE, "Resync_Periodic": "86400", **params})
    ctx = type(ctx)(ctx.family, ctx.identity, ctx.parameters, facts)
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f.verdict, f.why


def code_for(row):
    if row.key.isdigit():
        return int(row.key)
    exact = {r.key for r in all_status_rows()}
    return next(c for c in range(int(row.key[0]) * 100, 1000) if str(c) not in exact)


CLASS_ROWS = [r for r in all_status_rows() if r.action.is_outcome_class]


@pytest.mark.parametrize("row", CLASS_ROWS, ids=lambda r: r.key)
def test_class_rows_judge_the_next_attempt_delay(row):
    code = code_for(row)
    on_time = 86400 + 20 if row.action is Action.A else 3600
    ok = verdict(row.requirement, [req(T0, code), req(T0 + on_time)])
    assert ok[0] is Verdict.PASS, ok
    assert str(code) in ok[1], ok
    delay = "Resync_Periodic=86400" if row.action is Action.A else "Resync_Error_Retry_Delay=3600"
    assert delay in ok[1], ok
    early = verdict(row.requirement, [req(T0, code), req(T0 + 10)])
    assert early[0] is Verdict.FAIL and "10.0 s later" in early[1], early


def test_no_later_attempt_is_inconclusive_and_no_such_answer_too():
    assert verdict("HTTP-404", [req(T0, 404)])[0] is Verdict.INCONCLUSIVE
    assert verdict("HTTP-404", [req(T0, 200), req(T0 + 86400)])[0] is Verdict.INCONCLUSIVE


def test_back_off_schedule_uses_the_nth_value():
    delay = "60,120+30"
    good = [req(T0, 503), req(T0 + 60, 503), req(T0 + 60 + 140, 503), req(T0 + 330)]
    assert verdict("HTTP-503", good, Resync_Error_Retry_Delay=delay)[0] is Verdict.PASS
    bad = [req(T0, 503), req(T0 + 60, 503), req(T0 + 120)]
    got = verdict("HTTP-503", bad, Resync_Error_Retry_Delay=delay)
    assert got[0] is Verdict.FAIL and "value 2" in got[1], got


def test_resync_fails_on_fnf_no_makes_404_class_a():
    obs = [req(T0, 404), req(T0 + 86400)]
    got = verdict("HTTP-404", obs, Resync_Fails_On_FNF="No")
    assert got[0] is Verdict.PASS and "Resync_Fails_On_FNF" in got[1]
    assert verdict("HTTP-404", obs)[0] is Verdict.FAIL


@pytest.mark.parametrize("code", [301, 302])
def test_redirect_must_be_followed_at_once(code):
    loc = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
    good = [req(T0, code, rheaders=loc), req(T0 + 0.2, path="/moved.cfg")]
    assert verdict(f"HTTP-{code}", good)[0] is Verdict.PASS
    late = [req(T0, code, rheaders=loc), req(T0 + 3600, path="/moved.cfg")]
    assert verdict(f"HTTP-{code}", late)[0] is Verdict.FAIL
    elsewhere = [req(T0, code, rheaders=loc), req(T0 + 0.2, path=PATH)]
    got = verdict(f"HTTP-{code}", elsewhere)
    assert got[0] is Verdict.FAIL and "not the Location" in got[1]
    assert verdict(f"HTTP-{code}", [req(T0, code)])[0] is Verdict.INCONCLUSIVE


AUTH_RULE = f"[--uid u --pwd p]{RULE}"


@pytest.mark.parametrize(
    ("code", "challenge", "answer"),
    [
        (401, "WWW-Authenticate", "Authorization"),
        (407, "Proxy-Authenticate", "Proxy-Authorization"),
    ],
)
def test_auth_retry(code, challenge, answer):
    ch = ((challenge, 'Basic realm="x"'),)
    cred = ((answer, "Basic dTpw"),)
    refused = [req(T0, code, rheaders=ch)] + [
        req(T0 + 0.1 * k, code, rheaders=ch, headers=cred) for k in (1, 2)
    ]
    rid = f"HTTP-{code}"
    assert verdict(rid, [*refused, req(T0 + 3600)], Profile_Rule=AUTH_RULE)[0] is Verdict.PASS
    got = verdict(rid, [*refused, req(T0 + 20)], Profile_Rule=AUTH_RULE)
    assert got[0] is Verdict.FAIL and "class C" in got[1]
    forever = [*refused, req(T0 + 0.3, code, rheaders=ch, headers=cred), req(T0 + 3600)]
    got = verdict(rid, forever, Profile_Rule=AUTH_RULE)
    assert got[0] is Verdict.FAIL and "at most 2" in got[1]
    never = [req(T0, code, rheaders=ch), req(T0 + 3600)]
    got = verdict(rid, never, Profile_Rule=AUTH_RULE)
    assert got[0] is Verdict.FAIL and "did not retry" in got[1]
    bare = [req(T0, code, rheaders=ch), req(T0 + 0.1, 200)]
    assert verdict(rid, bare, Profile_Rule=AUTH_RULE)[0] is Verdict.FAIL
    accepted = [req(T0, code, rheaders=ch), req(T0 + 0.1, 200, headers=cred)]
    assert verdict(rid, accepted, Profile_Rule=AUTH_RULE)[0] is Verdict.PASS


def served(*bodies):
    return {"served": {PATH: [{"body": b} for b in bodies]}}


def test_corrupt_body_is_class_b_and_a_valid_one_class_a():
    facts = served(b"\x00junk", PROFILE)
    obs = [req(T0), req(T0 + 3600), req(T0 + 3600 + 86400)]
    assert verdict("HTTP-CORRUPT", obs, facts=facts)[0] is Verdict.PASS
    assert verdict("HTTP-200", obs, facts=facts)[0] is Verdict.PASS
    taken = [req(T0), req(T0 + 86400)]
    got = verdict("HTTP-CORRUPT", taken, facts=facts)
    assert got[0] is Verdict.FAIL and "not a valid profile" in got[1]


@pytest.mark.parametrize(
    "outcome, rid", [("timeout", "HTTP-TIMEOUT"), ("connection-error", "HTTP-CONNERR")]
)
def test_unanswered_connections_are_class_c(outcome, rid):
    facts = {"unanswered": [{"time": T0, "outcome": outcome, "url": RULE}]}
    assert verdict(rid, [req(T0 + 3601)], facts=facts)[0] is Verdict.PASS
    assert verdict(rid, [req(T0 + 15)], facts=facts)[0] is Verdict.FAIL


def test_closed_without_answer_is_a_connection_error():
    obs = [req(T0, None, outcome="no-response"), req(T0 + 3600)]
    assert verdict("HTTP-CONNERR", obs)[0] is Verdict.PASS


KEY = "k3y"


def test_profile_aes():
    body = encrypt_profile(PROFILE, KEY, "md5")
    rule = f"[--key {KEY}]{RULE}"
    read = [req(T0), req(T0 + 86400)]
    assert verdict("PROFILE-AES", read, Profile_Rule=rule, facts=served(body))[0] is Verdict.PASS
    got = verdict("PROFILE-AES", [req(T0), req(T0 + 3600)], Profile_Rule=rule, facts=served(body))
    assert got[0] is Verdict.FAIL and "AES" in got[1]
    wrong = encrypt_profile(PROFILE, "other", "md5")  # a wrong key makes the profile corrupt
    got = verdict("PROFILE-AES", [req(T0), req(T0 + 3600)], Profile_Rule=rule, facts=served(wrong))
    assert got[0] is Verdict.PASS and "class B" in got[1]


def test_profile_gzip():
    facts = served(gzip_profile(PROFILE))
    assert verdict("PROFILE-GZIP", [req(T0), req(T0 + 86400)], facts=facts)[0] is Verdict.PASS
    assert verdict("PROFILE-GZIP", [req(T0), req(T0 + 3600)], facts=facts)[0] is Verdict.FAIL
    assert verdict("PROFILE-GZIP", [req(T0)], facts=served(PROFILE))[0] is Verdict.INCONCLUSIVE


def test_profile_plain_http_judges_the_server():
    clear = verdict("PROFILE-PLAIN-HTTP", [req(T0)], facts=served(PROFILE))
    assert clear[0] is Verdict.FAIL and "in clear" in clear[1]
    gz = verdict("PROFILE-PLAIN-HTTP", [req(T0)], facts=served(gzip_profile(PROFILE)))
    assert gz[0] is Verdict.FAIL
    enc = served(encrypt_profile(PROFILE, KEY))
    assert verdict("PROFILE-PLAIN-HTTP", [req(T0)], facts=enc)[0] is Verdict.PASS
    tls = [req(T0, scheme="https")]
    assert verdict("PROFILE-PLAIN-HTTP", tls, facts=served(PROFILE))[0] is Verdict.INCONCLUSIVE


def test_http_versions():
    chunked = (("Transfer-Encoding", "chunked"),)
    facts = {"served": {PATH: [{"body": PROFILE, "version": "HTTP/1.0"}, {"body": PROFILE}]}}
    good = [req(T0), req(T0 + 86400, rheaders=chunked), req(T0 + 2 * 86400)]
    got = verdict("HTTP-VERSIONS", good, facts=facts)
    assert got[0] is Verdict.PASS and "not exercised" not in got[1]
    bad = [req(T0), req(T0 + 86400, rheaders=chunked), req(T0 + 86400 + 3600)]
    got = verdict("HTTP-VERSIONS", bad, facts=facts)
    assert got[0] is Verdict.FAIL and "chunked" in got[1]


def test_http_post():
    rule = f"[--post a]{RULE}"
    body = b"CP-8831-3PCC 000e08abcdef"
    params = {"Profile_Rule": rule, "GPP_A": "$PN $MA"}
    assert verdict("HTTP-POST", [req(T0, method="POST", body=body)], **params)[0] is Verdict.PASS
    got = verdict("HTTP-POST", [req(T0)], **params)
    assert got[0] is Verdict.FAIL and "not a POST" in got[1]
    got = verdict("HTTP-POST", [req(T0, method="POST", body=b"$PN $MA")], **params)
    assert got[0] is Verdict.FAIL
    assert verdict("HTTP-POST", [req(T0)])[0] is Verdict.SKIPPED
