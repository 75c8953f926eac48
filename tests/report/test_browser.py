"""report.html rendered by a real browser (headless Chromium): matrix and timeline plot present."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness.report.write import write_reports

from .runs import device_run, run_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; make system)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,2000",
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run chromium with a throwaway profile; kill its whole process group if it hangs."""
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return write_reports(run_report(device_run()), out)["html"]


def test_rendered_dom_has_the_matrix_and_the_timeline_plot(report_html, tmp_path):
    done = chromium(tmp_path, "--dump-dom", report_html.as_uri())
    dom = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '<table class="matrix" id="requirement-matrix">' in dom
    assert 'data-requirement="TLS-SERVER-CN"' in dom and 'data-verdict="fail"' in dom
    assert '<svg class="timeline"' in dom and 'class="attempt"' in dom


def test_screenshot_is_a_non_empty_png(report_html, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", report_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_page_is_self_contained(report_html):
    html = report_html.read_text()
    for needle in ("<script", "<link", " src=", "url(http", "@import"):
        assert needle not in html, needle
