"""The CLI explains itself: --version, help for every option, exit codes in every --help,
and errors that name what is wrong (busy port, unknown requirement ID, key derivation).

Each check here has its failing side: an option without help, a --help without exit
codes, a busy port the message does not name, all make these tests fail.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness
from harness.cli import COMMANDS, build_parser, main

TREE = Path(harness.__file__).resolve().parent.parent


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, dict[str, str | None]]]:
    """(words after `harness`, parser, {child command: its help}) for the whole tree."""
    children: dict[str, str | None] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.metavar or c.dest: c.help for c in action._choices_actions}
            for name, child in action.choices.items():
                children[name] = helps.get(name)
                yield from parsers(child, (*path, name))
    yield path, parser, children


TREE_OF_PARSERS = list(parsers(build_parser()))


def test_every_command_is_in_the_tree() -> None:
    assert {p[0] for p, _, _ in TREE_OF_PARSERS if p} == set(COMMANDS)
    # subcommands of subcommands are walked too (netsim up, ...)
    assert ("netsim", "up") in {p for p, _, _ in TREE_OF_PARSERS}


@pytest.mark.parametrize(
    ("path", "parser", "children"),
    TREE_OF_PARSERS,
    ids=[" ".join(("harness", *p)) for p, _, _ in TREE_OF_PARSERS],
)
def test_help_explains_every_option_and_the_exit_codes(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    children: dict[str, str | None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    missing += [f"subcommand {name}" for name, text in children.items() if not text]
    assert not missing, f"harness {' '.join(path)}: no help text for {missing}"
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "\n  0 " in out and "\n  2 " in out, out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"harness {harness.__version__}"


def test_conform_only_accepts_any_case_and_lists_valid_ids() -> None:
    from harness.conformance.cli import UsageError, _only

    ok = argparse.Namespace(only=["http-404,Tls-Server-Cn"])
    assert _only(ok) == ["HTTP-404", "TLS-SERVER-CN"]
    with pytest.raises(UsageError) as err:
        _only(argparse.Namespace(only=["HTTP-999"]))
    text = str(err.value)
    assert "HTTP-999" in text and "valid IDs:" in text and "HTTP-404" in text


def run_cli(*argv: str, **kw) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(TREE))
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        **kw,
    )


@pytest.mark.parametrize(("family", "md"), [("cisco-mpp", "sha256"), ("cisco-spa", "md5")])
def test_profile_key_derivation_follows_the_family(tmp_path: Path, family: str, md: str) -> None:
    plain = tmp_path / "p.xml"
    plain.write_text("<flat-profile><GPP_A>x</GPP_A></flat-profile>")
    enc = tmp_path / "p.enc"
    done = run_cli("profile", "encrypt", "--family", family, "-k", "pw", "-i", str(plain),
                   "-o", str(enc))  # fmt: skip
    assert done.returncode == 0, done.stderr
    for digest, should_work in ((md, True), ({"md5": "sha256", "sha256": "md5"}[md], False)):
        dec = subprocess.run(
            ["openssl", "enc", "-d", "-aes-256-cbc", "-md", digest, "-k", "pw", "-in", str(enc)],
            capture_output=True,
        )
        assert (dec.returncode == 0 and dec.stdout == plain.read_bytes()) is should_work, digest
    bad = run_cli("profile", "decrypt", "--family", "no-such-family", "-k", "pw", "-i", str(enc))
    assert bad.returncode == 2 and "no-such-family" in bad.stderr


@pytest.mark.parametrize(
    ("proto", "kind"),
    [
        ("tftp", socket.SOCK_DGRAM),
        ("http", socket.SOCK_STREAM),
        ("https", socket.SOCK_STREAM),
        ("syslog", socket.SOCK_DGRAM),
        ("dns", socket.SOCK_DGRAM),
    ],
)
def test_serve_names_the_busy_port(tmp_path: Path, proto: str, kind: int) -> None:
    (tmp_path / "root").mkdir()
    with socket.socket(socket.AF_INET, kind) as busy:
        busy.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--root", str(tmp_path / "root"), "--ports", f"{proto}={port}",
                       "--duration", "0.1", cwd=tmp_path)  # fmt: skip
    out = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, out
    assert f"{proto}: cannot bind 127.0.0.1:{port}" in out, out


def test_sim_in_real_time_says_when_the_next_attempt_is_due(tmp_path: Path) -> None:
    # the reference phone waits up to Resync_Random_Delay before its first attempt
    done = run_cli("sim", "--server", "http://127.0.0.1:9/", "--duration", "0.5",
                   "--set", "Resync_Random_Delay=1", cwd=tmp_path)  # fmt: skip
    assert "SIM00000001 next resync attempt due (in " in done.stdout, done.stdout + done.stderr


def test_analyze_text_shows_offsets_from_an_iso_start_and_a_summary() -> None:
    done = run_cli("analyze", "captures/syslog-request-result.pcapng", "--no-progress", cwd=TREE)
    assert done.returncode == 1, done.stderr  # PROFILE-PLAIN-HTTP fails there
    lines = done.stdout.splitlines()
    assert lines[0].startswith("times: seconds from the first transaction, 20")
    assert "Z (UTC)" in lines[0]
    assert "+0.000" in done.stdout and "17" not in lines[0].split(",")[0]
    report = run_cli("analyze", "captures/syslog-request-result.pcapng", "--format", "json",
                     cwd=TREE)  # fmt: skip
    verdicts = [f["verdict"] for f in json.loads(report.stdout)["findings"]]
    counts = ", ".join(
        f"{verdicts.count(v)} {v}" for v in ("pass", "fail", "inconclusive", "skipped")
    )
    assert lines[-1] == f"summary: 1 device; findings: {counts}"
    assert verdicts.count("fail") >= 1
