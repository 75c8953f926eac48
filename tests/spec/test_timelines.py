"""Device timelines: strong keys (serial, MAC) name devices; IP only attaches IP-only records."""

from harness.observe import build_timelines
from harness.observe.events import DeviceKey, HttpExchange, SyslogMessage


def http(t, ip, serial=None, mac=None):
    return HttpExchange(
        time=t, device=DeviceKey(ip=ip, serial=serial, mac=mac), method="GET", url="/x"
    )


def syslog(t, ip):
    return SyslogMessage(time=t, device=DeviceKey(ip=ip), message="m")


def ids(timelines):
    return sorted((t.id, len(t.observations)) for t in timelines)


def test_two_phones_behind_one_address_stay_two_devices():
    obs = [http(10, "203.0.113.9", "SN1"), syslog(10.1, "203.0.113.9"),
           http(500, "203.0.113.9", "SN2"), syslog(500.1, "203.0.113.9")]  # fmt: skip
    timelines = build_timelines(obs)
    assert ids(timelines) == [("SN1", 2), ("SN2", 2)]


def test_serial_and_mac_seen_together_are_one_device():
    obs = [http(1, "192.0.2.10", "SN1", "000e08aabbcc"), http(2, "192.0.2.11", mac="000e08aabbcc")]
    (tl,) = build_timelines(obs)
    assert tl.id == "SN1" and tl.device.mac == "000e08aabbcc" and len(tl.observations) == 2


def test_ip_only_records_form_a_device_of_their_own():
    timelines = build_timelines(
        [syslog(1, "192.0.2.10"), syslog(2, "192.0.2.10"), syslog(3, "192.0.2.11")]
    )
    assert ids(timelines) == [("192.0.2.10", 2), ("192.0.2.11", 1)]


def test_records_without_any_key_are_one_unknown_timeline():
    (tl,) = build_timelines(
        [SyslogMessage(time=1, message="a"), SyslogMessage(time=2, message="b")]
    )
    assert tl.id == "unknown" and len(tl.observations) == 2


# -- identity claims of other sources (issue 10, item 5) ---------------------------------
def tls(t, ip, serial, port=50000, mac=None):
    from harness.observe.events import TlsHandshake

    return TlsHandshake(
        time=t,
        client=(ip, port),
        device=DeviceKey(ip=ip, serial=serial, mac=mac, product="CP-8831-3PCC"),
        client_cert_subject={"OU": "CP-8831-3PCC", "L": serial},
    )


def test_certificate_disagreeing_with_the_user_agent_is_the_same_device():
    obs = [tls(1, "192.0.2.10", "SN9999"), http(2, "192.0.2.10", "SN1234")]
    (tl,) = build_timelines(obs)
    assert tl.id == "SN1234" and len(tl.observations) == 2


def test_behind_a_nat_a_certificate_joins_the_phone_nearest_in_time():
    ip = "203.0.113.9"
    obs = [http(10, ip, "SN1"), tls(11, ip, "SN-bad"), http(500, ip, "SN2"), tls(501, ip, "SN2")]
    timelines = build_timelines(obs)
    assert ids(timelines) == [("SN1", 2), ("SN2", 2)]


def test_a_router_mac_shared_by_phones_behind_a_nat_merges_nobody():
    ip, router = "203.0.113.9", "02000000000a"
    obs = [http(10, ip, "SN1", router), http(500, ip, "SN2", router), syslog(501, ip)]
    assert ids(build_timelines(obs)) == [("SN1", 1), ("SN2", 2)]


def test_a_dhcp_mac_joins_the_phone_whose_requests_carry_it():
    from harness.observe.events import DhcpExchange

    dhcp = DhcpExchange(time=0.5, device=DeviceKey(mac="000e08aabbcc"), message_type="DISCOVER")
    obs = [dhcp, http(1, "192.0.2.10", "SN1", "000e08aabbcc")]
    (tl,) = build_timelines(obs)
    assert tl.id == "SN1" and len(tl.observations) == 2


def test_certificates_without_any_user_agent_form_their_own_device():
    (tl,) = build_timelines([tls(1, "192.0.2.10", "SN7"), syslog(2, "192.0.2.10")])
    assert tl.id == "SN7" and len(tl.observations) == 2
