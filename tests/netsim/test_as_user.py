"""The laptop path: without root (simulated with HARNESS_NETSIM_AS_USER=1, not by dropping
privileges) the emulated tests run, the namespace tests skip with the reason, and
`harness netsim emulate` works while `harness netsim up` refuses and points to it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from harness.netsim.system import AS_USER_ENV
from tests.netsim.test_delay import UdpEcho, udp_rtt

USER_ENV = {**os.environ, AS_USER_ENV: "1"}


def harness(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "netsim", *argv],
        capture_output=True, text=True, timeout=60, env=USER_ENV,
    )  # fmt: skip


def test_emulated_tests_run_and_namespace_tests_skip_as_a_user() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/netsim/test_emulation.py", "tests/netsim/test_nat_kinds.py",
         "tests/netsim/test_delay.py",
         "-k", "stun_discovery or labelled or classifies_the_kind or set_delay"],
        capture_output=True, text=True, timeout=120, env=USER_ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:]
    assert re.search(r"\b5 passed, 5 skipped\b", r.stdout), r.stdout[-3000:]
    assert r.stdout.count(f"needs network namespaces: not root ({AS_USER_ENV} is set)") >= 2


def test_up_refuses_and_points_to_emulate() -> None:
    r = harness("up", "--nat", "symmetric", "--name", "asuser")
    assert r.returncode == 2
    assert "not root" in r.stderr and "harness netsim emulate" in r.stderr


def test_emulate_relays_and_labels_itself() -> None:
    with UdpEcho() as echo:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "netsim", "emulate", "--nat", "full-cone",
             "--udp", f"{echo.host}:{echo.port}", "--outside", "127.0.0.3", "--duration", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=USER_ENV,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("ready"):
                    break
            assert lines and lines[0].startswith("EMULATION: NAT kind full-cone"), lines
            m = re.search(r"udp (\S+):(\d+) -> .*EMULATED NAT", "".join(lines))
            assert m, lines
            assert udp_rtt((m.group(1), int(m.group(2))), probes=1) >= 0
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert "EMULATION ended: udp out 1, in 1, filtered 0" in out


def test_emulate_refuses_bad_arguments_clearly() -> None:
    r = harness("emulate", "--nat", "symmetric")
    assert r.returncode == 2 and "--udp HOST:PORT" in r.stderr
    r = harness("emulate", "--udp", "localhost")
    assert r.returncode == 2 and "expected HOST:PORT" in r.stderr
