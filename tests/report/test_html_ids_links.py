"""report.html is well-formed for a browser and a reader: every element id is unique, every
#anchor has its target, every relative link resolves to a file beside the report, the
captures the report was made from are linked, a long list of evidence files is grouped and
collapsed, empty key logs are not listed. Checked on a real `harness conform` run, on a
real `harness analyze` run of the reference captures, and on hand-made runs (parsed with
html.parser)."""

from __future__ import annotations

import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from harness.cli import main
from harness.report.write import write_reports

from .runs import device_run, finding, run_report

ROOT = Path(__file__).resolve().parents[2]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.details = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "details":
            self.details += 1
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])


def page_problems(page: Path) -> list[str]:
    """Duplicate ids, anchors without a target, relative links to no file."""
    p = _Page()
    p.feed(page.read_text("utf-8"))
    out = [f"duplicate id {i!r} ({n}x)" for i, n in Counter(p.ids).items() if n > 1]
    ids = set(p.ids)
    for link in p.links:
        parts = urlsplit(link)
        if link.startswith("#"):
            if link[1:] not in ids:
                out.append(f"anchor {link} has no target")
        elif not parts.scheme and not (page.parent / unquote(parts.path)).is_file():
            out.append(f"link {link} resolves to no file")
    return out


def _links(page: Path) -> list[str]:
    p = _Page()
    p.feed(page.read_text("utf-8"))
    return p.links


def test_the_checker_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<p id="a"></p><p id="a"></p><a href="#b">x</a><a href="nope.pcap">y</a>')
    assert page_problems(bad) == [
        "duplicate id 'a' (2x)",
        "anchor #b has no target",
        "link nope.pcap resolves to no file",
    ]


@pytest.mark.skipif(
    shutil.which("dumpcap") is None and shutil.which("tcpdump") is None, reason="no capture tool"
)
def test_conform_report(tmp_path):
    out = tmp_path / "conform"
    assert main(["conform", "--only", "HTTP-404,TLS-CLIENT-CERT", "--out", str(out), "--no-live"]) in (0, 1)  # fmt: skip
    page = out / "report.html"
    assert page_problems(page) == []
    pcaps = sorted(p.relative_to(out).as_posix() for p in (out / "captures").glob("*.pcapng"))
    assert pcaps and set(pcaps) <= set(_links(page))  # every scenario's pcap is linked
    whole = [p.relative_to(out).as_posix() for p in out.glob("work/capture/run-*.pcapng")]
    assert whole and set(whole) <= set(_links(page))  # and the run's capture they came from


def test_analyze_report(tmp_path):
    page = tmp_path / "sub" / "report.html"
    page.parent.mkdir()
    caps = ROOT / "captures"
    code = main(["analyze", str(caps), "--keylog", str(caps / "https-resync-clean.keys"),
                 "--format", "html", "--out", str(page), "--no-progress"])  # fmt: skip
    assert code in (0, 1)
    assert page_problems(page) == []
    linked = {(page.parent / unquote(link)).resolve() for link in _links(page)}
    assert {p.resolve() for p in caps.glob("*.pcapng")} <= linked  # all 7, in "Made from"


def test_findings_of_one_requirement_get_distinct_ids(tmp_path):
    twice = [finding("HTTP-404", "fail", "retried too soon", frames=(7,)),
             finding("HTTP-404", "fail", "retried too soon again", frames=(9,))]  # fmt: skip
    paths = write_reports(run_report(device_run(extra_findings=twice)), tmp_path / "r")
    html = paths["html"].read_text()
    assert page_problems(paths["html"]) == []
    assert 'id="d0-HTTP-404"' in html and 'id="d0-HTTP-404-2"' in html


def _files(tmp_path: Path, n: int) -> tuple[list[Path], list[Path]]:
    caps, keys = [], []
    for i in range(n):
        caps.append(tmp_path / f"in/cap{i}.pcapng")
        keys.append(tmp_path / f"in/cap{i}.keys")
    caps[0].parent.mkdir(parents=True)
    for c in caps:
        shutil.copy(ROOT / "captures" / "http-404-retry-ok.pcapng", c)
    for i, k in enumerate(keys):
        k.write_text("" if i % 2 else "CLIENT_RANDOM 00 11\n")  # every other one empty
    return caps, keys


def test_long_evidence_lists_are_grouped_and_collapsed_without_empty_key_logs(tmp_path):
    caps, keys = _files(tmp_path, 5)
    paths = write_reports(run_report(device_run(captures=caps, keylogs=keys)), tmp_path / "r")
    page = paths["html"]
    html = page.read_text()
    assert page_problems(page) == []
    p = _Page()
    p.feed(html)
    assert "<summary>Evidence files: 5 captures, 3 TLS key logs</summary>" in html
    assert "cap1.keys" not in html and "cap3.keys" not in html  # empty: not listed
    assert "cap0.keys" in html and "cap4.keys" in html


def test_a_short_evidence_list_stays_open(tmp_path):
    caps, keys = _files(tmp_path, 2)
    paths = write_reports(run_report(device_run(captures=caps, keylogs=keys)), tmp_path / "r")
    html = paths["html"].read_text()
    assert "Evidence files captures:" in html and "Evidence files TLS key logs:" in html
    assert "<summary>Evidence files" not in html
    assert "cap1.keys" not in html
