"""The simulated phone in virtual time against real servers nobody here wrote (nginx, tftpd-hpa,
dnsmasq): Table 3-1 rows over the wire, retry delays, DNS failover, TFTP."""

from __future__ import annotations

import gzip

import pytest

from harness.fixtures.device import access_log

PROFILE = (
    b"<flat-profile><Resync_Periodic>7200</Resync_Periodic><GPP_A>hello</GPP_A></flat-profile>"
)

LOCATIONS = """
location = /moved.cfg { return 301 /phone.cfg; }
location = /found.cfg { return 302 /phone.cfg; }
location = /other3xx.cfg { return 307 /phone.cfg; }
location = /forbidden.cfg { return 403; }
location = /broken.cfg { return 500; }
location = /unavail.cfg { return 503; }
location = /teapot.cfg { return 418; }
location = /secret.cfg { auth_basic "prov"; auth_basic_user_file AUTHFILE; }
location = /chunked.cfg { gzip off; chunked_transfer_encoding on; }
"""


@pytest.fixture
def site(nginx_site, tmp_path):
    htpasswd = tmp_path / "htpasswd"
    # user "phone", password "secret" (apr1 hash made by openssl passwd)
    import subprocess

    hashed = subprocess.run(
        ["openssl", "passwd", "-apr1", "secret"], capture_output=True, text=True, check=True
    ).stdout.strip()
    htpasswd.write_text(f"phone:{hashed}\n")
    s = nginx_site(LOCATIONS.replace("AUTHFILE", str(htpasswd)))
    (s.root / "phone.cfg").write_bytes(PROFILE)
    (s.root / "secret.cfg").write_bytes(PROFILE)
    (s.root / "corrupt.cfg").write_bytes(b"\x00\x01 not a profile <<<")
    (s.root / "zipped.cfg").write_bytes(gzip.compress(PROFILE))
    return s


@pytest.mark.parametrize(
    "path, klass, outcome",
    [
        ("/phone.cfg", "A", "200"),
        ("/moved.cfg", "A", "200"),
        ("/found.cfg", "A", "200"),
        ("/other3xx.cfg", "C", "3xx"),
        ("/forbidden.cfg", "C", "403"),
        ("/missing.cfg", "B", "404"),
        ("/teapot.cfg", "C", "4xx"),
        ("/broken.cfg", "C", "500"),
        ("/unavail.cfg", "C", "503"),
        ("/corrupt.cfg", "B", "corrupt"),
        ("/zipped.cfg", "A", "200"),
        ("/secret.cfg", "C", "401"),
    ],
)
async def test_table_3_1_rows_against_nginx(sim_phone, site, path, klass, outcome):
    phone = sim_phone(parameters={"Profile_Rule": f"{site.url}{path}"})
    assert await phone.run_until(attempts=1, timeout_virtual_seconds=600)
    attempt = phone.resync_attempts[0]
    assert (attempt.action_class, attempt.outcome) == (klass, outcome), attempt
    if klass == "A":
        assert phone.params["GPP_A"] == "hello"
        assert attempt.next_delay is not None and 7200 <= attempt.next_delay <= 7240
    else:
        assert attempt.next_delay == 3600.0


async def test_401_answered_with_basic_credentials(sim_phone, site):
    rule = f"[--uid phone --pwd secret]{site.url}/secret.cfg"
    phone = sim_phone(parameters={"Profile_Rule": rule})
    assert await phone.run_until(attempts=1)
    assert phone.resync_attempts[0].action_class == "A"
    statuses = [r.status for _, _, r in phone.fetches]
    assert statuses == [401, 200]


async def test_wrong_password_retried_twice_then_class_c(sim_phone, site):
    rule = f"[--uid phone --pwd wrong]{site.url}/secret.cfg"
    phone = sim_phone(parameters={"Profile_Rule": rule})
    assert await phone.run_until(attempts=1)
    assert [r.status for _, _, r in phone.fetches] == [401, 401, 401]
    assert phone.resync_attempts[0].action_class == "C"


async def test_three_attempts_of_hour_long_delays_in_virtual_time(sim_phone, site):
    phone = sim_phone(parameters={"Profile_Rule": f"{site.url}/missing.cfg"})
    start = phone.clock.now()
    assert await phone.run_until(attempts=3, timeout_virtual_seconds=4 * 3600)
    times = [a.at for a in phone.resync_attempts]
    assert times[1] - times[0] == pytest.approx(3600, abs=5)
    assert times[2] - times[1] == pytest.approx(3600, abs=5)
    assert times[0] - start <= 40 + 5  # Resync_Random_Delay 2 x 20 s at power-up
    assert len([line for line in access_log(site, at_least=3) if "missing.cfg" in line]) == 3


async def test_user_agent_and_post_body_reach_nginx(sim_phone, nginx_site):
    s = nginx_site(
        'location = /post.cfg { return 200 "<flat-profile/>"; }\n'
        "log_format ua '$request $http_user_agent';\n".replace("log_format", "#")
    )
    phone = sim_phone(parameters={"Profile_Rule": f"[--post a]{s.url}/post.cfg", "GPP_A": "sn=$SN"})
    assert await phone.run_until(attempts=1)
    _, fetch, result = phone.fetches[0]
    assert fetch.method == "POST" and fetch.body == b"sn=SIM00000001"
    assert result.status == 200
    line = access_log(s)[-1]
    assert '"POST /post.cfg HTTP/1.1"' in line and "cisco/CP-8831-3PCC (SIM00000001)" in line


async def test_tftp_default_rule_from_dhcp_option_66(sim_phone, tftpd_hpa):
    (tftpd_hpa.root / "CP-8831-3PCC.cfg").write_bytes(PROFILE)
    phone = sim_phone(dhcp_tftp_server=f"127.0.0.1:{tftpd_hpa.port}")
    assert await phone.run_until(attempts=1)
    a = phone.resync_attempts[0]
    assert (a.action_class, a.outcome) == ("A", "complete")
    assert phone.params["Resync_Periodic"] == "7200"


async def test_tftp_missing_file_is_class_b(sim_phone, tftpd_hpa):
    phone = sim_phone(parameters={"Profile_Rule": f"tftp://127.0.0.1:{tftpd_hpa.port}/nope.cfg"})
    assert await phone.run_until(attempts=1)
    assert phone.resync_attempts[0].action_class == "B"


async def test_dns_failover_to_the_second_a_record(sim_phone, nginx_site, dnsmasq_dns):
    s = nginx_site()
    (s.root / "phone.cfg").write_bytes(PROFILE)
    # 127.0.0.2 has nothing listening on nginx's port: the phone must go on to 127.0.0.1
    dns = dnsmasq_dns({"prov.example.test": ["127.0.0.2", "127.0.0.1"]})
    phone = sim_phone(
        dns=dns.address, parameters={"Profile_Rule": f"http://prov.example.test:{s.port}/phone.cfg"}
    )
    assert await phone.run_until(attempts=1)
    assert phone.resync_attempts[0].action_class == "A"
    tried = [f.address for _, f, _ in phone.fetches]
    assert sorted(tried) == ["127.0.0.1", "127.0.0.2"]
    assert [q.qtype for _, q, _ in phone.dns_queries] == ["A"]


async def test_all_servers_down_is_class_c_with_syslog(sim_phone, dnsmasq_dns):
    from harness.fixtures.device import free_port

    dns = dnsmasq_dns({"prov.example.test": ["127.0.0.2", "127.0.0.3"]})
    port = free_port()
    phone = sim_phone(
        dns=dns.address, parameters={"Profile_Rule": f"http://prov.example.test:{port}/p.cfg"}
    )
    assert await phone.run_until(attempts=1)
    a = phone.resync_attempts[0]
    assert a.action_class == "C" and "no server of prov.example.test answered" in a.error
    assert phone.syslog_sent[-1][1].startswith(
        "CP-8831-3PCC 02:00:00:00:00:00 -- Resync failed: no server"
    )
