"""The `harness` command: a dispatcher over one module per subcommand.

Each subcommand module exposes `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int` (the exit code). This file only wires them together; a
subcommand whose module is not importable is left out with a note in --help.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

# subcommand -> module implementing it
COMMANDS: dict[str, str] = {
    "serve": "harness.endpoints.serve_cli",
    "demo": "harness.demo",
    "pki": "harness.pki.cli",
    "profile": "harness.profiles.cli",
    "sim": "harness.device.sim.cli",
    "analyze": "harness.analyze.cli",
    "replay": "harness.analyze.replay_cli",
    "netsim": "harness.netsim.cli",
    "conform": "harness.conformance.cli",
    "storm": "harness.storm.cli",
}


def _load(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported (fast start)."""
    parser = argparse.ArgumentParser(
        prog="harness", description="Test and analyze IP-phone provisioning (Cisco SPA / 3PCC)."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is not None and name != only:
            continue
        mod = _load(module)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
