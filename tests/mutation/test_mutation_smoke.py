"""The mutation-testing smoke (in `make test`; the full run is `make mutate`, docs/mutation.md).

A handful of fixed, hand-written mutants of the rules, each a wrong verdict a past run let
through (issue 12), must be killed by the rule tests: the mutant is applied (a named
constant monkeypatched, or one line of a rule module's source changed and the module run
again under another name, its rules swapped into the registry), the rule test that pins
it is run, and it must fail. And every named harness tolerance of the schedule and syslog
rules, moved up and down, must make its boundary test fail (mutmut does not mutate
module-level constants, so this is where they are covered).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable

import pytest

from harness.rules import Verdict, registry, schedule_rules, syslog_rules, tls_rules
from tests.rules import (
    test_schedule_boundaries as sched,
)
from tests.rules import (
    test_syslog_boundaries as slog,
)
from tests.rules import (
    test_tls_http_dns_boundaries as other,
)


def load_mutant(monkeypatch, module: str, old: str, new: str) -> None:
    """Run `module`'s source with `old` (found exactly once) replaced by `new`, and put the
    rules it defines in the registry in place of the real ones (undone after the test)."""
    source = importlib.util.find_spec(module).origin
    with open(source) as fh:
        text = fh.read()
    assert text.count(old) == 1, f"the mutant's line is not in {module} exactly once: {old!r}"
    fresh: dict = {}
    saved = registry._RULES
    registry._RULES = fresh  # the mutant's @rule decorators register here
    mutant = types.ModuleType(f"{module}__mutant")
    monkeypatch.setitem(sys.modules, mutant.__name__, mutant)  # dataclasses look it up
    try:
        exec(compile(text.replace(old, new), f"{source} (mutant)", "exec"), mutant.__dict__)
    finally:
        registry._RULES = saved
    for req_id, fn in fresh.items():
        monkeypatch.setitem(registry._RULES, req_id, fn)


def killed(test: Callable[..., None], *args) -> bool:
    """Whether `test(*args)` fails (the mutant is killed)."""
    try:
        test(*args)
    except AssertionError:
        return True
    return False


# -- code mutants: (module, original line, mutated line, the test that must kill it) --------
CODE_MUTANTS = {
    "multistage order j > installed + 1": (
        "harness.rules.schedule_rules",
        "if j > installed:",
        "if j > installed + 1:",
        lambda: sched.test_multistage_next_stage_only_after_the_previous_one(),
    ),
    "DNS-ALL-DOWN any instead of all": (
        "harness.rules.schedule_rules",
        "if all(a in dead for a in q.answers):",
        "if any(a in dead for a in q.answers):",
        lambda: sched.test_all_down_needs_every_record_dead_not_one(),
    ),
    "factory rule without the scheme check": (
        "harness.rules.schedule_rules",
        'if scheme != "tftp" or not template_regex',
        "if not template_regex",
        lambda: sched.test_default_rule_over_http_fails_even_with_the_right_path(),
    ),
    "remote profile once is enough": (
        "harness.rules.schedule_rules",
        "if len(remote_reqs) < 2:",
        "if len(remote_reqs) < 1:",
        lambda: sched.test_preprov_remote_fetched_once_is_not_yet_proof(),
    ),
    "TLS-CIPHERS judges the first ClientHello only": (
        "harness.rules.tls_rules",
        "    for hs in hellos:",
        "    for hs in hellos[:1]:",
        lambda: other.test_ciphers_judges_every_client_hello(),
    ),
    "TLS-DNS-MATCH label forced true": (
        "harness.rules.tls_rules",
        "cases.append((hs, ACCEPT if match else REJECT, label, not match))",
        "cases.append((hs, ACCEPT if match else REJECT, label, True))",
        lambda: other.test_dns_match_with_only_matching_connections_is_inconclusive(),
    ),
    "SYSLOG-MACROS without the unexpanded check": (
        "harness.rules.syslog_rules",
        "        if left:",
        "        if False:",
        lambda: slog.test_a_stray_unexpanded_macro_fails_even_outside_the_templates(),
    ),
    "UA-FORMAT ignores POST": (
        "harness.rules.http_rules",
        'x.method in ("GET", "POST")',
        'x.method in ("GET",)',
        lambda: other.test_ua_format_judges_a_post_request(),
    ),
}


@pytest.mark.parametrize("name", sorted(CODE_MUTANTS))
def test_a_code_mutant_is_killed(name, monkeypatch):
    module, old, new, test = CODE_MUTANTS[name]
    assert not killed(test), "the pinning test must pass on the real rules first"
    load_mutant(monkeypatch, module, old, new)
    assert killed(test), f"mutant survived: {module}: {old!r} -> {new!r}"


def test_the_serial_missing_branch_is_needed(monkeypatch, tmp_path):
    test = other.test_ua_format_names_a_missing_serial_where_the_grammar_allows_none
    (tmp_path / "a").mkdir()
    assert not killed(test, tmp_path / "a")
    old = 'elif fam.ua_identity_field == "serial" and not parsed.serial:'
    load_mutant(monkeypatch, "harness.rules.http_rules", old, "elif False:")
    (tmp_path / "b").mkdir()
    assert killed(test, tmp_path / "b")


# -- constant mutants: every named tolerance moved up and down ------------------------------
# constant -> (module, the boundary test, its case just inside, its case just outside)
CONSTANTS = {
    "RELEASE_WINDOW": (
        schedule_rules,
        sched.test_idle_held_resync_must_come_within_the_release_window,
        (sched.RELEASE_WINDOW, Verdict.PASS),
        (sched.RELEASE_WINDOW + 1, Verdict.FAIL),
    ),
    "TIMING_TOLERANCE": (
        schedule_rules,
        sched.test_powerup_limit_is_the_random_band_plus_the_tolerance,
        (sched.LIMIT, Verdict.PASS),
        (sched.LIMIT + sched.JUST, Verdict.FAIL),
    ),
    "CYCLE_GAP": (
        schedule_rules,
        sched.test_a_request_within_the_cycle_gap_is_part_of_the_same_resync,
        (sched.CYCLE_GAP, Verdict.PASS),
        (sched.CYCLE_GAP + sched.JUST, Verdict.FAIL),
    ),
    "FAILOVER_WINDOW": (
        schedule_rules,
        sched.test_failover_must_reach_a_live_record_within_the_window,
        (sched.FAILOVER_WINDOW, Verdict.PASS),
        (sched.FAILOVER_WINDOW + 1, Verdict.FAIL),
    ),
    "ALL_DOWN_SYSLOG_WINDOW": (
        schedule_rules,
        sched.test_all_down_error_must_reach_syslog_within_the_window,
        (sched.ALL_DOWN_SYSLOG_WINDOW, Verdict.PASS),
        (sched.ALL_DOWN_SYSLOG_WINDOW + 1, Verdict.FAIL),
    ),
    "REQUEST_BEFORE": (
        syslog_rules,
        slog.test_request_message_window,
        (slog.T - slog.REQUEST_BEFORE, Verdict.PASS),
        (slog.T - slog.REQUEST_BEFORE - slog.JUST, Verdict.FAIL),
    ),
    "REQUEST_AFTER": (
        syslog_rules,
        slog.test_request_message_window,
        (slog.T + slog.REQUEST_AFTER, Verdict.PASS),
        (slog.T + slog.REQUEST_AFTER + slog.JUST, Verdict.FAIL),
    ),
    "RESULT_AFTER": (
        syslog_rules,
        slog.test_result_message_window,
        (slog.T + slog.RESULT_AFTER, Verdict.PASS),
        (slog.T + slog.RESULT_AFTER + slog.JUST, Verdict.FAIL),
    ),
}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
@pytest.mark.parametrize("factor", [10.0, 0.5])
def test_a_tolerance_moved_is_caught_by_its_boundary_cases(name, factor, monkeypatch):
    assert_moved_constant_is_caught(CONSTANTS, name, factor, monkeypatch)


def assert_moved_constant_is_caught(constants, name, factor, monkeypatch) -> None:
    """`constants[name]` = (module, boundary test, case inside, case outside): both cases
    pass as the code is; with the constant times `factor` the test must fail."""
    module, test, inside, outside = constants[name]
    assert not killed(test, *inside) and not killed(test, *outside)
    monkeypatch.setattr(module, name, getattr(module, name) * factor)
    # a wider window lets the case outside pass; a narrower one fails the case inside
    assert killed(test, *(outside if factor > 1 else inside)), f"{name} x {factor} survived"


def test_name_right_variants_without_cn_suffix_is_caught(monkeypatch):
    test = other.test_negotiate_judges_a_connection_with_the_cn_suffix_certificate
    assert not killed(test)
    monkeypatch.setattr(tls_rules, "NAME_RIGHT_VARIANTS", frozenset({"valid"}))
    assert killed(test)
