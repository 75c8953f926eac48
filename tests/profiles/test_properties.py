"""Property tests: profile rendering/parsing round trips, random bytes, AES and gzip."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.profiles import (
    ProfileError,
    decrypt_profile,
    encrypt_profile,
    gunzip_profile,
    gzip_profile,
    load_profile_bytes,
    parse_profile,
    parse_profile_detailed,
    render_plain_profile,
    render_xml_profile,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: not n.lower().startswith("xml")
)
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or ord(c) >= 0x20
    ),
    max_size=40,
)
access = st.sampled_from(["na", "ro", "rw"])


@SETTINGS
@given(st.dictionaries(names, xml_text, max_size=12), st.data())
def test_xml_round_trip(params: dict[str, str], data: st.DataObject) -> None:
    ua = {n: data.draw(access) for n in params if data.draw(st.booleans())}
    profile = parse_profile_detailed(render_xml_profile(params, ua))
    assert profile.params == params
    assert profile.access == ua


@SETTINGS
@given(st.dictionaries(names, st.text(max_size=40), min_size=1, max_size=12))
def test_plain_round_trip(params: dict[str, str]) -> None:
    assert parse_profile(render_plain_profile(params)) == params


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_profile_error(data: bytes) -> None:
    try:
        parse_profile(data)
    except ProfileError:
        pass


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_only_ever_raises_profile_error(text: str) -> None:
    try:
        parse_profile(text.encode("utf-8"))
    except ProfileError:
        pass


@SETTINGS
@given(
    st.binary(max_size=300), st.text(min_size=1, max_size=30), st.sampled_from(["md5", "sha256"])
)
def test_aes_round_trip(data: bytes, key: str, digest: str) -> None:
    enc = encrypt_profile(data, key, digest)
    assert enc.startswith(b"Salted__") and len(enc) % 16 == 0
    assert decrypt_profile(enc, key, digest) == data


@SETTINGS
@given(st.binary(max_size=300), st.text(min_size=1, max_size=10))
def test_decrypting_garbage_only_raises_profile_error(data: bytes, key: str) -> None:
    try:
        load_profile_bytes(b"Salted__" + data, key)
    except ProfileError:
        pass


@SETTINGS
@given(st.binary(max_size=2000))
def test_gzip_round_trip(data: bytes) -> None:
    assert gunzip_profile(gzip_profile(data)) == data
