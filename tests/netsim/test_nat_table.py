"""The NAT kinds table and its nftables text (pure: no root needed)."""

from __future__ import annotations

import pytest

from harness.netsim import names
from harness.netsim.nat import NAT_KINDS, UnknownNatKind, nat_kind, render_router_table


def render(kind: str, **kw) -> str:
    return render_router_table(
        "hnt", nat_kind(kind), lan_if="br-lan", wan_if="br-wan", **{"tftp_helper": False, **kw}
    )


def test_every_required_kind_is_named() -> None:
    assert {"none", "port-restricted", "symmetric", "full-cone"} <= set(NAT_KINDS)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownNatKind, match="symmetric"):
        nat_kind("cone-ish")


@pytest.mark.parametrize("kind", sorted(NAT_KINDS))
def test_translation_iff_masquerade(kind: str) -> None:
    text = render(kind)
    assert ("masquerade" in text) == NAT_KINDS[kind].translated


def test_symmetric_randomises_ports_and_full_cone_maps_back() -> None:
    assert "masquerade fully-random" in render("symmetric")
    cone = render("full-cone")
    assert "dnat to udp dport map @cone" in cone
    assert "update @cone" in cone
    assert "map @cone" not in render("port-restricted")


@pytest.mark.parametrize("helper", [True, False])
def test_tftp_helper_only_when_asked(helper: bool) -> None:
    assert ('ct helper set "tftp"' in render("symmetric", tftp_helper=helper)) == helper


def test_loss_rule_and_bad_percentage() -> None:
    assert 'iifname "br-wan" numgen random mod 100 < 30 counter drop' in render(
        "none", loss={"br-wan": 30}
    )
    assert "numgen" not in render("none", loss={"br-wan": 0})
    with pytest.raises(ValueError, match="percentage"):
        render("none", loss={"br-wan": 130})


def test_names_carry_the_run_prefix() -> None:
    p = names.new_topology_prefix()
    assert p.startswith(names.run_prefix()) and p.startswith("hn")
    assert names.owned_by_pid(names.namespace(p, "router")) is not None
    assert names.table(p).startswith("hn") and "-" not in names.table(p)
    assert names.new_topology_prefix("lab1") == "hn-lab1-"
    with pytest.raises(ValueError, match="topology name"):
        names.new_topology_prefix("bad name;rm")
