"""The Table 3-1 rules are made from the spec's table: every HTTP-* requirement gets a rule,
judged the way its rows say (redirect-now, auth-retry, or an outcome class).

`status_rules` registers them at import; here they are registered again into an empty
registry and run, so what the registration does is checked where a test can see it
(mutation testing cannot reach code that only runs at import: docs/mutation.md).
"""

from __future__ import annotations

import pytest

from harness.observe.events import HttpExchange
from harness.observe.timeline import build_timelines
from harness.rules import Verdict, registry
from harness.rules.registry import RuleContext, evaluate
from harness.rules.status_rules import register_table_rules
from harness.spec.status_table import Action, all_status_rows, all_transport_rows
from tests.rules.timelines import DEV, IP, SERVER, UA, context, ev

T0 = 1_700_000_000.0
PATH = "/p.cfg"
ROWS = [*all_status_rows(), *all_transport_rows()]
HTTP_REQUIREMENTS = sorted({r.requirement for r in ROWS if r.requirement.startswith("HTTP-")})


def kind_of(req_id: str) -> Action:
    """How the spec's table says the requirement's rows are judged."""
    actions = {r.action for r in ROWS if r.requirement == req_id}
    for special in (Action.REDIRECT_NOW, Action.AUTH_RETRY):
        if special in actions:
            return special
    return Action.A  # an outcome class: the next attempt's delay


def req(t, status=200, *, path=PATH, rheaders=(), headers=(), **kw):
    return HttpExchange(
        time=t, client=(IP, 40000), server=SERVER, device=DEV, evidence=ev(), method="GET",
        url=path, user_agent=UA, status=status, response_headers=tuple(rheaders),
        headers=tuple(headers), **kw,
    )  # fmt: skip


def code_of(req_id: str) -> int | None:
    """A status code answered under the requirement (None for the transport-only ones)."""
    exact = {r.key for r in all_status_rows()}
    for row in all_status_rows():
        if row.requirement != req_id:
            continue
        if row.key.isdigit():
            return int(row.key)
        return next(c for c in range(int(row.key[0]) * 100, 1000) if str(c) not in exact)
    return None


def passing_case(req_id: str) -> tuple[list, dict]:
    """Observations and facts on which `req_id`'s rule, judged as its rows say, passes."""
    code = code_of(req_id)
    kind = kind_of(req_id)
    if kind is Action.REDIRECT_NOW:
        loc = (("Location", f"http://{SERVER[0]}/moved.cfg"),)
        return [req(T0, code, rheaders=loc), req(T0 + 0.2, path="/moved.cfg")], {}
    if kind is Action.AUTH_RETRY:
        proxy = code == 407
        challenge = ("Proxy-Authenticate" if proxy else "WWW-Authenticate", 'Basic realm="x"')
        cred = ("Proxy-Authorization" if proxy else "Authorization", "Basic dTpw")
        return [req(T0, code, rheaders=(challenge,)), req(T0 + 0.2, headers=(cred,))], {}
    if code is not None:
        nxt = 86400 if code == 200 else 6
        return [req(T0, code), req(T0 + nxt)], {}
    if req_id == "HTTP-CORRUPT":
        return [req(T0), req(T0 + 6)], {"served": {PATH: [{"body": b"\x00junk"}]}}
    outcome = "timeout" if req_id == "HTTP-TIMEOUT" else "connection-error"
    return [req(T0, None, outcome=outcome), req(T0 + 6)], {}


@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty registry into which the table's rules are registered again."""
    fresh: dict = {}
    monkeypatch.setattr(registry, "_RULES", fresh)
    register_table_rules()
    return fresh


def test_every_http_requirement_of_the_table_gets_a_rule(fresh_registry):
    assert sorted(fresh_registry) == HTTP_REQUIREMENTS
    assert {"HTTP-302", "HTTP-401", "HTTP-404", "HTTP-CORRUPT"} <= set(HTTP_REQUIREMENTS)
    for req_id, fn in fresh_registry.items():
        assert fn.__name__ == "judge_" + req_id.lower().replace("-", "_")


@pytest.mark.parametrize("req_id", HTTP_REQUIREMENTS)
def test_each_rule_judges_its_own_rows_as_the_table_says(req_id, fresh_registry):
    observations, facts = passing_case(req_id)
    base = context(
        Profile_Rule=f"http://{SERVER[0]}{PATH}",
        Resync_Periodic="86400",
        Resync_Random_Delay="0",
        Resync_Error_Retry_Delay="6",
    )
    ctx = RuleContext(base.family, base.identity, base.parameters, facts)
    (f,) = evaluate(build_timelines(observations), ctx, only=[req_id])
    assert (f.rule, f.verdict) == (req_id, Verdict.PASS), f
    assert f.time == observations[0].time, f
    # another requirement's case is not this rule's to judge
    other = "HTTP-404" if req_id != "HTTP-404" else "HTTP-503"
    obs, facts = passing_case(other)
    ctx = RuleContext(base.family, base.identity, base.parameters, facts)
    (f,) = evaluate(build_timelines(obs[:1]), ctx, only=[req_id])  # the answer alone
    assert (f.rule, f.verdict) == (req_id, Verdict.INCONCLUSIVE), f
    assert f.why.endswith(f"covered by {req_id}"), f
