"""`harness demo` (`make demo`): the conformance suite, a capture, and its analysis.

Runs `harness conform` against two simulated phones at once (the clean
reference phone and one with a quirk: retry-404-too-soon), which leaves one
pcap per scenario and device; then re-judges every scenario from its own pcap
(`harness analyze --scenario`'s judging) and prints how many agree with the
live verdicts, and where the reports are (report.html first). `--clients`
runs the older tour instead: real clients nobody here wrote (tftp-hpa, curl,
logger, dig) against the provisioning lab. Orchestration only; each piece
lives elsewhere.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.endpoints.lab import ProvisioningLab
from harness.report.text import findings_table, observations_table, terminal
from harness.rules.registry import DeviceIdentity
from harness.spec.family import load_family
from harness.spec.macros import expand
from harness.spec.user_agent import format_user_agent

HELP = "run the conformance suite on a clean and a quirky simulated phone, re-judge each pcap"
QUIRK = "retry-404-too-soon"

DEVICE = DeviceIdentity(product="CP-8831-3PCC", serial="88012BA01234", mac="000e08abcdef")
FAMILY = "cisco-8831-3pcc"
PROFILE = b"""<flat-profile>
  <Resync_Periodic>3600</Resync_Periodic>
  <Profile_Rule>https://prov.example.test/$PN.cfg</Profile_Rule>
  <Syslog_Server>syslog.example.test</Syslog_Server>
</flat-profile>
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", metavar="DIR", help="keep the lab's files (PKI, profile) in DIR")
    parser.add_argument("--clients", action="store_true", help="the real-client tour instead")
    parser.add_argument("--out", type=Path, help="report directory (default reports/demo-<time>)")


def _run(console: Console, title: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    shown = " ".join(a if " " not in a else repr(a) for a in argv)
    console.print(f"[bold cyan]$[/] {escape(shown)}   [dim]# {title}[/]")
    if shutil.which(argv[0]) is None:
        console.print(f"  [red]{argv[0]} is not installed: run `make demo` (it installs it)[/]")
        return subprocess.CompletedProcess(argv, 127, "", "")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        console.print(f"  [red]exit {proc.returncode}[/] {proc.stderr.strip()[:200]}")
    return proc


def client_tour(lab: ProvisioningLab, work: Path, console: Console) -> None:
    """Provision like the device would, with real clients, against the lab."""
    fam = load_family(FAMILY)
    profile = f"/{DEVICE.product}.cfg"
    lab.put(profile, PROFILE)
    ua = format_user_agent(
        fam, product=DEVICE.product, serial=DEVICE.serial, mac=DEVICE.mac, firmware=""
    )
    ca = lab.server_ca.cert_pem.write_to_path(work / "server-ca.pem")
    client = lab.device_ca.issue_client_cert(DEVICE.product, DEVICE.serial, DEVICE.mac)
    cert, key = client.write_to_path(work / "device.pem", work / "device.key")
    mac = ":".join(DEVICE.mac[i : i + 2] for i in range(0, 12, 2))
    log_port = str(lab.syslog.port)

    def syslog(role: str, scheme: str, host: str, port: int) -> None:
        template = lab_param(fam, role)
        text = expand(
            template,
            {"PN": DEVICE.product, "MAC": mac, "SCHEME": scheme, "SERVIP": host, "PORT": str(port),
             "PATH": profile, "ERR": ""},
        )  # fmt: skip
        _run(
            console,
            "the phone's syslog line",
            ["logger", "-n", "127.0.0.1", "-P", log_port, "-d", text],
        )

    _run(console, "resolve the lab's provisioning name (A record)",
         ["dig", "@127.0.0.1", "-p", str(lab.dns.port), "+short", lab.fqdn])  # fmt: skip
    syslog("request", "tftp", lab.host, lab.tftp.port)
    _run(console, "TFTP: tftp-hpa fetches the factory-rule profile",
         ["tftp", lab.host, str(lab.tftp.port), "-m", "binary", "-c", "get", profile.lstrip("/"),
          str(work / "via-tftp.cfg")])  # fmt: skip
    syslog("success", "tftp", lab.host, lab.tftp.port)
    syslog("request", "http", lab.host, lab.http.port)
    _run(console, "HTTP: curl fetches it with the phone's User-Agent",
         ["curl", "-sS", "-A", ua, "-o", str(work / "via-http.cfg"), lab.http.url_for(profile)])  # fmt: skip
    syslog("success", "http", lab.host, lab.http.port)
    syslog("request", "https", lab.host, lab.https.port)
    _run(console, "HTTPS: curl trusts the lab CA and presents the device certificate",
         ["curl", "-sS", "-A", ua, "--cacert", str(ca), "--cert", str(cert), "--key", str(key),
          "--resolve", lab.https.resolve, "-o", str(work / "via-https.cfg"), lab.https.url + profile])  # fmt: skip
    syslog("success", "https", lab.host, lab.https.port)


def lab_param(fam, role: str) -> str:
    return fam.default(fam.syslog_params[role])


def run(args: argparse.Namespace) -> int:
    return clients_run(args) if args.clients else conform_run(args)


def conform_run(args: argparse.Namespace) -> int:
    from harness.cli import main as harness_main

    console = terminal()
    out = (args.out or Path("reports") / time.strftime("demo-%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    devices = out / "lab.toml"
    devices.write_text(
        f'[reference]\nkind = "sim"\n\n[quirky]\nkind = "sim"\nquirks = ["{QUIRK}"]\n'
    )
    console.rule(f"[bold]1. harness conform: the reference phone and one with quirk {QUIRK}")
    code = harness_main(["conform", "--devices", str(devices), "--out", str(out), "-j", "2"])
    results = json.loads((out / "work" / "results.json").read_text()) if code in (0, 1) else []
    failed = {(r["device"], r["requirement"]) for r in results if r["verdict"] == "fail"}
    console.rule("[bold]2. harness analyze --scenario: every scenario re-judged from its own pcap")
    pcap_failed = twin_check(out / "report.json", console)
    console.rule("[bold]3. reports")
    for name in ("report.html", "report.json", "junit.xml"):
        if (out / name).exists():
            console.print(f"  {name}: {out / name}")
    console.print(f"open {out / 'report.html'} in a browser")
    clean_ok = not any(dev == "reference" for dev, _ in failed)
    quirky_ok = any(dev == "quirky" for dev, _ in failed)
    quirky_live = sorted(r for d, r in failed if d == "quirky")
    quirky_pcap = sorted(r for d, r in pcap_failed if d == "quirky")
    console.print(
        f"reference phone: {'no failures' if clean_ok else 'FAILURES'}; quirky phone: "
        f"{'caught' if quirky_ok else 'NOT caught'} live ({', '.join(quirky_live)}), "
        f"{'caught' if quirky_pcap else 'NOT caught'} from its pcaps ({', '.join(quirky_pcap)})"
    )
    return 0 if clean_ok and quirky_ok and set(quirky_live) <= set(quirky_pcap) else 1


def twin_check(report_path: Path, console: Console) -> set[tuple[str, str]]:
    """Re-judge every scenario of the report from its pcap, print the agreement; the
    (device, requirement) pairs that fail from the pcaps."""
    from harness.analyze.scenario import ScenarioEntry, rejudge

    try:
        entries = json.loads(report_path.read_text("utf-8")).get("scenarios") or []
    except (OSError, ValueError) as exc:
        console.print(f"[red]no report to check: {exc}[/]")
        return set()
    agree = 0
    judged = 0
    differ: list[str] = []
    pcap_failed: set[tuple[str, str]] = set()
    for raw in entries:
        entry = ScenarioEntry.from_dict(raw, report_path.parent)
        if entry.capture is None or not entry.capture.is_file():
            differ.append(f"{entry.device}/{entry.name}: no pcap ({raw.get('note', '')})")
            judged += 1
            continue
        got = rejudge(entry)
        judged += 1
        bad = []
        for req, live in entry.verdicts.items():
            pcap = got.verdicts.get(req, "missing")
            if pcap == "fail":
                pcap_failed.add((entry.device, req))
            want = "inconclusive" if req in entry.not_on_wire else live
            if live != "skipped" and pcap != want:
                why = next((f.why for f in got.findings if f.rule == req), "")
                bad.append(f"{req}: live {live}, pcap {pcap} ({why})")
        if bad:
            differ.append(f"{entry.device}/{entry.name} ({raw['capture']}): " + "; ".join(bad))
        else:
            agree += 1
    console.print(f"[bold]live and pcap verdicts agree on {agree} of {judged} scenarios[/]")
    for line in differ:
        console.print(f"  [yellow]differ:[/] {escape(line)}")
    return pcap_failed


# What the client tour exercises: identity, method, DNS, syslog, and the client's TLS offer.
CLIENT_TOUR_RULES = (
    "UA-FORMAT",
    "UA-IDENTITY",
    "HTTP-GET",
    "DNS-A-ONLY",
    "SYSLOG-REQUEST",
    "SYSLOG-RESULT",
    "SYSLOG-MACROS",
    "TLS-CIPHERS",
    "TLS-CLIENT-CERT",
)


def clients_run(args: argparse.Namespace) -> int:
    console = terminal()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="harness-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]harness demo: real clients against the provisioning lab")
    with ProvisioningLab(work / "root", keylog_path=work / "tls-keys.log") as lab:
        for name, url in lab.urls().items():
            console.print(f"  {name:7} {url}")
        client_tour(lab, work, console)
        lab.recorder.wait_for(lambda obs: len(obs) >= 13, timeout=5)
        console.print(observations_table(lab.observations, "What the endpoints recorded"))
        findings = lab.evaluate(FAMILY, identity=DEVICE, only=CLIENT_TOUR_RULES)
        console.print(findings_table(findings, f"Spec rules ({FAMILY}) on what was recorded"))
        console.print(
            "(curl is not a phone: it offers modern TLS suites, so TLS-CIPHERS fails, as it must;"
            " the timing rules need a device that retries, see `harness demo`)"
        )
        fetched = [p.name for p in sorted(work.glob("via-*.cfg")) if p.read_bytes() == PROFILE]
        console.print(f"profile fetched intact over: {', '.join(fetched) or 'nothing'}")
        if lab.problems:
            console.print(f"[yellow]endpoint problems:[/] {lab.problems}")
    console.print(f"files (PKI, TLS key log): {work}")
    expected_fail = {"TLS-CIPHERS"}
    ok = len(fetched) == 3 and not any(
        f.verdict == "fail" and f.rule not in expected_fail for f in findings
    )
    return 0 if ok else 1
