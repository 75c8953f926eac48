"""The rules' and analyzer's caches change nothing: findings and facts equal the uncached ones.

Caches under test: the status rules' outcomes per timeline (`shared_value`), the
profile-rule targets of the last context, `template_regex`'s compiled patterns, and
the analyzer's body classification by digest. Each comparison runs once with the
caches and once with every one of them bypassed. No timing here (that is bench/).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

import harness.analyze.http as http_mod
import harness.rules.registry as registry
import harness.rules.status_rules as status_rules
import harness.spec.macros as macros
from harness.analyze.engine import analyze_capture
from harness.analyze.judge import judge
from harness.conformance.scenario import run_scenario, scenarios
from harness.device.sim.quirks import QUIRKS
from harness.device.sim_device import SimDevice
from harness.observe.timeline import build_timelines
from harness.profiles.classify import classify_profile_body
from harness.rules.attempts import shared_value
from harness.rules.finding import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec.family import load_family
from tests.analyze.test_perf_invariants import _bench

FAMILIES = ("cisco-spa", "cisco-8831-3pcc", "cisco-mpp")


def _no_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bypass every cache of the rules step (and the analyzer's classification cache)."""
    monkeypatch.setattr(registry, "shared_attempts", lambda tl: contextlib.nullcontext())
    monkeypatch.setattr(macros, "_template_regex", macros._template_regex.__wrapped__)
    monkeypatch.setattr(
        status_rules,
        "rule_targets",
        lambda ctx: status_rules._rule_targets(
            tuple(ctx.param(n) for n in status_rules._PROFILE_RULES), ctx
        ),
    )
    monkeypatch.setattr(
        http_mod,
        "_classify",
        lambda body, key, digest, whole: classify_profile_body(body, key, digest, complete=whole),
    )


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("caches") / "mixed.pcap"
    _bench().generate(path, packets=4000, seed=11)
    return path


@pytest.mark.parametrize("family", FAMILIES)
def test_capture_findings_equal_without_caches(
    capture: Path, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fam = load_family(family)
    params = {"Profile_Rule": "http://prov.example.net/$PN.cfg", "Syslog_Server": "198.51.100.1"}
    cached_run = analyze_capture(capture)
    _, cached, _ = judge(
        cached_run.observations, fam, seen_profiles=cached_run.profiles, cli_params=params
    )
    _no_caches(monkeypatch)
    plain_run = analyze_capture(capture)
    assert plain_run.observations == cached_run.observations
    _, plain, _ = judge(
        plain_run.observations, fam, seen_profiles=plain_run.profiles, cli_params=params
    )
    assert cached == plain
    assert {Verdict.PASS, Verdict.FAIL} <= {f.verdict for f in cached}


# scenarios whose quirks break status, syslog and profile rules (the cached paths)
QUIRKY = sorted(
    n
    for n, q in QUIRKS.items()
    if any(r.startswith(("HTTP-", "SYSLOG-", "PROFILE-", "RESYNC-")) for r in q.breaks)
)[:6]


async def _scenario_observations(quirks: tuple[str, ...]) -> list[tuple[Any, Any]]:
    out = []
    for _name, sc in sorted(scenarios().items()):
        if not any(r.startswith(("HTTP-", "SYSLOG-", "PROFILE-")) for r in sc.requirements):
            continue
        dev = SimDevice(quirks=quirks)
        outcome = await run_scenario(sc, dev)
        out.append((dev, outcome))
        if len(out) >= 4:
            break
    return out


@pytest.mark.parametrize("quirks", [(), *((q,) for q in QUIRKY)], ids=lambda q: "+".join(q))
async def test_scenario_findings_equal_without_caches(
    quirks: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = await _scenario_observations(quirks)
    assert runs
    cases = []
    for dev, outcome in runs:
        ident = dev.identity
        ctx = RuleContext(
            dev.family,
            DeviceIdentity(ident.product, ident.serial, ident.mac),
            dict(outcome.parameters),
        )
        cases.append((build_timelines(outcome.observations), ctx))
    cached = [evaluate(tls, ctx) for tls, ctx in cases]
    with monkeypatch.context() as m:
        _no_caches(m)
        plain = [evaluate(tls, ctx) for tls, ctx in cases]
    assert cached == plain
    assert any(f.verdict is Verdict.PASS for fs in cached for f in fs)


def test_shared_value_computes_once_inside_the_block_and_always_outside(capture: Path) -> None:
    from harness.rules.attempts import shared_attempts

    tl = build_timelines(analyze_capture(capture).observations)[0]
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with shared_attempts(tl):
        assert shared_value(tl, "k", compute) == 1
        assert shared_value(tl, "k", compute) == 1
        assert shared_value(tl, "other", compute) == 2
    assert shared_value(tl, "k", compute) == 3


def test_template_regex_cache_keys_on_values() -> None:
    a = macros.template_regex("req $PN at $MA", {"PN": "SPA"})
    b = macros.template_regex("req $PN at $MA", {"PN": "CP"})
    assert a.fullmatch("req SPA at anything") and not b.fullmatch("req SPA at anything")
    assert macros.template_regex("req $PN at $MA", {"PN": "SPA"}) is a
