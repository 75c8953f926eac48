"""A phone LAN, a router and a WAN of provisioning servers, built from namespaces and veths.

```
 phone1 .10 ─┐                               ┌─ server1 203.0.113.10 (+ .110)
 phone2 .11 ─┤ br-lan ─ router ─ br-wan ─────┤
 lansrv  .2 ─┘ 192.0.2.1/26   203.0.113.1/24 └─ server2 203.0.113.11 (+ .111)
```

Every host is a namespace named `<prefix><host>`; the veth pairs are created
directly inside their namespaces (never in the root namespace), so deleting
the namespaces removes them. The router's nftables table (named after the
prefix) holds the NAT kind (harness.netsim.nat), the TFTP helper and link
loss; delay is tc netem, or a userspace relay in the router where the kernel
has no netem (`set_delay`). Helpers run processes (`run`, `popen`), coroutines and endpoints
(`loop_in`, `call`, `start_endpoint`) and captures (`capture`) inside a host.
Addresses are documentation ranges, only inside these namespaces.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.netsim import cleanup as registry
from harness.netsim import names
from harness.netsim.nat import NatKind, nat_kind, render_router_table
from harness.netsim.nsloop import NamespaceLoop
from harness.netsim.system import NetsimError, in_ns, list_namespaces, netem_capability, sh
from harness.netsim.tap import Capture

T = TypeVar("T")

LAN_NET = ipaddress.ip_network("192.0.2.0/26")
WAN_NET = ipaddress.ip_network("203.0.113.0/24")
ROUTER_LAN_IP = "192.0.2.1"
ROUTER_WAN_IP = "203.0.113.1"
LAN_SERVER_IP = "192.0.2.2"
FIRST_PHONE = 10  # phone i (1-based) gets 192.0.2.(9+i)
FIRST_SERVER = 10  # server i gets 203.0.113.(9+i) and the alternate 203.0.113.(109+i)
ALT_OFFSET = 100
LAN_BRIDGE, WAN_BRIDGE = "br-lan", "br-wan"
HOST_IF = "eth0"
MAX_PHONES = LAN_NET.num_addresses - 2 - FIRST_PHONE
MAX_SERVERS = 50
LINKS = {"lan": LAN_BRIDGE, "wan": WAN_BRIDGE}  # link name -> router interface


def phone_mac(index: int) -> str:
    """The simulated phone's MAC (Linksys OUI 00:0e:08, as in the spec's examples)."""
    return f"00:0e:08:00:00:{index:02x}"


@dataclass
class Host:
    name: str  # "router", "lansrv", "phone1", "server1", ...
    ns: str
    role: str  # router | lan-server | phone | server
    ip: str
    iface: str = HOST_IF
    alt_ip: str | None = None  # a second address (servers: RFC 5780's alternate address)
    mac: str | None = None
    ifaces: list[str] = field(default_factory=list)


class Topology:
    """One simulated network; `up()` builds it, `down()` removes every trace of it."""

    def __init__(
        self,
        *,
        nat: str = "none",
        tftp_helper: bool = False,
        phones: int = 1,
        wan_servers: int = 2,
        lan_server: bool = True,
        name: str | None = None,
    ) -> None:
        if not 1 <= phones <= MAX_PHONES:
            raise ValueError(f"phones={phones}: between 1 and {MAX_PHONES} fit on the LAN /26")
        if not 1 <= wan_servers <= MAX_SERVERS:
            raise ValueError(f"wan_servers={wan_servers}: between 1 and {MAX_SERVERS}")
        self.kind: NatKind = nat_kind(nat)
        self.tftp_helper = tftp_helper
        self.prefix = names.new_topology_prefix(name)
        self.table = names.table(self.prefix)
        self.loss: dict[str, int] = {}
        self.hosts: dict[str, Host] = {}
        self._loops: dict[str, NamespaceLoop] = {}
        self._endpoints: list[tuple[str, Any]] = []
        self._procs: list[subprocess.Popen[Any]] = []
        self._captures: list[Capture] = []
        self._lock = threading.Lock()
        self.is_up = False
        self.delay_mode: str | None = None  # "netem" or "relay" once set_delay ran
        self._delay_relay: Any = None
        self._plan(phones, wan_servers, lan_server)

    # -- plan (pure) ---------------------------------------------------------------
    def _plan(self, phones: int, servers: int, lan_server: bool) -> None:
        def add(name: str, role: str, ip: str, **kw: Any) -> None:
            self.hosts[name] = Host(name, names.namespace(self.prefix, name), role, ip, **kw)

        add("router", "router", ROUTER_WAN_IP, iface=WAN_BRIDGE, alt_ip=ROUTER_LAN_IP)
        if lan_server:
            add("lansrv", "lan-server", LAN_SERVER_IP)
        for i in range(1, phones + 1):
            add(f"phone{i}", "phone", str(LAN_NET[FIRST_PHONE - 1 + i]), mac=phone_mac(i))
        for i in range(1, servers + 1):
            add(
                f"server{i}",
                "server",
                str(WAN_NET[FIRST_SERVER - 1 + i]),
                alt_ip=str(WAN_NET[FIRST_SERVER - 1 + i + ALT_OFFSET]),
            )

    @property
    def phones(self) -> list[Host]:
        return [h for h in self.hosts.values() if h.role == "phone"]

    @property
    def servers(self) -> list[Host]:
        return [h for h in self.hosts.values() if h.role == "server"]

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise NetsimError(
                f"no host {name!r} in topology {self.prefix}; hosts: {', '.join(self.hosts)}"
            ) from None

    def ip(self, name: str) -> str:
        return self.host(name).ip

    @property
    def external_ip(self) -> str:
        """The address WAN servers see the phones as (the router's, when translated)."""
        return ROUTER_WAN_IP

    # -- build / remove ------------------------------------------------------------
    def up(self) -> Topology:
        registry.register(self)
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        self.is_up = True
        return self

    def _ns(self, host: str, *argv: str) -> None:
        sh(in_ns(self.host(host).ns, argv))

    def _build(self) -> None:
        for h in self.hosts.values():
            sh(["ip", "netns", "add", h.ns])
            for cmd in (
                ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                ["ip", "link", "set", "lo", "up"],
            ):
                sh(in_ns(h.ns, cmd))
        r = self.host("router")
        self._ns("router", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for bridge, addr in (
            (LAN_BRIDGE, f"{ROUTER_LAN_IP}/26"),
            (WAN_BRIDGE, f"{ROUTER_WAN_IP}/24"),
        ):
            self._ns("router", "ip", "link", "add", bridge, "type", "bridge")
            self._ns("router", "ip", "addr", "add", addr, "dev", bridge)
            self._ns("router", "ip", "link", "set", bridge, "up")
            r.ifaces.append(bridge)
        for h in self.hosts.values():
            if h.role == "router":
                continue
            on_lan = h.role in ("phone", "lan-server")
            port = f"{'l' if on_lan else 'w'}-{h.name}"[:15]
            sh(["ip", "link", "add", h.iface, "netns", h.ns, "type", "veth",
                "peer", "name", port, "netns", r.ns])  # fmt: skip
            self._ns("router", "ip", "link", "set", port, "master",
                     LAN_BRIDGE if on_lan else WAN_BRIDGE)  # fmt: skip
            self._ns("router", "ip", "link", "set", port, "up")
            r.ifaces.append(port)
            if h.mac:
                self._ns(h.name, "ip", "link", "set", h.iface, "address", h.mac)
            plen = LAN_NET.prefixlen if on_lan else WAN_NET.prefixlen
            self._ns(h.name, "ip", "addr", "add", f"{h.ip}/{plen}", "dev", h.iface)
            if h.alt_ip:
                self._ns(h.name, "ip", "addr", "add", f"{h.alt_ip}/{plen}", "dev", h.iface)
            self._ns(h.name, "ip", "link", "set", h.iface, "up")
            h.ifaces.append(h.iface)
            if on_lan:
                self._ns(h.name, "ip", "route", "add", "default", "via", ROUTER_LAN_IP)
            else:
                # WAN servers only know the LAN when nothing translates it (routed)
                self._ns(h.name, "ip", "route", "add", str(LAN_NET), "via", ROUTER_WAN_IP)
        self.apply_router_rules()

    def apply_router_rules(self) -> None:
        """(Re)write the router's nftables table from the NAT kind, helper and loss."""
        script = render_router_table(
            self.table,
            self.kind,
            lan_if=LAN_BRIDGE,
            wan_if=WAN_BRIDGE,
            tftp_helper=self.tftp_helper,
            loss={LINKS[k]: v for k, v in self.loss.items()},
        )
        sh(in_ns(self.host("router").ns, ["nft", "-f", "-"]), input=script)
        # forget old translations so a new kind applies to the next packet
        with contextlib.suppress(NetsimError):
            sh(in_ns(self.host("router").ns, ["conntrack", "-F"]), check=False)

    def set_nat(self, nat: str, *, tftp_helper: bool | None = None) -> None:
        self.kind = nat_kind(nat)
        if tftp_helper is not None:
            self.tftp_helper = tftp_helper
        self.apply_router_rules()

    def set_loss(self, link: str, percent: int) -> None:
        """Drop `percent`% of packets the router forwards in from `link` ("lan" or "wan")."""
        if link not in LINKS:
            raise ValueError(f"link {link!r}: use one of {', '.join(LINKS)}")
        self.loss[link] = int(percent)
        self.apply_router_rules()

    def dropped(self) -> int:
        """How many packets the loss rules have dropped so far (their nft counters)."""
        out = sh(in_ns(self.host("router").ns, ["nft", "-j", "list", "table", "ip", self.table]))
        total = 0
        for item in json.loads(out.stdout).get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    total += int(expr["counter"].get("packets", 0))
        return total

    def set_delay(
        self,
        link: str,
        delay_ms: float,
        jitter_ms: float = 0.0,
        *,
        reorder_pct: float = 0.0,
        target: tuple[str, int] | None = None,
        relay: bool | None = None,
    ) -> tuple[str, int] | None:
        """Delay (jitter, reorder) packets the router sends onto `link` ("lan" or "wan").

        With tc netem (`netem_capability()`), the router's link is delayed for
        every packet and `target` comes back unchanged. Without it (or with
        `relay=True`) a userspace UDP relay (harness.netsim.relay) in the
        router is inserted on the path to the UDP server `target`: the phone
        must send to the address returned (on the router's LAN side); the relay
        forwards from the router's WAN address, delaying packets toward `link`.
        Without netem and without `target`, NetsimError says so.
        """
        if link not in LINKS:
            raise ValueError(f"link {link!r}: use one of {', '.join(LINKS)}")
        from harness.netsim.relay import PathDelay

        delay = PathDelay(delay_ms / 1000, jitter_ms / 1000, reorder_pct / 100)  # validates
        cap = netem_capability()
        if relay is None:
            relay = not cap
        if not relay:
            if not cap:
                raise NetsimError(cap.reason)
            argv = ["tc", "qdisc", "replace", "dev", LINKS[link], "root", "netem",
                    "delay", f"{delay_ms}ms"]  # fmt: skip
            if jitter_ms:
                argv.append(f"{jitter_ms}ms")
            if reorder_pct:
                argv += ["reorder", f"{reorder_pct}%"]
            sh(in_ns(self.host("router").ns, argv))
            self.delay_mode = "netem"
            return target
        if target is None:
            raise NetsimError(
                f"{cap.reason}; give target=(ip, port) of a UDP server to insert the "
                "userspace delay relay on the path to it"
            )
        udp = self._delay_relay_started()
        if link == "wan":
            udp.delay_out = delay
        else:
            udp.delay_in = delay
        self.delay_mode = "relay"
        return udp.inside_for(target)

    def _delay_relay_started(self) -> Any:
        from harness.netsim.relay import UdpRelay

        with self._lock:
            if self._delay_relay is not None:
                return self._delay_relay
            self._delay_relay = UdpRelay(inside_host=ROUTER_LAN_IP, outside_host=ROUTER_WAN_IP)
        return self.start_endpoint("router", self._delay_relay)

    def down(self) -> None:
        """Stop everything started in the topology and delete its namespaces. Idempotent."""
        for c in self._captures:
            with contextlib.suppress(Exception):
                c.stop()
        for host, ep in reversed(self._endpoints):
            with contextlib.suppress(Exception):
                self._loops[host].run(ep.stop_async(), timeout=10)
        self._endpoints.clear()
        self._delay_relay = None
        for loop in self._loops.values():
            loop.stop()
        self._loops.clear()
        for p in self._procs:
            _kill(p)
        self._procs.clear()
        registry.remove_prefix(self.prefix)
        registry.unregister(self)
        self.is_up = False

    def __enter__(self) -> Topology:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def leftovers(self) -> list[str]:
        """Namespaces of this topology that still exist (empty after down())."""
        return [ns for ns in list_namespaces() if ns.startswith(self.prefix)]

    # -- running things inside ------------------------------------------------------
    def run(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess:
        """Run a command inside `host`'s namespace and wait (kwargs go to subprocess.run)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(in_ns(self.host(host).ns, argv), **kw)

    def popen(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start a command inside `host`'s namespace; it is killed at down() at the latest."""
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(in_ns(self.host(host).ns, argv), **kw)
        self._procs.append(p)
        return p

    def loop_in(self, host: str) -> NamespaceLoop:
        """The event loop running inside `host`'s namespace (started on first use)."""
        with self._lock:
            if host not in self._loops:
                self._loops[host] = NamespaceLoop(self.host(host).ns)
            return self._loops[host]

    def call(self, host: str, coro: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        """Run a coroutine inside `host`'s namespace and return its result."""
        return self.loop_in(host).run(coro, timeout)

    def start_endpoint(self, host: str, endpoint: T) -> T:
        """Start an Endpoint (its start_async) inside `host`; stopped at down().

        Stop it early with `stop_endpoint`, not `endpoint.stop()` (that one uses
        the shared background loop, which is not the loop it runs on).
        """
        self.call(host, endpoint.start_async())  # type: ignore[attr-defined]
        self._endpoints.append((host, endpoint))
        return endpoint

    def stop_endpoint(self, endpoint: Any) -> None:
        for i, (host, ep) in enumerate(self._endpoints):
            if ep is endpoint:
                del self._endpoints[i]
                self.call(host, ep.stop_async())
                return

    def capture(
        self,
        host: str,
        iface: str,
        path: str | Path,
        *,
        bpf: str | None = None,
        tool: str | None = None,
    ) -> Capture:
        """Start a capture on `iface` inside `host` (capturing when this returns).

        `tool` is "tcpdump" (pcap, the default) or "dumpcap" (pcapng).
        """
        cap = Capture(self.host(host).ns, iface, path, bpf=bpf, tool=tool).start()
        self._captures.append(cap)
        return cap

    # -- hooks for scenarios built elsewhere -----------------------------------------
    def dns_failover_hook(self) -> dict[str, list[str]]:
        """Addresses for DNS-FAILOVER / DNS-ALL-DOWN scenarios: one A record per WAN server.

        The DNS and simulated-phone areas build those scenarios; they serve these
        addresses as the provisioning FQDN's A records and stop servers to make them dead.
        """
        return {"A": [h.ip for h in self.servers]}

    def describe(self) -> str:
        """How to use this topology by hand (printed by `harness netsim up`)."""
        lines = [
            f"topology {self.prefix.rstrip('-')}: NAT {self.kind.name} "
            f"({self.kind.description}), TFTP helper {'on' if self.tftp_helper else 'off'}",
            "",
            f"  {'host':<10}{'namespace':<28}{'address':<18}role",
        ]
        for h in self.hosts.values():
            addr = h.ip + (f" +{h.alt_ip}" if h.alt_ip and h.role == "server" else "")
            lines.append(f"  {h.name:<10}{h.ns:<28}{addr:<18}{h.role}")
        p, s = self.phones[0], self.servers[0]
        lines += [
            "",
            "try:",
            f"  ip netns exec {s.ns} python3 -m http.server 80 --bind {s.ip} &",
            f"  ip netns exec {p.ns} curl http://{s.ip}/",
            f"  ip netns exec {self.host('router').ns} nft list ruleset",
            f"  ip netns exec {self.host('router').ns} tcpdump -ni {WAN_BRIDGE}",
            f"remove: harness netsim down --name {self.prefix[3:].rstrip('-')}"
            if self.prefix.startswith(f"{names.STEM}-")
            else "remove: harness netsim cleanup",
        ]
        return "\n".join(lines)


def _kill(p: subprocess.Popen[Any]) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)
