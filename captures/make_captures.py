"""Regenerate the reference captures in captures/ (run as root; not part of `make test`).

    sudo .venv/bin/python captures/make_captures.py [--out captures] [--only NAME ...]

Real traffic between stock tools, captured with dumpcap (pcapng) on a veth pair between
two network namespaces this script makes and always deletes (`hcap-srv-<pid>` with the
servers on 192.0.2.1, `hcap-ph-<pid>` with the phone on 192.0.2.10: documentation
addresses only). The servers are nginx (HTTP and HTTPS), in.tftpd (tftpd-hpa), dnsmasq
(DHCP) and the harness's syslog endpoint; the phone is curl with a phone's User-Agent and
Table 3-2 cipher suites, tftp-hpa, logger, and for DHCP the harness's tiny DHCP client (no
stock DHCP client is installed here: dhclient/udhcpc are absent). Certificates come from
`harness pki init`. What each capture shows, the `harness analyze` command and the
verdicts the spec expects are in captures/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRV_IP, PHONE_IP = "192.0.2.1", "192.0.2.10"
PHONE_MAC = "00:0e:08:ab:cd:ef"
FQDN = "prov.example.test"
UA = "cisco/CP-8831-3PCC (88012BA01234)"
PROFILE_NAME = "CP-8831-3PCC.cfg"
# Table 3-2 suites OpenSSL can offer: 0x0039, 0x0035, 0x0033, 0x002f (TLS 1.2 at most)
PHONE_CIPHERS = "DHE-RSA-AES256-SHA:AES256-SHA:DHE-RSA-AES128-SHA:AES128-SHA"
RETRY_DELAY = 30  # the Resync_Error_Retry_Delay the 404 captures are judged against
PROFILE = (
    "<flat-profile>\n"
    + "".join(f"  <GPP_{c}>reference capture value {c}</GPP_{c}>\n" for c in "ABCDEFGHIJ")
    + "  <Resync_Periodic>3600</Resync_Periodic>\n</flat-profile>\n"
)


def sh(*cmd: str, ns: str | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    return subprocess.run(full, check=check, capture_output=True, text=True, timeout=60, **kw)


def bg(*cmd: str, ns: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], **kw)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Lab:
    """Two namespaces joined by a veth pair; deleted on exit whatever happens."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.srv, self.ph = f"hcap-srv-{os.getpid()}", f"hcap-ph-{os.getpid()}"

    def __enter__(self) -> Lab:
        sh("ip", "netns", "add", self.srv)
        try:
            sh("ip", "netns", "add", self.ph)
            sh("ip", "link", "add", "srv0", "netns", self.srv, "type", "veth", "peer", "ph0",
               "netns", self.ph)  # fmt: skip
            sh("ip", "link", "set", "ph0", "address", PHONE_MAC, ns=self.ph)
            for ns, dev, ip in ((self.srv, "srv0", SRV_IP), (self.ph, "ph0", PHONE_IP)):
                sh("ip", "link", "set", "lo", "up", ns=ns)
                sh("ip", "addr", "add", f"{ip}/24", "dev", dev, ns=ns)
                sh("ip", "link", "set", dev, "up", ns=ns)
            time.sleep(1.0)  # let the veth leave its tentative state
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in (self.ph, self.srv):
            sh("ip", "netns", "del", ns, check=False)

    @contextlib.contextmanager
    def capture(self, path: Path, bpf: str = "not ip6") -> Iterator[None]:
        """dumpcap on the server's side of the veth writing pcapng to `path`."""
        path.unlink(missing_ok=True)
        exe = shutil.which("dumpcap") or "/usr/bin/dumpcap"
        proc = bg(exe, "-i", "srv0", "-f", bpf, "-w", str(path), ns=self.srv,
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        if "Capturing on" not in line:
            stop(proc)
            raise RuntimeError(f"dumpcap did not start: {line}")
        time.sleep(0.5)
        try:
            yield
            time.sleep(0.5)
        finally:
            stop(proc, signal.SIGINT)
            if path.exists():
                path.chmod(0o644)  # dumpcap writes 0600; these are published

    # -- servers -----------------------------------------------------------------
    @contextlib.contextmanager
    def nginx(self, root: Path, tls: tuple[Path, Path] | None = None) -> Iterator[None]:
        base = Path(tempfile.mkdtemp(dir=self.work, prefix="nginx-"))
        (base / "logs").mkdir()
        listen = f"listen {SRV_IP}:443 ssl;" if tls else f"listen {SRV_IP}:80;"
        ssl = (
            f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};"
            " ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ALL:@SECLEVEL=0;"
            if tls
            else ""
        )
        (base / "nginx.conf").write_text(
            f"user root; worker_processes 1; daemon off; pid {base}/nginx.pid;\n"
            f"error_log {base}/logs/error.log warn; events {{ worker_connections 16; }}\n"
            f"http {{ access_log {base}/logs/access.log; server_tokens off;\n"
            f"  client_body_temp_path {base}/b; proxy_temp_path {base}/p;"
            f" fastcgi_temp_path {base}/f; uwsgi_temp_path {base}/u; scgi_temp_path {base}/s;\n"
            f"  server {{ {listen} server_name {FQDN}; {ssl} root {root}; }} }}\n"
        )
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = bg(exe, "-p", str(base), "-c", str(base / "nginx.conf"), ns=self.srv,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(0.5)
        try:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(base / 'logs/error.log').read_text()}")
            yield
        finally:
            stop(proc, signal.SIGQUIT)

    @contextlib.contextmanager
    def tftpd(self, root: Path) -> Iterator[None]:
        exe = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"
        proc = bg(exe, "-L", "-u", "root", "-s", str(root), "-a", f"{SRV_IP}:69", ns=self.srv,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(0.3)
        try:
            yield
        finally:
            stop(proc)

    @contextlib.contextmanager
    def syslog_sink(self) -> Iterator[None]:
        """The harness's syslog endpoint on 192.0.2.1:514 (UDP)."""
        code = (
            "import time\nfrom harness.endpoints.syslog import SyslogServer\n"
            f"s = SyslogServer(host={SRV_IP!r}, port=514).start()\n"
            "print('ready', flush=True)\ntime.sleep(3600)\n"
        )
        proc = bg(sys.executable, "-c", code, ns=self.srv, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL, env=_env())  # fmt: skip
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            stop(proc)
            raise RuntimeError("the harness syslog endpoint did not start")
        try:
            yield
        finally:
            stop(proc)

    @contextlib.contextmanager
    def dnsmasq_dhcp(self, tftp_server: str) -> Iterator[None]:
        exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        proc = bg(
            exe, "--no-daemon", "--port=0", "--interface=srv0", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--user=root", "--pid-file=",
            f"--dhcp-leasefile={self.work / 'leases'}", "--dhcp-authoritative",
            "--dhcp-range=192.0.2.50,192.0.2.59,255.255.255.0,1h",
            f"--dhcp-option=option:router,{SRV_IP}",
            f"--dhcp-option=option:tftp-server,{tftp_server}",
            ns=self.srv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        try:
            if proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited with {proc.returncode}")
            yield
        finally:
            stop(proc)

    # -- the phone ---------------------------------------------------------------
    def curl(self, url: str, *extra: str, keylog: Path | None = None) -> str:
        env = dict(os.environ, SSLKEYLOGFILE=str(keylog)) if keylog else None
        out = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", UA,
                 "-H", "Connection: close", *extra, url, ns=self.ph, check=False, env=env)  # fmt: skip
        return out.stdout.strip()

    def logger(self, text: str) -> None:
        sh("logger", "-n", SRV_IP, "-P", "514", "-d", "--rfc3164", "-p", "local0.info",
           "-t", "CP-8831-3PCC", text, ns=self.ph)  # fmt: skip

    def tftp_get(self, server: str, name: str) -> None:
        got = self.work / "got.cfg"
        got.unlink(missing_ok=True)
        out = sh("tftp", server, "-m", "octet", "-c", "get", name, str(got), ns=self.ph)
        if not got.exists() or got.stat().st_size == 0:  # tftp-hpa exits 0 on failure
            raise RuntimeError(f"tftp get {name} from {server} failed: {out.stdout}{out.stderr}")


def _env() -> dict[str, str]:
    root = str(HERE.parent)
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=f"{root}:{path}" if path else root)


def pki(work: Path) -> Path:
    out = work / "pki"
    if not out.exists():
        subprocess.run([sys.executable, "-m", "harness.cli", "pki", "init", str(out), "--fqdn",
                        FQDN, "--variants", "wrong-cn"], check=True, env=_env(),
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def web_root(work: Path, name: str) -> Path:
    root = work / f"root-{name}"
    root.mkdir(exist_ok=True)
    return root


# -- the captures ----------------------------------------------------------------------
def https_resync(lab: Lab, out: Path, *, variant: str | None, name: str) -> None:
    work_pki = pki(lab.work)
    cert = (work_pki / "variants" / f"{variant}.pem") if variant else work_pki / "server.pem"
    key = cert.with_suffix(".key")
    root = web_root(lab.work, name)
    (root / PROFILE_NAME).write_text(PROFILE)
    keys = out / f"{name}.keys"
    keys.unlink(missing_ok=True)
    tls = ["--tls-max", "1.2", "--ciphers", PHONE_CIPHERS, "--resolve", f"{FQDN}:443:{SRV_IP}"]
    # a phone that checks the name would refuse wrong-cn; this one accepts it (-k)
    trust = ["-k"] if variant else ["--cacert", str(work_pki / "server-ca.pem")]
    with lab.nginx(root, tls=(cert, key)), lab.capture(out / f"{name}.pcapng", "tcp port 443"):
        code = lab.curl(f"https://{FQDN}/{PROFILE_NAME}", *tls, *trust, keylog=keys)
    if code != "200":
        raise RuntimeError(f"{name}: curl got {code!r}")


def http_404_retry(lab: Lab, out: Path, *, gap: float, name: str) -> None:
    root = web_root(lab.work, name)
    (root / PROFILE_NAME).unlink(missing_ok=True)
    with lab.nginx(root), lab.capture(out / f"{name}.pcapng", "tcp port 80"):
        first = lab.curl(f"http://{SRV_IP}/{PROFILE_NAME}")
        (root / PROFILE_NAME).write_text(PROFILE)
        time.sleep(gap)
        second = lab.curl(f"http://{SRV_IP}/{PROFILE_NAME}")
    if (first, second) != ("404", "200"):
        raise RuntimeError(f"{name}: curl got {first}, {second}")


def tftp_resync(lab: Lab, out: Path) -> None:
    root = web_root(lab.work, "tftp")
    (root / PROFILE_NAME).write_text(PROFILE * 2)  # several 512-byte blocks
    with lab.tftpd(root), lab.capture(out / "tftp-resync-tid.pcapng", "udp"):
        lab.tftp_get(SRV_IP, PROFILE_NAME)


def syslog_resync(lab: Lab, out: Path) -> None:
    root = web_root(lab.work, "syslog")
    (root / PROFILE_NAME).write_text(PROFILE)
    url = f"http://{SRV_IP}:80/{PROFILE_NAME}"
    with (
        lab.nginx(root),
        lab.syslog_sink(),
        lab.capture(out / "syslog-request-result.pcapng", "tcp port 80 or udp port 514"),
    ):
        lab.logger(f"CP-8831-3PCC {PHONE_MAC} -- Requesting resync {url}")
        code = lab.curl(url)
        lab.logger(f"CP-8831-3PCC {PHONE_MAC} -- Successful resync {url}")
    if code != "200":
        raise RuntimeError(f"syslog-request-result: curl got {code!r}")


def dhcp_option66(lab: Lab, out: Path) -> None:
    root = web_root(lab.work, "dhcp")
    (root / PROFILE_NAME).write_text(PROFILE)
    sh("ip", "addr", "flush", "dev", "ph0", ns=lab.ph)  # an unprovisioned phone has no address
    code = (
        "import asyncio\nfrom harness.netsim.dhcp_client import discover\n"
        "lease = asyncio.run(discover('ph0'))\n"
        "print(lease.your_ip, (lease.text(66) or '').rstrip('\\x00'))\n"
    )
    try:
        with (
            lab.dnsmasq_dhcp(SRV_IP),
            lab.tftpd(root),
            lab.capture(out / "dhcp-option66.pcapng", "udp"),
        ):
            got = subprocess.run(["ip", "netns", "exec", lab.ph, sys.executable, "-c", code],
                                 check=True, capture_output=True, text=True, env=_env(),
                                 timeout=60).stdout.split()  # fmt: skip
            if len(got) != 2:
                raise RuntimeError(f"dhcp-option66: no option 66 in the lease: {got}")
            ip, tftp_server = got
            sh("ip", "addr", "add", f"{ip}/24", "dev", "ph0", ns=lab.ph)
            lab.tftp_get(tftp_server, PROFILE_NAME)
    finally:
        sh("ip", "addr", "flush", "dev", "ph0", ns=lab.ph)
        sh("ip", "addr", "add", f"{PHONE_IP}/24", "dev", "ph0", ns=lab.ph)


CAPTURES: dict[str, Callable[[Lab, Path], None]] = {
    "https-resync-clean": lambda lab, out: https_resync(
        lab, out, variant=None, name="https-resync-clean"
    ),
    "http-404-retry-ok": lambda lab, out: http_404_retry(
        lab, out, gap=RETRY_DELAY + 0.5, name="http-404-retry-ok"
    ),
    "http-404-retry-too-soon": lambda lab, out: http_404_retry(
        lab, out, gap=1.0, name="http-404-retry-too-soon"
    ),
    "tftp-resync-tid": tftp_resync,
    "https-wrong-cn-accepted": lambda lab, out: https_resync(
        lab, out, variant="wrong-cn", name="https-wrong-cn-accepted"
    ),
    "syslog-request-result": syslog_resync,
    "dhcp-option66": dhcp_option66,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default captures/)")
    parser.add_argument("--only", action="append", choices=sorted(CAPTURES), help="one capture")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("make_captures.py: needs root (network namespaces, tcpdump)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-captures-") as tmp, Lab(Path(tmp)) as lab:
        for name in args.only or CAPTURES:
            print(f"capturing {name}", flush=True)
            CAPTURES[name](lab, args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
