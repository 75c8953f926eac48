"""The conformance suite's pytest plugin: configuration, test cases, result collection.

Loaded with `-p harness.conformance.suite` (as `harness conform` does). The
run's configuration is one JSON file (`--conform-config`): the devices, the
requirement IDs to run (`only`), the work and output directories, a baseline
report. `cases()` makes one test case per (device, requirement, scenario);
`harness.conformance.test_conformance` runs them. Every worker stores its
scenario outcomes (harness.conformance.results); the controller collects the
per-test results from the reports' `user_properties` and, at the end of the
session, writes the run's reports. No scenario logic and no judging here.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.conformance.results import build_run_report, write_run_reports
from harness.conformance.runner import NO_SCENARIO, DeviceSpec, ScenarioCache, plan
from harness.conformance.scenario import Scenario
from harness.conformance.wire import RunCapture, remote_host

RESULT_KEY = "conform"  # user_properties key of one test's result dict


@dataclass
class ConformConfig:
    devices: list[DeviceSpec] = field(default_factory=lambda: [DeviceSpec()])
    only: list[str] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="conform-")))
    out: Path | None = None  # where the reports go; None: no reports
    baseline: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    capture: bool = False  # capture the run (harness.conformance.wire) and cut it per scenario

    def to_json(self) -> str:
        return json.dumps(
            {
                "devices": [d.to_dict() for d in self.devices],
                "only": self.only,
                "workdir": str(self.workdir),
                "out": str(self.out) if self.out else None,
                "baseline": str(self.baseline) if self.baseline else None,
                "meta": self.meta,
                "capture": self.capture,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> ConformConfig:
        data = json.loads(text)
        return cls(
            devices=[DeviceSpec.from_dict(d) for d in data.get("devices") or [{}]],
            only=list(data.get("only") or []),
            workdir=Path(data["workdir"]),
            out=Path(data["out"]) if data.get("out") else None,
            baseline=Path(data["baseline"]) if data.get("baseline") else None,
            meta=dict(data.get("meta") or {}),
            capture=bool(data.get("capture")),
        )


@dataclass(frozen=True)
class Case:
    device: DeviceSpec
    requirement: str
    scenario: Scenario | None  # None: no scenario judges the requirement yet
    several_devices: bool = False

    @property
    def scenario_name(self) -> str:
        return self.scenario.name if self.scenario else NO_SCENARIO

    @property
    def id(self) -> str:
        base = f"{self.requirement}@{self.scenario_name}"
        return f"{base}@{self.device.name}" if self.several_devices else base

    @property
    def group(self) -> str:
        """The xdist group: one worker per device; per scenario when there is one device."""
        return self.device.name if self.several_devices else self.scenario_name


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conform", "harness conformance suite")
    group.addoption("--conform-config", default=None, help="JSON configuration of the run")


_CONFIGS: dict[int, ConformConfig] = {}


def load_config(config: pytest.Config) -> ConformConfig:
    """The run's configuration (cached per pytest session)."""
    key = id(config)
    if key not in _CONFIGS:
        path = config.getoption("--conform-config", default=None)
        if path:
            _CONFIGS[key] = ConformConfig.from_json(Path(path).read_text())
        else:
            family = config.getoption("--harness-family", default="cisco-8831-3pcc")
            _CONFIGS[key] = ConformConfig(devices=[DeviceSpec(family=family)])
    return _CONFIGS[key]


def cases(cfg: ConformConfig) -> list[Any]:
    """pytest params, one per (device, requirement, scenario), marked with the requirement."""
    several = len(cfg.devices) > 1
    out = []
    for spec in cfg.devices:
        for req_id, judges in plan(spec.family, cfg.only or None):
            for sc in judges or [None]:
                case = Case(spec, req_id, sc, several)
                out.append(
                    pytest.param(
                        case,
                        id=case.id,
                        marks=[
                            pytest.mark.requirement(req_id),
                            pytest.mark.xdist_group(case.group),
                        ],
                    )
                )
    return out


@pytest.fixture(scope="session")
def conform_config(request: pytest.FixtureRequest) -> ConformConfig:
    return load_config(request.config)


@pytest.fixture(scope="session")
def conform_cache(conform_config: ConformConfig) -> ScenarioCache:
    return ScenarioCache(conform_config.workdir / "runs")


class ResultCollector:
    """Controller-side: every test's result dict, in the order they arrived."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            for key, value in report.user_properties:
                if key == RESULT_KEY:
                    self.results.append(value)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_CAPTURES: dict[int, RunCapture] = {}


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config) and not config.pluginmanager.has_plugin("conform-results"):
        config.pluginmanager.register(ResultCollector(), "conform-results")
    if _is_worker(config) or not config.getoption("--conform-config", default=None):
        return
    cfg = load_config(config)
    if cfg.capture and id(config) not in _CAPTURES:
        sim = any(d.kind == "sim" for d in cfg.devices)
        remote = [h for d in cfg.devices if d.kind != "sim" for h in [remote_host(d.address)] if h]
        _CAPTURES[id(config)] = RunCapture(cfg.workdir / "capture", sim, remote).start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        return
    cfg = load_config(config)
    capture = _CAPTURES.pop(id(config), None)
    sources = capture.stop() if capture is not None else []
    collector = config.pluginmanager.get_plugin("conform-results")
    results = collector.results if collector else []
    (cfg.workdir).mkdir(parents=True, exist_ok=True)
    (cfg.workdir / "results.json").write_text(json.dumps(results, indent=2))
    if cfg.out is None:
        return
    from harness.rules.registry import DeviceIdentity

    identities = {
        path.stem: DeviceIdentity(**json.loads(path.read_text()))
        for path in (cfg.workdir / "identity").glob("*.json")
    }
    meta = dict(cfg.meta)
    if capture is not None and capture.notes:
        meta["notes"] = [*meta.get("notes", []), *capture.notes]
    report = build_run_report(
        cfg.devices,
        cfg.workdir,
        only=cfg.only,
        meta=meta,
        identities=identities,
        run_captures=sources,
        capture_dir=cfg.out / "captures",
    )
    written = write_run_reports(report, cfg.out, cfg.baseline)
    (cfg.workdir / "written.json").write_text(
        json.dumps({k: str(v) for k, v in written.items()}, indent=2)
    )
