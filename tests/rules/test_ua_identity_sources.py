"""UA-IDENTITY when its sources name nothing the User-Agent carries, and the pass reason that
says which sources agreed (one source "says", two "say"), with the frames it points at."""

from dataclasses import replace

from harness.observe.events import DhcpExchange
from harness.rules import Verdict
from harness.rules.registry import DeviceIdentity
from harness.spec import load_family
from tests.rules.test_http_rules import verdict
from tests.rules.timelines import DEV, context, ev, http

MPP_UA = "Cisco-CP-8841-3PCC/11.0 (00562b043615)"  # cisco-mpp: product and MAC, no serial


def _stated(family: str, **claims: str):
    ctx = replace(context(), facts={"stated_identity": DeviceIdentity(**claims)})
    return replace(ctx, family=load_family(family))


def _dhcp(mac: str) -> DhcpExchange:
    return DhcpExchange(time=0.1, device=DEV, evidence=ev(), message_type="REQUEST", client_mac=mac)


def test_a_source_naming_only_what_the_user_agent_lacks_is_inconclusive():
    # the 8831's User-Agent names product and serial; the stated identity only a MAC
    first, second = http(1), http(2)
    f = verdict("UA-IDENTITY", [first, second], _stated("cisco-8831-3pcc", mac="000e08abcdef"))
    assert f.verdict is Verdict.INCONCLUSIVE
    assert "the identity stated with --device" in f.why  # the source, by name
    assert "(product, serial)" in f.why  # what the User-Agent carries
    assert f.time == first.time and f.frames == first.evidence.frames


def test_one_agreeing_source_says_two_say():
    one = verdict("UA-IDENTITY", [http(1, ua=MPP_UA)], _stated("cisco-mpp", product="CP-8841-3PCC"))
    assert one.verdict is Verdict.PASS
    assert one.why.endswith("as the identity stated with --device says")
    assert "product=CP-8841-3PCC" in one.why and "all 1 requests" in one.why
    first, second = http(1, ua=MPP_UA), http(2, ua=MPP_UA)
    two = verdict(
        "UA-IDENTITY",
        [_dhcp("00562b043615"), first, second],
        _stated("cisco-mpp", product="CP-8841-3PCC"),
    )
    assert two.verdict is Verdict.PASS
    assert two.why.endswith(
        "as the identity stated with --device and its DHCP requests (chaddr 00562b043615) say"
    )
    assert "product=CP-8841-3PCC, mac=00562b043615" in two.why and "all 2 requests" in two.why
    assert two.time == first.time
    assert set(two.frames) == set(first.evidence.frames) | set(second.evidence.frames)
