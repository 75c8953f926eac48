"""XML flat profiles and the plain form: the guides' rules, and clear errors."""

from __future__ import annotations

import pytest

from harness.profiles import (
    ProfileError,
    gzip_profile,
    load_profile_bytes,
    parse_profile,
    parse_profile_detailed,
    render_plain_profile,
    render_xml_profile,
)


def test_nested_flat_profile_ua_last_wins_unknown_kept() -> None:
    doc = b"""<?xml version="1.0"?>
    <device>
      <flat-profile>
        <Resync_Periodic ua="rw">30</Resync_Periodic>
        <User_ID_1_ ua="na">4001</User_ID_1_>
        <Made_Up_Name>kept</Made_Up_Name>
        <resync_periodic>lower-case is another name</resync_periodic>
        <Resync_Periodic>60</Resync_Periodic>
        <Empty/>
      </flat-profile>
    </device>"""
    profile = parse_profile_detailed(doc)
    assert profile.format == "xml"
    assert profile.params == {
        "User_ID_1_": "4001",
        "Made_Up_Name": "kept",
        "resync_periodic": "lower-case is another name",
        "Resync_Periodic": "60",
        "Empty": "",
    }
    assert profile.access == {"Resync_Periodic": "rw", "User_ID_1_": "na"}


def test_entities_and_cdata_are_text() -> None:
    doc = b"<flat-profile><A>a &amp; b &lt;c&gt;</A><B><![CDATA[x<y]]></B></flat-profile>"
    assert parse_profile(doc) == {"A": "a & b <c>", "B": "x<y"}


def test_plain_form_marks_comments_and_index_names() -> None:
    text = b"""# provisioning for one unit
    Feature_Enable ! "Enable" ;   # user read-write
    Another_Parameter ? "3600" ;  # read-only
    Hidden_Parameter "abc#123" ;
    Some_Entry ! ;                # access only, value unchanged
    Line_Enable[1] "Yes" ;
    Quoted "say \\"hi\\"" ;
    Hidden_Parameter "again" ;
    """
    profile = parse_profile_detailed(text)
    assert profile.format == "plain"
    assert profile.params == {
        "Feature_Enable": "Enable",
        "Another_Parameter": "3600",
        "Line_Enable_1_": "Yes",
        "Quoted": 'say "hi"',
        "Hidden_Parameter": "again",
    }
    assert profile.access["Feature_Enable"] == "rw"
    assert profile.access["Another_Parameter"] == "ro"
    assert profile.access["Hidden_Parameter"] == "na"
    assert profile.access["Some_Entry"] == "rw"
    assert "Some_Entry" not in profile.params


@pytest.mark.requirement("PROFILE-GZIP")
def test_gzip_detected_by_header_in_both_forms() -> None:
    params = {"A": "1", "B": "two words"}
    for body in (render_xml_profile(params), render_plain_profile(params)):
        assert parse_profile(gzip_profile(body)) == params


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<flat-profile><A>1</A>", "line 1"),
        (b"<device><A>1</A></device>", "no <flat-profile>"),
        (b"<flat-profile><A ua='xx'>1</A></flat-profile>", "user access"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><flat-profile><A>&a;</A></flat-profile>', "entity"),
        (b'A "1"\nB "2"', "line 2"),
        (b'A "1', "never closed"),
        (b"# only a comment\n", "no parameter"),
        (b"\xff\xfe\x00", "byte 0"),
        (b"Salted__12345678" + b"\x00" * 16, "key is needed"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_invalid_profiles_say_where(data: bytes, where: str) -> None:
    with pytest.raises(ProfileError, match=where):
        parse_profile(data)


@pytest.mark.requirement("PROFILE-AES")
def test_key_given_but_profile_not_encrypted() -> None:
    with pytest.raises(ProfileError, match="not an encrypted profile"):
        load_profile_bytes(render_xml_profile({"A": "1"}), key="k")


def test_render_refuses_names_and_values_xml_cannot_hold() -> None:
    with pytest.raises(ProfileError, match="element name"):
        render_xml_profile({"1bad": "x"})
    with pytest.raises(ProfileError, match="cannot appear"):
        render_xml_profile({"A": "\x00"})
