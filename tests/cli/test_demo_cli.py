"""`harness demo --clients`: real clients provision from the lab and the tour says so."""

import subprocess
import sys


def test_client_tour_fetches_over_every_protocol(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "demo", "--clients", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "profile fetched intact over: via-http.cfg, via-https.cfg, via-tftp.cfg" in out.stdout
    assert (tmp_path / "tls-keys.log").stat().st_size > 0
    for rule in ("UA-FORMAT", "UA-IDENTITY", "SYSLOG-MACROS", "TLS-CLIENT-CERT"):
        line = next(x for x in out.stdout.splitlines() if f"│ {rule} " in x)
        assert "pass" in line, line
