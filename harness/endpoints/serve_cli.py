"""`harness serve`: the whole endpoint set standalone for lab work, printing traffic as it arrives.

Serves a directory over TFTP, HTTP and HTTPS, receives syslog, answers DNS for
the lab name, writes the lab PKI (server CA to trust, a device CA) to a folder,
and prints one line per recorded transaction, and each problem with client input,
as they happen, until interrupted. Built to run for days: TFTP is read-only unless
`--allow-upload DIR` (quotas), only a window of observations stays in memory while
all go to a rotated JSON-lines journal, and the PKI or journal folder inside the
served root is refused (docs/endpoint-limits.md). CLI glue only.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from rich.markup import escape

from harness.endpoints.lab import DEFAULT_FQDN, ProvisioningLab
from harness.endpoints.tftp import DEFAULT_MAX_UPLOAD, DEFAULT_UPLOAD_QUOTA
from harness.observe.events import Observation
from harness.observe.journal import DEFAULT_KEEP, DEFAULT_MAX_BYTES, Journal
from harness.observe.recorder import Recorder
from harness.pki.blobs import make_dirs
from harness.report.text import observation_line, terminal
from harness.report.untrusted import printable

HELP = "serve a directory over TFTP/HTTP/HTTPS with syslog and DNS, showing what arrives"

PORT_NAMES = ("tftp", "http", "https", "syslog", "dns")


def _ports(text: str) -> dict[str, int]:
    ports: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in PORT_NAMES or not value.isdigit() or not 0 <= int(value) <= 65535:
            raise argparse.ArgumentTypeError(
                f"bad port setting {item!r}: use NAME=PORT with NAME in {', '.join(PORT_NAMES)}"
            )
        ports[name] = int(value)
    return ports


def _size(text: str) -> int:
    """A byte count: 1000, 64K, 16M, 2G (binary multiples)."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    number, unit = text[:-1], text[-1:].upper()
    if unit not in units or unit == "":
        number, unit = text, ""
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"bad size {text!r}: use bytes, or a number with K, M, G")
    return int(number) * units[unit]


DEFAULT_WINDOW = 2_000  # observations kept in memory by `harness serve`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, help="directory whose files are served")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--fqdn", default=DEFAULT_FQDN, help="the lab's HTTPS server name")
    parser.add_argument(
        "--ports",
        type=_ports,
        default={},
        help="fixed ports, e.g. tftp=69,http=80,https=443,syslog=514,dns=53 (default: ephemeral)",
    )
    parser.add_argument(
        "--client-cert",
        choices=("none", "optional", "required"),
        default="optional",
        help="whether HTTPS asks devices for a client certificate",
    )
    parser.add_argument(
        "--pki-dir", help="where to write the lab CA certificates (default ROOT/../pki)"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--journal",
        metavar="DIR",
        help="where every observation is written as JSON lines (default ROOT/../journal); "
        "read it back with harness.observe.journal.read_journal",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"observations kept in memory (default {DEFAULT_WINDOW}); the journal has them all",
    )
    parser.add_argument(
        "--journal-max-bytes",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=f"rotate the journal past this size (default {DEFAULT_MAX_BYTES // 1024**2}M; "
        f"{DEFAULT_KEEP} rotated files are kept)",
    )
    parser.add_argument(
        "--allow-upload",
        metavar="DIR",
        help="accept TFTP uploads (WRQ) and write them under DIR (default: read-only, "
        "uploads get TFTP ERROR 2)",
    )
    parser.add_argument(
        "--upload-max-file",
        type=_size,
        default=DEFAULT_MAX_UPLOAD,
        metavar="SIZE",
        help=f"largest upload accepted, e.g. 16M (default {DEFAULT_MAX_UPLOAD // 1024**2}M)",
    )
    parser.add_argument(
        "--upload-quota",
        type=_size,
        default=DEFAULT_UPLOAD_QUOTA,
        metavar="SIZE",
        help="bytes of all uploads under DIR together, files already there included "
        f"(default {DEFAULT_UPLOAD_QUOTA // 1024**2}M)",
    )


def run(args: argparse.Namespace) -> int:
    console = terminal()
    root = Path(args.root)
    if not root.is_dir():
        print(f"harness serve: --root {root}: not a directory", file=sys.stderr)
        return 2
    pki = Path(args.pki_dir) if args.pki_dir else root.resolve().parent / "pki"
    journal_dir = Path(args.journal) if args.journal else root.resolve().parent / "journal"
    for flag, folder, what in (
        ("--pki-dir", pki, "the device CA's private key and the TLS key log"),
        ("--journal", journal_dir, "every recorded request"),
    ):
        if folder.resolve().is_relative_to(root.resolve()):
            print(
                f"harness serve: {flag} {folder} is inside --root {root}: {what} would be "
                f"served to anyone; choose a {flag} outside the root",
                file=sys.stderr,
            )
            return 2
    make_dirs(pki)
    if args.window < 1:
        print("harness serve: --window must be at least 1", file=sys.stderr)
        return 2
    recorder = Recorder(
        window=args.window, journal=Journal(journal_dir, max_bytes=args.journal_max_bytes)
    )
    upload_dir = Path(args.allow_upload) if args.allow_upload else None
    if upload_dir is not None:
        upload_dir.mkdir(parents=True, exist_ok=True)
    lab = ProvisioningLab(
        root,
        fqdn=args.fqdn,
        host=args.host,
        client_cert=args.client_cert,
        keylog_path=pki / "tls-keys.log",
        ports=args.ports,
        recorder=recorder,
        tftp_options={
            "writable": upload_dir is not None,
            "write_dir": upload_dir,
            "keep_uploads": False,
            "max_upload": args.upload_max_file,
            "upload_quota": args.upload_quota,
        },
    )

    def show(o: Observation) -> None:
        console.print(escape(observation_line(o)), soft_wrap=True)

    def problem(endpoint: str, text: str) -> None:
        console.print(f"[yellow]problem[/] {endpoint}: {escape(printable(text))}", soft_wrap=True)

    lab.recorder.subscribe(show)
    lab.subscribe_problems(problem)
    try:
        lab.start()
    except OSError as exc:
        console.print(
            f"[red]cannot bind: {escape(str(exc))}[/] (ports in use, or below 1024 without root?)"
        )
        return 2
    try:
        ca = lab.server_ca.cert_pem.write_to_path(pki / "server-ca.pem")
        lab.device_ca.cert_pem.write_to_path(pki / "device-ca.pem")
        lab.device_ca.private_key_pem.write_to_path(pki / "device-ca.key")
        console.print(f"[bold]serving {escape(str(root.resolve()))}[/]")
        for name, url in lab.urls().items():
            console.print(f"  {name:7} {url}")
        console.print(f"  DNS answers {lab.fqdn} -> {lab.host}; devices must trust {ca}")
        console.print(f"  TLS key log for Wireshark: {pki / 'tls-keys.log'}")
        console.print(
            f"  journal (every observation, JSON lines): {escape(str(journal_dir))}; "
            f"{args.window} kept in memory"
        )
        if upload_dir is None:
            console.print("  TFTP is read-only (--allow-upload DIR to accept uploads)")
        else:
            console.print(
                f"  TFTP uploads go to {escape(str(upload_dir))} "
                f"(at most {args.upload_max_file} bytes a file, {args.upload_quota} in all)"
            )
        console.print("[dim]Ctrl-C to stop[/]")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait(args.duration)
        except KeyboardInterrupt:
            pass
    finally:
        lab.stop()
    count = sum(ep.problem_count for ep in lab.endpoints)
    if count:
        console.print(f"{count} problems with client input (each shown as it happened)")
    return 0
