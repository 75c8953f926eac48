"""`harness profile encrypt|decrypt|compress|decompress|show`: the profile tools on files.

encrypt/decrypt are byte-compatible with `openssl enc -aes-256-cbc -md md5|sha256 -k KEY
[-d]`, the digest being the --family's key derivation (its spec file) unless --digest says; compress/decompress with `gzip -c` / `gzip -dc`; show prints the parameters of
any profile (decrypting with --key and inflating as needed) as a table. `-i`/`-o` default
to stdin/stdout (`-`). Only argument handling and file I/O live here; the transforms
are in harness.profiles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.profiles.compress import gunzip_profile, gzip_profile
from harness.profiles.crypto import DIGESTS, decrypt_profile, encrypt_profile, is_encrypted
from harness.profiles.errors import ProfileError
from harness.profiles.parse import load_profile_detailed
from harness.spec.family import FamilyError, family_names, load_family

HELP = "encrypt, decrypt, compress, decompress or show a provisioning profile"
DEFAULT_FAMILY = "cisco-8831-3pcc"
ACTIONS = ("encrypt", "decrypt", "compress", "decompress", "show")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do with the profile")
    parser.add_argument("-i", "--in", dest="input", default="-", help="input file (- = stdin)")
    parser.add_argument("-o", "--out", dest="output", default="-", help="output file (- = stdout)")
    parser.add_argument("-k", "--key", help="AES passphrase (as openssl enc -k)")
    kdf = ", ".join(f"{name}: {load_family(name).aes_kdf_digest}" for name in family_names())
    parser.add_argument(
        "--family",
        default=DEFAULT_FAMILY,
        help=f"device family (or a .toml file) whose key derivation --key uses "
        f"(default {DEFAULT_FAMILY}; {kdf})",
    )
    parser.add_argument(
        "--digest",
        choices=DIGESTS,
        default=None,
        help="override the family's key derivation digest: md5 (OpenSSL <= 1.0, old firmware) "
        "or sha256 (1.1+)",
    )


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(path).write_bytes(data)


def _show(data: bytes, key: str | None, digest: str, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    if key is None and is_encrypted(data):
        raise ProfileError(
            "the profile is encrypted: give --key (and --family or --digest for its key derivation)"
        )
    profile = load_profile_detailed(data, key, digest)
    how = [profile.format]
    if profile.gzipped:
        how.append("gzip")
    if profile.encrypted:
        how.append(f"aes-256-cbc/{digest}")
    table = Table(title=f"{len(profile.params)} parameters ({', '.join(how)})")
    table.add_column("parameter", no_wrap=True)
    table.add_column("value")
    table.add_column("ua")
    for name, value in profile.params.items():
        table.add_row(name, value, profile.access.get(name, ""))
    for name, ua in profile.access.items():
        if name not in profile.params:
            table.add_row(name, "(unchanged)", ua)
    if out == "-":
        Console(highlight=False).print(table)
    else:
        with open(out, "w", encoding="utf-8") as fh:
            Console(file=fh, highlight=False, width=200).print(table)


def run(args: argparse.Namespace) -> int:
    if args.digest is None:
        try:
            args.digest = load_family(args.family).aes_kdf_digest
        except FamilyError as exc:
            print(f"harness profile {args.action}: --family: {exc}", file=sys.stderr)
            return 2
    try:
        data = _read(args.input)
        if args.action in ("encrypt", "decrypt") and args.key is None:
            print(f"harness profile {args.action}: --key is required", file=sys.stderr)
            return 2
        if args.action == "encrypt":
            _write(args.output, encrypt_profile(data, args.key, args.digest))
        elif args.action == "decrypt":
            _write(args.output, decrypt_profile(data, args.key, args.digest))
        elif args.action == "compress":
            _write(args.output, gzip_profile(data))
        elif args.action == "decompress":
            _write(args.output, gunzip_profile(data))
        else:
            _show(data, args.key, args.digest, args.output)
    except ProfileError as exc:
        print(f"harness profile {args.action}: {args.input}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"harness profile {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0
