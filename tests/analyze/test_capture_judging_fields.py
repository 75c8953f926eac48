"""The response facts of HttpExchange: one classifier, filled by the live server and the
dissector, and judged by the Table 3-1 / profile rules without any `served` fact."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.analyze.http import HttpConnection
from harness.endpoints.http import HttpServer
from harness.observe.events import DeviceKey, Evidence, HttpExchange
from harness.observe.timeline import build_timelines
from harness.profiles import (
    classify_profile_body,
    encrypt_profile,
    gzip_profile,
    render_xml_profile,
)
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec import load_family

IP = "192.0.2.10"
SERVER = ("198.51.100.5", 80)
PRODUCT, SERIAL, MAC = "CP-8831-3PCC", "88012BA01234", "000e08abcdef"
UA = f"cisco/{PRODUCT} ({SERIAL})"
DEV = DeviceKey(ip=IP)
PATH = "/p.cfg"
RULE = f"http://{SERVER[0]}{PATH}"
PROFILE = render_xml_profile({"GPP_P": "x"})
KEY = "k3y"
T0 = 1_700_000_000.0


def ev() -> Evidence:
    return Evidence("test", frames=(1,))


# -- the classifier --------------------------------------------------------------------
@pytest.mark.parametrize(
    "body,key,kind,valid,gzipped",
    [
        (PROFILE, None, "xml-profile", True, False),
        (b'GPP_P "x" ;\n', None, "plain-profile", True, False),
        (gzip_profile(PROFILE), None, "gzip", True, True),
        (gzip_profile(b"\x00junk"), None, "gzip", False, True),
        (encrypt_profile(PROFILE, KEY), None, "aes-openssl", None, None),
        (encrypt_profile(PROFILE, KEY), KEY, "aes-openssl", True, False),
        (encrypt_profile(gzip_profile(PROFILE), KEY, "sha256"), KEY, "aes-openssl", True, True),
        (encrypt_profile(PROFILE, "other"), KEY, "aes-openssl", False, None),
        (b"\x00\x01 this is not a profile \xff\xfe", None, "other", False, False),
        (b"<flat-profile><A>", None, "xml-profile", False, False),
        (b"", None, "other", False, False),
    ],
)
def test_classify(body, key, kind, valid, gzipped):
    c = classify_profile_body(body, key)
    assert (c.content_kind, c.valid, c.gzipped) == (kind, valid, gzipped)
    assert len(c.sha256) == 64
    assert (c.problem == "") is (valid is not False)


def test_classify_with_one_digest_only_and_a_partial_body():
    body = encrypt_profile(PROFILE, KEY, "sha256")
    assert classify_profile_body(body, KEY, "md5").valid is False
    assert classify_profile_body(body, KEY, "sha256").valid is True
    part = classify_profile_body(PROFILE[:10], complete=False)
    assert (part.content_kind, part.valid, part.sha256) == ("xml-profile", None, None)


@given(st.binary(max_size=200))
def test_classify_never_raises(data):
    c = classify_profile_body(data, KEY)
    assert c.content_kind in ("xml-profile", "plain-profile", "gzip", "aes-openssl", "other")


# -- the rules on the fields alone ---------------------------------------------------------
def answered(t, body, *, version="HTTP/1.1", chunked=False, key=None, status=200):
    c = classify_profile_body(body, key)
    return HttpExchange(
        time=t, client=(IP, 40000), server=SERVER, device=DEV, evidence=ev(), method="GET",
        url=PATH, user_agent=UA, status=status, response_version=version,
        response_chunked=chunked, response_body_sha256=c.sha256,
        response_content_kind=c.content_kind, profile_valid=c.valid, profile_gzipped=c.gzipped,
    )  # fmt: skip


def verdict(req_id, observations, facts=None, **params):
    params = {"Profile_Rule": RULE, "Resync_Periodic": "86400", **params}
    ident = DeviceIdentity(product=PRODUCT, serial=SERIAL, mac=MAC)
    ctx = RuleContext(load_family("cisco-8831-3pcc"), ident, params, facts or {})
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    return f.verdict, f.why


def test_corrupt_from_the_fields():
    junk = b"\x00junk"
    on_time = [answered(T0, junk), answered(T0 + 3600, PROFILE), answered(T0 + 90000, PROFILE)]
    assert verdict("HTTP-CORRUPT", on_time)[0] is Verdict.PASS
    taken = verdict("HTTP-CORRUPT", [answered(T0, junk), answered(T0 + 86400, PROFILE)])
    assert taken[0] is Verdict.FAIL and "not a valid profile" in taken[1]


def test_fields_win_over_the_served_fact():
    facts = {"served": {PATH: [{"body": PROFILE}]}}  # the fact says valid, the wire says junk
    obs = [answered(T0, b"\x00junk"), answered(T0 + 86400, PROFILE)]
    assert verdict("HTTP-CORRUPT", obs, facts)[0] is Verdict.FAIL


def test_the_fact_fills_what_the_fields_do_not_know():
    body = encrypt_profile(PROFILE, KEY)
    rule = f"[--key {KEY}]{RULE}"
    obs = [answered(T0, body), answered(T0 + 86400, body)]  # classified without the key
    unknown = verdict("PROFILE-AES", obs, Profile_Rule=rule)
    assert unknown[0] is Verdict.INCONCLUSIVE and "--key" in unknown[1]
    facts = {"served": {PATH: [{"body": body}]}}
    assert verdict("PROFILE-AES", obs, facts, Profile_Rule=rule)[0] is Verdict.PASS


def test_profile_aes_from_the_fields():
    body = encrypt_profile(PROFILE, KEY)
    rule = f"[--key {KEY}]{RULE}"
    read = [answered(T0, body, key=KEY), answered(T0 + 86400, body, key=KEY)]
    assert verdict("PROFILE-AES", read, Profile_Rule=rule)[0] is Verdict.PASS
    early = [answered(T0, body, key=KEY), answered(T0 + 3600, body, key=KEY)]
    assert verdict("PROFILE-AES", early, Profile_Rule=rule)[0] is Verdict.FAIL
    # the rule has no key: the device cannot read an encrypted file (class B)
    no_key = verdict("PROFILE-AES", early)
    assert no_key[0] is Verdict.PASS and "class B" in no_key[1]


def test_gzip_versions_and_plain_http_from_the_fields():
    gz = gzip_profile(PROFILE)
    assert verdict("PROFILE-GZIP", [answered(T0, gz), answered(T0 + 86400, gz)])[0] is (
        Verdict.PASS
    )
    assert verdict("PROFILE-GZIP", [answered(T0, gz), answered(T0 + 3600, gz)])[0] is Verdict.FAIL
    good = [
        answered(T0, PROFILE, version="HTTP/1.0"),
        answered(T0 + 86400, PROFILE, chunked=True),
        answered(T0 + 2 * 86400, PROFILE),
    ]
    got = verdict("HTTP-VERSIONS", good)
    assert got[0] is Verdict.PASS and "not exercised" not in got[1]
    bad = [answered(T0, PROFILE, chunked=True), answered(T0 + 3600, PROFILE)]
    assert verdict("HTTP-VERSIONS", bad)[0] is Verdict.FAIL
    assert verdict("PROFILE-PLAIN-HTTP", [answered(T0, PROFILE)])[0] is Verdict.FAIL
    enc = [answered(T0, encrypt_profile(PROFILE, KEY))]
    assert verdict("PROFILE-PLAIN-HTTP", enc)[0] is Verdict.PASS


def test_a_firmware_image_is_not_judged_as_a_profile():
    image = gzip_profile(bytes(range(256)) * 4)  # looks like a (broken) gzip profile
    fw = dataclasses.replace(answered(T0, image), url="/fw.loads")
    obs = [fw, answered(T0 + 86400, PROFILE)]
    firmware = verdict("HTTP-CORRUPT", obs, Upgrade_Rule="http://198.51.100.5/fw.loads")
    assert firmware[0] is Verdict.INCONCLUSIVE
    assert verdict("HTTP-CORRUPT", obs)[0] is Verdict.FAIL  # unknown: it looks like a profile


# -- the dissector and the live server fill them ---------------------------------------------
def dissect(response: bytes, key: str | None = None) -> HttpExchange:
    got: list[HttpExchange] = []
    conn = HttpConnection(
        (IP, 40000), SERVER, DEV, "capture:x", lambda o, b: got.append(o), lambda f, w: None,
        profile_key=key,
    )  # fmt: skip
    conn.client_data(f"GET {PATH} HTTP/1.1\r\nHost: h\r\n\r\n".encode(), 1, T0)
    conn.server_data(response, 2, T0 + 0.1)
    conn.close(T0 + 0.2)
    (ex,) = got
    return ex


def test_dissector_fills_version_chunking_and_body_facts():
    body = encrypt_profile(PROFILE, KEY)
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 40]), body[i : i + 40]) for i in range(0, len(body), 40)
    )
    resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    ex = dissect(resp, KEY)
    assert (ex.response_version, ex.response_chunked) == ("HTTP/1.1", True)
    assert (ex.response_content_kind, ex.profile_valid) == ("aes-openssl", True)
    assert ex.response_body_sha256 == classify_profile_body(body).sha256
    old = dissect(b"HTTP/1.0 200 OK\r\n\r\n" + PROFILE)  # body until close
    assert (old.response_version, old.response_chunked, old.profile_valid) == (
        "HTTP/1.0",
        False,
        True,
    )
    cut = dissect(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n" + PROFILE)
    assert (cut.response_content_kind, cut.profile_valid, cut.response_body_sha256) == (
        "xml-profile",
        None,
        None,
    )
    missing = dissect(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
    assert missing.response_content_kind is None and missing.response_version == "HTTP/1.1"


def test_live_server_fills_them_for_curl():
    with HttpServer() as server:
        server.profile_key = KEY
        body = encrypt_profile(gzip_profile(PROFILE), KEY)
        server.expect(PATH).respond(200, body, chunked=True)
        server.expect("/plain.cfg").respond(200, PROFILE, http_version="HTTP/1.0")
        for path in (PATH, "/plain.cfg"):
            subprocess.run(
                ["curl", "-s", "-o", "/dev/null", server.url_for(path)], check=True, timeout=10
            )
        a, b = server.wait_for_requests(2)
    assert (a.response_chunked, a.response_content_kind, a.profile_valid, a.profile_gzipped) == (
        True,
        "aes-openssl",
        True,
        True,
    )
    assert a.response_body_sha256 == classify_profile_body(body).sha256
    assert (b.response_version, b.response_content_kind, b.profile_valid) == (
        "HTTP/1.0",
        "xml-profile",
        True,
    )
