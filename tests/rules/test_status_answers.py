"""What a 200 answer carried, as the Table 3-1 rules read it (status_rules.answer_of).

The exchange's own fields (filled by the live endpoint and by the pcap analyzer) win;
the `served` fact fills only what the exchange does not know. A profile is readable
under the profile rule that asked for it: with `--key` it must be AES under that key
(with the family's key derivation), without one it must not be encrypted. Through
`evaluate`, where a wrong reading flips a verdict.
"""

from __future__ import annotations

from harness.profiles import encrypt_profile, gzip_profile
from harness.rules import Verdict
from tests.rules.test_status_rules_branches import (
    JUNK,
    MOVED,
    PATH,
    PROFILE,
    SERVER,
    T0,
    judge,
    points_at,
    req,
    served,
)

KEY = "k3y"
KEYED = f"[--key {KEY}]http://{SERVER[0]}{PATH}"


def test_the_exchange_s_readability_wins_over_the_served_body():
    obs = [req(T0, profile_valid=True), req(T0 + 86400)]
    assert judge("HTTP-200", obs, facts=served(JUNK)).verdict is Verdict.PASS
    assert judge("HTTP-CORRUPT", obs, facts=served(JUNK)).verdict is Verdict.INCONCLUSIVE


def test_what_the_exchange_does_not_know_comes_from_the_served_body():
    # the kind and compression known, the readability not: read from the body
    known = dict(response_content_kind="xml-profile", profile_gzipped=False)
    obs = [req(T0, **known), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK))
    assert f.verdict is Verdict.PASS and points_at(f, obs[0]), f
    # readability and compression known, the kind not: an AES body and no key in the rule
    known = dict(profile_valid=True, profile_gzipped=False)
    obs = [req(T0, **known), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(encrypt_profile(PROFILE, KEY, "md5")))
    assert f.verdict is Verdict.PASS, f


def test_compression_unknown_to_the_exchange_is_read_from_the_body():
    known = dict(response_content_kind="xml-profile", profile_valid=True)
    obs = [req(T0, **known), req(T0 + 86400)]
    f = judge("PROFILE-GZIP", obs, facts=served(gzip_profile(PROFILE)))
    assert f.verdict is Verdict.PASS and f.why.startswith("a gzip-compressed profile: "), f
    # the exchange says it was not compressed: that wins
    obs = [req(T0, profile_gzipped=False, **known), req(T0 + 86400)]
    f = judge("PROFILE-GZIP", obs, facts=served(gzip_profile(PROFILE)))
    assert f.verdict is Verdict.INCONCLUSIVE, f


def test_a_profile_encrypted_with_another_key_derivation_is_unreadable():
    # the 8831 derives the AES key with md5: a sha256 file is not readable by it
    body = encrypt_profile(PROFILE, KEY, "sha256")
    obs = [req(T0), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(body), Profile_Rule=KEYED)
    assert f.verdict is Verdict.PASS and "not a valid profile" in f.why, f
    body = encrypt_profile(PROFILE, KEY, "md5")
    f = judge("HTTP-CORRUPT", obs, facts=served(body), Profile_Rule=KEYED)
    assert f.verdict is Verdict.INCONCLUSIVE, f


def test_the_key_comes_from_the_rule_that_asked_for_the_file():
    body = encrypt_profile(PROFILE, KEY, "md5")
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": f"[--key {KEY}]http://{SERVER[0]}/b.cfg",
    }
    obs = [req(T0, path="/b.cfg"), req(T0 + 86400, path="/b.cfg")]
    f = judge("PROFILE-AES", obs, facts=served(body, path="/b.cfg"), **rules)
    assert f.verdict is Verdict.PASS and points_at(f, obs[0]), f


def test_a_redirected_file_is_read_under_the_rule_that_was_redirected():
    body = encrypt_profile(PROFILE, KEY, "md5")
    rules = {
        "Profile_Rule": f"http://{SERVER[0]}/a.cfg",
        "Profile_Rule_B": KEYED,
    }
    obs = [
        req(T0, 302, rheaders=MOVED),
        req(T0 + 0.2, path="/moved.cfg"),
        req(T0 + 0.2 + 86400, path="/a.cfg"),
    ]
    f = judge("PROFILE-AES", obs, facts=served(body, path="/moved.cfg"), **rules)
    assert f.verdict is Verdict.PASS and points_at(f, obs[1]), f


def test_an_answer_no_rule_asked_for_is_not_held_to_a_rule_s_key():
    # an AES file on a path no rule names: whether the device could read it is unknown
    body = encrypt_profile(PROFILE, KEY, "md5")
    obs = [req(T0, path="/other.cfg"), req(T0 + 86400)]
    f = judge("HTTP-CORRUPT", obs, facts=served(body, path="/other.cfg"))
    assert f.verdict is Verdict.INCONCLUSIVE, f
    f = judge("PROFILE-AES", obs, facts=served(body, path="/other.cfg"))
    assert f.verdict is Verdict.INCONCLUSIVE and "readability is unknown" in f.why, f


def test_answers_are_read_even_with_no_profile_rule():
    obs = [req(T0), req(T0 + 6)]
    f = judge("HTTP-CORRUPT", obs, facts=served(JUNK), Profile_Rule="")
    assert f.verdict is Verdict.PASS, f


def test_a_non_profile_kind_on_a_path_no_rule_names_is_not_a_profile():
    other = dict(response_content_kind="other", profile_valid=False)
    obs = [req(T0, path="/logo.png", **other), req(T0 + 86400)]
    assert judge("HTTP-CORRUPT", obs).verdict is Verdict.INCONCLUSIVE
    assert judge("HTTP-200", obs).verdict is Verdict.PASS
    # the same body on the rule's path is a broken profile
    obs = [req(T0, **other), req(T0 + 6)]
    assert judge("HTTP-CORRUPT", obs).verdict is Verdict.PASS


def test_outcomes_are_kept_apart_per_context_inside_one_evaluation():
    from harness.observe.timeline import build_timelines
    from harness.rules.attempts import shared_attempts
    from harness.rules.status_rules import outcomes
    from tests.rules.timelines import context

    (tl,) = build_timelines([req(T0, 404), req(T0 + 6)])
    fails = context(Profile_Rule=f"http://{SERVER[0]}{PATH}")
    found = context(Profile_Rule=f"http://{SERVER[0]}{PATH}", Resync_Fails_On_FNF="No")
    with shared_attempts(tl):
        assert outcomes(tl, fails)[0].klass.value == "B"
        assert outcomes(tl, found)[0].klass.value == "A"
        first, again = outcomes(tl, fails), outcomes(tl, fails)
        assert all(a is b for a, b in zip(first, again, strict=True))


def test_rule_targets_answers_the_first_question(monkeypatch):
    from harness.rules import status_rules
    from tests.rules.timelines import context

    monkeypatch.setattr(status_rules, "_last_targets", None)
    (target,) = status_rules.rule_targets(context(Profile_Rule=f"http://{SERVER[0]}{PATH}"))
    assert target.path == PATH
