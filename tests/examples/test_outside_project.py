"""The plugin as a user meets it: a throwaway project outside this repository.

A directory in tmp_path with no pyproject.toml and no conftest.py holds a test
file written only from the README; pytest runs it in a subprocess with the
shared virtualenv's interpreter (where `pip install` put this package and its
`pytest11` entry point), once in pytest-asyncio's default strict mode and once
in auto mode. PYTHONPATH names only this tree's root, so the run exercises the
code of the tree the test runs from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness

TREE = Path(harness.__file__).resolve().parent.parent

USER_TESTS = """
import subprocess

import pytest

from harness.testing import DeviceIdentity, TftpTransfer, Verdict

PROFILE = "<flat-profile><Resync_Periodic>3600</Resync_Periodic></flat-profile>"
RULES = ["UA-FORMAT", "UA-IDENTITY", "SYSLOG-REQUEST", "SYSLOG-RESULT"]


@pytest.mark.asyncio
@pytest.mark.parametrize("run", range(4))
async def test_phone_provisions_from_the_lab(provisioning_lab, sim_phone, run):
    lab = provisioning_lab
    lab.put("/CP-8831-3PCC.cfg", PROFILE)
    phone = sim_phone(
        parameters={"Profile_Rule": lab.http.url + "/$PN.cfg"}, syslog=lab.syslog.address
    )
    await phone.run_until(attempts=1)
    identity = DeviceIdentity(product=phone.identity.product, serial=phone.identity.serial)
    findings = lab.evaluate("cisco-8831-3pcc", identity=identity, only=RULES)
    assert [(f.rule, f.verdict) for f in findings] == [(r, Verdict.PASS) for r in RULES]


@pytest.mark.asyncio
async def test_silent_phone_is_expected_to_pass(provisioning_lab, sim_phone):
    # deliberately wrong: this phone never logs, so SYSLOG-RESULT must fail
    lab = provisioning_lab
    lab.put("/CP-8831-3PCC.cfg", PROFILE)
    phone = sim_phone(
        parameters={"Profile_Rule": lab.http.url + "/$PN.cfg"},
        syslog=lab.syslog.address,
        quirks=["silent-syslog"],
    )
    await phone.run_until(attempts=1)
    (finding,) = lab.evaluate("cisco-8831-3pcc", only=["SYSLOG-RESULT"])
    assert finding.verdict == Verdict.PASS


def test_http_server(http_server):
    http_server.expect("/CP-8831-3PCC.cfg").respond(404).then(200, body="<flat-profile/>")
    for expected in ("404", "200"):
        got = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             http_server.url_for("/CP-8831-3PCC.cfg")],
            capture_output=True, text=True, timeout=30,
        ).stdout
        assert got == expected
    assert [r.status for r in http_server.requests] == [404, 200]
    http_server.check_no_unexpected()


def test_tftp_server(tftp_server, tmp_path):
    (tftp_server.root / "CP-8831-3PCC.cfg").write_text("<flat-profile/>")
    out = tmp_path / "got.cfg"
    subprocess.run(
        ["tftp", "127.0.0.1", str(tftp_server.port), "-m", "binary", "-c", "get",
         "CP-8831-3PCC.cfg", str(out)],
        check=True, timeout=30,
    )
    (transfer,) = tftp_server.wait_transfers(1)
    assert isinstance(transfer, TftpTransfer) and transfer.outcome == "complete"
    assert out.read_text() == "<flat-profile/>"
"""


def readme_examples() -> str:
    """The python blocks of README.md's plugin section, one after the other, as written."""
    readme = (TREE / "README.md").read_text()
    section = readme.split("## The pytest plugin: fixtures", 1)[1].split("\n## ", 1)[0]
    return "\n\n".join(re.findall(r"```python\n(.*?)```", section, re.S))


def run_user_project(
    project: Path, mode: str, test_file: str = "test_user.py"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["PYTHONPATH"] = str(TREE)  # this tree's harness, nothing else from the repository
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    cmd += ["-o", f"asyncio_mode={mode}"]
    return subprocess.run(
        [*cmd, "-q", "-rf", test_file],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_readme_fixtures_work_in_a_fresh_project(tmp_path: Path, mode: str) -> None:
    project = tmp_path / "user-project"
    project.mkdir()
    assert TREE not in project.parents and not (project / "pyproject.toml").exists()
    (project / "test_user.py").write_text(USER_TESTS)
    result = run_user_project(project, mode)
    out = result.stdout + result.stderr
    assert "requested an async fixture" not in out, out
    summary = result.stdout.strip().splitlines()[-1]
    # 4 lab runs + http + tftp pass; the deliberately wrong expectation fails, and only it
    assert re.search(r"\b1 failed, 6 passed\b", summary), out
    assert "FAILED test_user.py::test_silent_phone_is_expected_to_pass" in out, out
    assert result.returncode == 1, out


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_readme_plugin_examples_run_as_written(tmp_path: Path, mode: str) -> None:
    code = readme_examples()
    tests = re.findall(r"^(?:async )?def (test_\w+)", code, re.M)
    assert len(tests) >= 6 and "from harness.testing import" in code
    project = tmp_path / "readme-project"
    project.mkdir()
    (project / "test_readme.py").write_text(code)
    result = run_user_project(project, mode, "test_readme.py")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert re.search(rf"\b{len(tests)} passed\b", result.stdout.strip().splitlines()[-1]), out
