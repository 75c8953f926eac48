"""Hand-made observations for rule tests: a device provisioning as the scenario says."""

from harness.observe.events import DeviceKey, DnsQuery, Evidence, HttpExchange, SyslogMessage
from harness.rules.registry import DeviceIdentity, RuleContext
from harness.spec import load_family

IP = "192.0.2.10"
SERVER = ("198.51.100.5", 80)
PRODUCT, SERIAL, MAC = "CP-8831-3PCC", "88012BA01234", "000e08abcdef"
UA = f"cisco/{PRODUCT} ({SERIAL})"
DEV = DeviceKey(ip=IP)
_frame = iter(range(1, 10_000))


def ev() -> Evidence:
    return Evidence("test", frames=(next(_frame),))


def http(t, url="/CP-8831-3PCC.cfg", *, status=200, method="GET", ua=UA, server=SERVER):
    return HttpExchange(
        time=t, client=(IP, 40000), server=server, device=DEV, evidence=ev(),
        method=method, url=url, user_agent=ua, status=status,
    )  # fmt: skip


def syslog(t, message):
    return SyslogMessage(time=t, client=(IP, 514), device=DEV, evidence=ev(), message=message)


def dns(t, qname="prov.example.test", qtype="A"):
    return DnsQuery(time=t, client=(IP, 5353), device=DEV, evidence=ev(), qname=qname, qtype=qtype)


def request_msg(url="/CP-8831-3PCC.cfg", server=SERVER, scheme="http"):
    return (
        f"{PRODUCT} 00:0e:08:ab:cd:ef -- Requesting resync {scheme}://{server[0]}:{server[1]}{url}"
    )


def success_msg(url="/CP-8831-3PCC.cfg", server=SERVER, scheme="http"):
    return (
        f"{PRODUCT} 00:0e:08:ab:cd:ef -- Successful resync {scheme}://{server[0]}:{server[1]}{url}"
    )


def failure_msg(err="404 Not Found"):
    return f"{PRODUCT} 00:0e:08:ab:cd:ef -- Resync failed: {err}"


def context(family="cisco-8831-3pcc", *, identity=True, **params) -> RuleContext:
    ident = (
        DeviceIdentity(product=PRODUCT, serial=SERIAL, mac=MAC) if identity else DeviceIdentity()
    )
    return RuleContext(load_family(family), ident, dict(params))
