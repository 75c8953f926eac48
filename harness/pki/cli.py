"""`harness pki init DIR`: write a test PKI to a directory for real servers and phones.

Writes the server CA, the device CA, the server certificate and key for an
FQDN, optionally the named certificate matrix, one client certificate per
`--device PRODUCT,SERIAL,MAC` and the generic one; keys are mode 0600. Prints
each file it wrote. Argument handling and file layout only; the PKI itself is
harness.pki.ca.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from harness.pki.blobs import Blob, make_dirs
from harness.pki.ca import CA, Certificate
from harness.pki.variants import SERVER_CERT_VARIANTS, build_server_cert

HELP = "make a test PKI: server/device CAs, server certificates (the matrix), client certificates"

_MAC = re.compile(r"^[0-9A-Fa-f]{12}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pki_command", metavar="ACTION")
    init = sub.add_parser("init", help="write CAs, server and client certificates to DIR")
    init.add_argument("dir", type=Path, help="output directory (created if missing)")
    init.add_argument("--fqdn", required=True, help="the provisioning server's name")
    init.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="PRODUCT,SERIAL,MAC",
        help="a device's client certificate (repeatable), e.g. CP-8831-3PCC,88012BA01234,000e08abcdef",
    )
    init.add_argument(
        "--variants",
        default="",
        metavar="all|NAME[,NAME...]",
        help=f"also write these server-certificate variants: {', '.join(SERVER_CERT_VARIANTS)}",
    )


def parse_device(text: str) -> tuple[str, str, str]:
    """PRODUCT,SERIAL,MAC -> (product, serial, mac lower-case, no separators)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--device {text!r}: expected PRODUCT,SERIAL,MAC")
    product, serial, mac = parts
    mac = re.sub(r"[:.-]", "", mac)
    if not _MAC.match(mac):
        raise ValueError(f"--device {text!r}: MAC {parts[2]!r} is not 12 hex digits")
    if not re.match(r"^[A-Za-z0-9._-]+$", serial):
        raise ValueError(f"--device {text!r}: serial {serial!r} must be letters, digits, . _ -")
    return product, serial, mac.lower()


def parse_variants(text: str) -> list[str]:
    if not text:
        return []
    if text == "all":
        return list(SERVER_CERT_VARIANTS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVER_CERT_VARIANTS]
    if unknown:
        raise ValueError(
            f"--variants: unknown {', '.join(unknown)}; known: {', '.join(SERVER_CERT_VARIANTS)}"
        )
    return names


def init_pki(
    directory: Path,
    fqdn: str,
    devices: list[tuple[str, str, str]],
    variants: list[str],
) -> list[Path]:
    """Write the PKI to `directory`; returns the files written, in order."""
    make_dirs(directory)
    written: list[Path] = []

    def pair(cert: Certificate, stem: Path) -> None:
        make_dirs(stem.parent)
        c, k = cert.write_to_path(stem.with_suffix(".pem"), stem.with_suffix(".key"))
        written.extend([c, k] if k else [c])

    server_ca, device_ca = CA("server"), CA("device")
    for ca, name in ((server_ca, "server-ca"), (device_ca, "device-ca")):
        written.append(ca.cert_pem.write_to_path(directory / f"{name}.pem"))
        written.append(ca.private_key_pem.write_to_path(directory / f"{name}.key"))
    pair(build_server_cert(server_ca, fqdn), directory / "server")
    for variant in variants:
        cert = build_server_cert(server_ca, fqdn, variant)
        pair(cert, directory / "variants" / variant)
        if cert.withheld:  # the intermediate the server does not send, for reference
            path = directory / "variants" / f"{variant}.withheld.pem"
            chain = Blob(b"".join(Certificate(c, None).cert_pem.bytes() for c in cert.withheld))
            written.append(chain.write_to_path(path))
    for product, serial, mac in devices:
        pair(device_ca.issue_client_cert(product, serial, mac), directory / "clients" / serial)
    pair(device_ca.generic_client_cert(), directory / "clients" / "generic")
    return written


def run(args: argparse.Namespace) -> int:
    if getattr(args, "pki_command", None) != "init":
        print("usage: harness pki init DIR --fqdn FQDN [--device P,S,M ...]", file=sys.stderr)
        return 2
    try:
        devices = [parse_device(d) for d in args.device]
        variants = parse_variants(args.variants)
        written = init_pki(args.dir, args.fqdn, devices, variants)
    except (ValueError, OSError) as exc:
        print(f"harness pki init: {exc}", file=sys.stderr)
        return 2
    for path in written:
        mode = path.stat().st_mode & 0o777
        print(f"{path}  ({mode:04o})")
    return 0
