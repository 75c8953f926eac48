"""The `harness` command: a dispatcher over one module per subcommand.

Each subcommand module exposes `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int` (the exit code). This file only wires them together, adds
`--version`, and gives every parser (subcommands and their actions too) an
epilog stating its exit codes (`EXIT_CODES`); a subcommand whose module is not
importable is left out.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

INTERRUPTED = "130 interrupted (Ctrl-C)"
USAGE = "2 bad usage or unusable input (the message says what, where and why)"

# subcommand -> what its exit codes mean (stated in every --help)
EXIT_CODES: dict[str | None, tuple[str, ...]] = {
    None: ("0 the command succeeded", "1 a check or a finding failed", USAGE, INTERRUPTED),
    "serve": ("0 stopped (Ctrl-C or --duration)", f"{USAGE}, or a port is busy", INTERRUPTED),
    "demo": ("0 every verdict was the expected one", "1 a verdict was not", USAGE, INTERRUPTED),
    "pki": ("0 written", "2 bad arguments or the directory cannot be written", INTERRUPTED),
    "profile": ("0 done", "1 the profile could not be read, decrypted or written", USAGE),
    "sim": (
        "0 every phone's last attempt succeeded (class A)",
        "1 a phone's last attempt did not, or it made none",
        USAGE,
        INTERRUPTED,
    ),
    "analyze": (
        "0 no finding failed (pass, inconclusive or skipped only)",
        "1 a finding failed",
        "2 unusable input or arguments (the message says what, where and why)",
        INTERRUPTED,
    ),
    "replay": (
        "0 the server answered every request as in the capture",
        "1 an answer differed",
        "2 unusable capture or arguments, or several devices and no --device",
        INTERRUPTED,
    ),
    "netsim": (
        "0 done",
        "1 the topology could not be built or found",
        "2 bad arguments, or network namespaces are not available here (not root)",
        INTERRUPTED,
    ),
    "storm": (
        "0 every phone provisioned and every phone retried as Table 3-1 allows",
        "1 a phone broke a Table 3-1 rule (retried sooner than its class allows)",
        "2 bad arguments",
        "3 not every phone got its profile (a finding about the server: see the summary)",
        INTERRUPTED,
    ),
    "query": ("0 the query ran", "2 no store there, or an SQL error (DuckDB's message)"),
    "fleet": ("0 the report was written", "2 no store there, or bad arguments"),
    "conform": (
        "0 every requirement passed or was skipped with a reason",
        "1 a requirement failed",
        "2 bad arguments, or the suite could not run",
        INTERRUPTED,
    ),
}


def exit_codes_epilog(command: str | None) -> str:
    lines = EXIT_CODES.get(command, EXIT_CODES[None])
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines)


def _with_epilog(parser: argparse.ArgumentParser, epilog: str) -> None:
    """Give `parser` and every parser below it the exit-code epilog (keeping their own)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = f"{parser.epilog}\n\n{epilog}" if parser.epilog else epilog
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _with_epilog(child, epilog)


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
    "query": "harness.fleet.query",
    "fleet": "harness.fleet.report",
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
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="harness",
        description="Test and analyze IP-phone provisioning (Cisco SPA / 3PCC).",
        epilog="`harness COMMAND --help` says what each command does and its exit codes.\n\n"
        + exit_codes_epilog(None),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"harness {__version__}", help="print the version"
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
        _with_epilog(p, exit_codes_epilog(name))
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
