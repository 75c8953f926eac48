"""A conformance run's evidence on the wire: one live capture per run, one pcapng per scenario.

Starting a capture tool per scenario costs 0.5-1 s, more than most scenarios
take; so `RunCapture` captures once for the whole run (harness.capture.live):
on `lo` for the simulated phones (each scenario's phone has its own loopback
address in `PHONE_NET`, harness.device.sim.adapters.source), on `any` for real
phones (their addresses). `write_scenario_captures()` then cuts the file into
`<device>--<scenario>.pcapng` per scenario outcome (harness.capture.split):
only that phone's frames in that scenario's time window, timestamps mapped to
the phone clock's time through the VirtualClock journal, the TLS key log
embedded as a Decryption Secrets Block and written beside it
(`.keys`, when not empty) with the CA the phone trusted (`.ca.pem`).
No judging and no report building here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.capture.live import CaptureError, LiveCapture
from harness.capture.reader import CaptureFormatError
from harness.capture.retime import Retimer
from harness.capture.split import Slice, split_capture
from harness.conformance.scenario import ScenarioOutcome

if TYPE_CHECKING:
    from harness.conformance.runner import DeviceSpec
from harness.device.sim.adapters.source import PHONE_NET

SIM_BPF = f"net {PHONE_NET}"


@dataclass
class ScenarioFiles:
    """The evidence files of one scenario run on one device (absolute paths)."""

    capture: Path | None
    keylog: Path | None
    trust_ca: Path | None
    frames: int = 0
    note: str = ""


def _secrets_only(keylog: bytes) -> bytes:
    """The key log's secret lines (comment lines dropped); b"" when it holds no secret."""
    lines = [ln for ln in keylog.splitlines() if ln.strip() and not ln.startswith(b"#")]
    return b"\n".join(lines) + b"\n" if lines else b""


def capture_name(device: str, scenario: str) -> str:
    return f"{device}--{scenario}.pcapng"


class RunCapture:
    """The run's live captures: `lo` for simulated phones, `any` for real ones' addresses."""

    def __init__(self, folder: Path, sim: bool, remote_hosts: Iterable[str] = ()) -> None:
        self.folder = folder
        self.captures: list[LiveCapture] = []
        self.notes: list[str] = []
        self.files: list[Path] = []
        hosts = sorted(set(remote_hosts))
        self._plan: list[tuple[str, str, Path]] = []
        if sim:
            self._plan.append(("lo", SIM_BPF, folder / "run-sim.pcapng"))
        if hosts:
            bpf = " or ".join(f"host {h}" for h in hosts)
            self._plan.append(("any", bpf, folder / "run-remote.pcapng"))

    def start(self) -> RunCapture:
        for iface, bpf, path in self._plan:
            try:
                cap = LiveCapture(iface, bpf, path)
                cap.start()
            except (CaptureError, OSError, ValueError) as exc:
                self.notes.append(f"no capture on {iface} ({bpf}): {exc}")
                continue
            self.captures.append(cap)
        return self

    def stop(self) -> list[Path]:
        for cap in self.captures:
            try:
                self.files.append(cap.stop())
            except CaptureError as exc:
                self.notes.append(f"capture on {cap.interface} failed: {exc}")
        self.captures = []
        return self.files


def _comments(device: str, outcome: ScenarioOutcome, description: str) -> list[str]:
    w = outcome.wire
    assert w is not None
    head = (
        f"harness conform: device {device} ({description}), scenario {outcome.scenario.name} "
        f"(requirements {', '.join(outcome.scenario.requirements)}); frames to or from "
        f"{', '.join(w.addresses) or 'nobody'} only"
        + (
            f", without the harness's own traffic on port(s) {', '.join(map(str, w.control_ports))}."
            if getattr(w, "control_ports", ())
            else "."
        )
    )
    if w.journal is not None:
        clock = (
            "Timestamps are the simulated phone's virtual clock (harness VirtualClock), not "
            "the real capture time: each frame's real time is mapped through the clock's "
            f"journal of its {len(w.journal) - 1} jumps, so a 3600 s wait is 3600 s apart here."
        )
    else:
        clock = "Timestamps are the real capture time (the device runs on a real clock)."
    return [head, clock]


def write_scenario_captures(
    sources: Iterable[Path],
    outcomes: dict[str, list[ScenarioOutcome]],
    dest: Path,
    descriptions: dict[str, str] | None = None,
) -> dict[tuple[str, str], ScenarioFiles]:
    """One pcapng (+ key log, CA) per (device, scenario) outcome with traffic; by (device, name)."""
    descriptions = descriptions or {}
    slices: list[tuple[str, ScenarioOutcome, Slice]] = []
    files: dict[tuple[str, str], ScenarioFiles] = {}
    for device, outs in outcomes.items():
        for oc in outs:
            w = oc.wire
            if w is None:
                continue
            name = capture_name(device, oc.scenario.name)
            path = dest / name
            keylog = b""
            if w.keylog:
                with contextlib.suppress(OSError):
                    keylog = _secrets_only(Path(w.keylog).read_bytes())
            sl = Slice(
                path,
                frozenset(w.addresses),
                w.start,
                w.end,
                Retimer(w.journal) if w.journal else (lambda t: t),
                _comments(device, oc, descriptions.get(device, device)),
                keylog,
                frozenset(getattr(w, "control_ports", ())),
            )
            slices.append((device, oc, sl))
            key_path = ca_path = None
            if keylog.strip():
                key_path = path.with_suffix(".keys")
                dest.mkdir(parents=True, exist_ok=True)
                key_path.write_bytes(keylog)
            if w.trust_ca_pem:
                ca_path = path.with_suffix(".ca.pem")
                dest.mkdir(parents=True, exist_ok=True)
                ca_path.write_bytes(w.trust_ca_pem)
            files[(device, oc.scenario.name)] = ScenarioFiles(path, key_path, ca_path)
    sources = [s for s in sources if s and Path(s).is_file()]
    if not sources:
        for f in files.values():
            f.capture, f.note = None, "no capture of this run (see the run's notes)"
        return files
    try:
        split_capture(sources, [sl for _, _, sl in slices])
    except (CaptureFormatError, OSError) as exc:  # a broken run capture must not lose the run
        for f in files.values():
            f.capture, f.note = None, f"the run capture could not be cut: {exc}"
        return files
    for device, oc, sl in slices:
        files[(device, oc.scenario.name)].frames = sl.frames
    return files


@dataclass
class CapturedRun:
    """The suite run on one device with its run capture cut per scenario (no pytest)."""

    results: list  # list[RequirementResult]
    outcomes: list[ScenarioOutcome]
    files: dict[tuple[str, str], ScenarioFiles]
    notes: list[str]


def run_captured(
    spec: DeviceSpec,
    dest: Path,
    *,
    only: Iterable[str] | None = None,
    scenario_names: Iterable[str] | None = None,
    workdir: Path | None = None,
) -> CapturedRun:
    """`runner.run_device` (or just the named scenarios) inside a `RunCapture`, then
    `write_scenario_captures` into `dest`."""
    from harness.conformance.runner import ScenarioCache, judge, run_device
    from harness.conformance.scenario import scenarios

    workdir = workdir or dest / "work"
    cache = ScenarioCache(workdir / "runs")
    remote = () if spec.kind == "sim" else [h for h in [remote_host(spec.address)] if h]
    cap = RunCapture(workdir / "capture", sim=spec.kind == "sim", remote_hosts=remote).start()
    try:
        if scenario_names is None:
            results = run_device(spec, only, cache)
        else:
            every = scenarios()
            results = []
            for name in scenario_names:
                oc = cache.outcome(spec, every[name])
                results += [judge(r, oc, spec.name) for r in oc.scenario.requirements]
    finally:
        sources = cap.stop()
    outcomes = cache.outcomes(spec)
    files = write_scenario_captures(
        sources, {spec.name: outcomes}, dest, {spec.name: spec.describe()}
    )
    return CapturedRun(results, outcomes, files, cap.notes)


def remote_host(address: str | None) -> str | None:
    """The host of a real phone's admin address (HOST[:PORT] or a URL)."""
    from urllib.parse import urlsplit

    if not address:
        return None
    return urlsplit(address if "://" in address else f"http://{address}").hostname
