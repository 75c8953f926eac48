"""Topologies as root: built, reachable, captured on both sides, and gone without a trace."""

from __future__ import annotations

import subprocess
import time

import pytest

from harness.netsim import cleanup as netsim_cleanup
from harness.netsim.cleanup import _root_links
from harness.netsim.nat import NAT_KINDS
from harness.netsim.system import list_namespaces
from harness.netsim.topology import Topology
from tests.tshark_oracle import tshark_fields

pytestmark = pytest.mark.needs_root


def serve_http(topo: Topology, host: str) -> subprocess.Popen:
    ip = topo.ip(host)
    proc = topo.popen(
        host, ["python3", "-m", "http.server", "80", "--bind", ip], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for _ in range(100):  # wait until it accepts
        probe = topo.run(host, ["curl", "-s", "-o", "/dev/null", "-m", "1", f"http://{ip}/"])
        if probe.returncode == 0:
            return proc
        time.sleep(0.05)
    raise AssertionError(f"http.server in {host} did not start: {proc.stderr}")


def curl(topo: Topology, host: str, url: str) -> str:
    r = topo.run(host, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url])
    return r.stdout or r.stderr


def root_addresses() -> set[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    return {line.split()[3] for line in out.splitlines()}


def test_down_leaves_nothing_and_root_namespace_is_untouched(netsim, needs_netns) -> None:
    root_before = root_addresses()
    topo = netsim(nat="full-cone", tftp_helper=True, phones=3, wan_servers=2)
    ours = {ns for ns in list_namespaces() if ns.startswith(topo.prefix)}
    assert ours == {h.ns for h in topo.hosts.values()} and len(ours) == 7
    assert root_addresses() == root_before  # nothing added to the machine's own interfaces
    assert not any(name.startswith("hn") for name in _root_links())
    assert topo.run("router", ["nft", "list", "table", "ip", topo.table]).returncode == 0
    topo.down()
    assert topo.leftovers() == []
    assert netsim_cleanup.leftovers(topo.prefix) == []
    assert not ours & set(list_namespaces())


def test_cleanup_removes_a_killed_runs_leftovers(needs_netns) -> None:
    topo = Topology(nat="symmetric", name=f"killed{id(object()) % 10**6}")
    topo.up()
    sleeper = topo.popen("server1", ["sleep", "600"])
    netsim_cleanup.unregister(topo)  # as if the process had died: nobody will call down()
    assert netsim_cleanup.leftovers(topo.prefix)
    removed = netsim_cleanup.cleanup(topo.prefix)
    assert len(removed) == len(topo.hosts)
    assert netsim_cleanup.leftovers(topo.prefix) == []
    assert sleeper.wait(5) is not None  # the process inside was killed too


def test_several_phones_share_the_lan(netsim) -> None:
    topo = netsim(nat="port-restricted", phones=2, wan_servers=1)
    serve_http(topo, "phone1")
    assert curl(topo, "phone2", f"http://{topo.ip('phone1')}/") == "200"


@pytest.mark.parametrize("kind", sorted(NAT_KINDS))
def test_http_works_through_every_kind(netsim, kind: str) -> None:
    topo = netsim(nat=kind, wan_servers=2)
    proc = serve_http(topo, "server2")
    assert curl(topo, "phone1", f"http://{topo.ip('server2')}/") == "200"
    proc.terminate()
    log = proc.communicate(timeout=5)[1]
    seen_as = topo.ip("phone1") if not NAT_KINDS[kind].translated else topo.external_ip
    assert f"{seen_as} - - " in log and "GET / HTTP/1.1" in log


def test_capture_on_both_sides_of_the_router(netsim, tmp_path) -> None:
    topo = netsim(nat="port-restricted", wan_servers=1)
    serve_http(topo, "server1")
    lan = topo.capture("router", "br-lan", tmp_path / "lan.pcap", bpf="tcp port 80")
    wan = topo.capture(
        "router", "br-wan", tmp_path / "wan.pcapng", bpf="tcp port 80", tool="dumpcap"
    )
    assert curl(topo, "phone1", f"http://{topo.ip('server1')}/") == "200"
    time.sleep(0.2)
    lan_file, wan_file = lan.stop(), wan.stop()

    def sources(path) -> set[str]:
        return {s for (srcs,) in tshark_fields(path, "ip", ["ip.src"]) for s in srcs.split(",")}

    assert topo.ip("phone1") in sources(lan_file)
    assert topo.ip("phone1") not in sources(wan_file)
    assert topo.external_ip in sources(wan_file)
