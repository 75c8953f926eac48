"""Basic (RFC 7617) and Digest (RFC 7616) verification, without sockets."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.endpoints.http_auth import (
    BasicAuth,
    DigestAuth,
    digest_response,
    make_authenticator,
    parse_credentials,
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_accepts_right_and_refuses_wrong_credentials():
    auth = BasicAuth("admin", "s3cr:et", realm="prov")
    assert auth.challenges() == ['Basic realm="prov", charset="UTF-8"']
    assert auth.verify(basic("admin", "s3cr:et"), "GET", "/").ok
    assert (
        auth.verify(basic("admin", "nope"), "GET", "/").reason == "wrong password for user 'admin'"
    )
    assert auth.verify(basic("eve", "s3cr:et"), "GET", "/").reason == "unknown user 'eve'"
    assert auth.verify(None, "GET", "/").reason == "no credentials"
    assert "not valid base64" in auth.verify("Basic ***", "GET", "/").reason
    assert "expected Basic" in auth.verify('Digest username="a"', "GET", "/").reason


def _params(challenge: str) -> dict[str, str]:
    _, _, p = parse_credentials(challenge)
    return p


def _answer(challenge: str, user: str, password: str, *, uri="/x", method="GET", nc="00000001"):
    p = _params(challenge)
    response = digest_response(
        algorithm=p["algorithm"],
        user=user,
        realm=p["realm"],
        password=password,
        method=method,
        uri=uri,
        nonce=p["nonce"],
        nc=nc,
        cnonce="abc",
        qop="auth",
    )
    return (
        f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{uri}", '
        f'algorithm={p["algorithm"]}, response="{response}", qop=auth, nc={nc}, cnonce="abc", '
        f'opaque="{p["opaque"]}"'
    )


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
def test_digest_round_trip(algorithm):
    auth = DigestAuth("u", "p", algorithms=(algorithm,))
    (challenge,) = auth.challenges()
    assert f"algorithm={algorithm}" in challenge and 'qop="auth"' in challenge
    assert auth.verify(_answer(challenge, "u", "p"), "GET", "/x").ok
    wrong = auth.verify(_answer(challenge, "u", "bad"), "GET", "/x")
    assert not wrong.ok and "digest mismatch" in wrong.reason


def test_digest_refuses_replay_unknown_nonce_and_other_uri():
    auth = DigestAuth("u", "p")
    (challenge,) = auth.challenges()
    answer = _answer(challenge, "u", "p")
    assert auth.verify(answer, "GET", "/x").ok
    replay = auth.verify(answer, "GET", "/x")
    assert not replay.ok and replay.stale and "replayed" in replay.reason
    other = auth.verify(_answer(challenge, "u", "p", uri="/y", nc="00000002"), "GET", "/x")
    assert "differs from the target" in other.reason
    foreign = DigestAuth("u", "p")
    (foreign_challenge,) = foreign.challenges()
    stale = auth.verify(_answer(foreign_challenge, "u", "p"), "GET", "/x")
    assert not stale.ok and stale.stale


def test_digest_known_vector_rfc7616_md5():
    # RFC 7616 section 3.9.1 example (MD5)
    got = digest_response(
        algorithm="MD5",
        user="Mufasa",
        realm="http-auth@example.org",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        qop="auth",
    )
    assert got == "8ca523f5e9506fed4657c9700eebdbec"


def test_make_authenticator_refuses_unknown_schemes():
    with pytest.raises(ValueError, match="unknown auth scheme"):
        make_authenticator("ntlm", "u", "p")
    with pytest.raises(ValueError, match="unsupported digest algorithm"):
        make_authenticator("digest", "u", "p", algorithm="SHA-1")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_credentials_text_is_refused_without_crashing(text):
    for auth in (BasicAuth("u", "p"), DigestAuth("u", "p")):
        result = auth.verify(text, "GET", "/")
        assert result.ok is False and result.reason
