"""What a storm says: did the server hold, how long until every phone had its profile,
and did the phones behave.

`summarize(storm)` returns one plain dict (the JSON document's body):
- `answers`: the server's answers as the phones saw them (HTTP status, or the
  transport outcome), in all and per time bin, with latency percentiles per bin;
- `provisioned`: the curve to 100 % (seconds since the start -> phones with a
  profile) and the time-to-provisioned percentiles (from each phone's power-up);
- `attempts`: attempts per phone by Table 3-1 class (A, B, C);
- `spec_check`: the Table 3-1 rules of `harness.rules` (the same ones `harness
  analyze` runs) over every phone's timeline, judged against that phone's
  parameters in force; per-rule counts and the failing phones;
- `verdict`: the server finding (held / shed load / unreachable) and the phone
  finding (behaved / misbehaved), kept apart: a 503 under load that phones back
  off from as the spec says is about the server's capacity, not a phone failure.
Pure functions over the phones' records; no I/O, no spec numbers here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.observe.events import Observation
from harness.observe.timeline import build_timelines
from harness.rules.finding import Verdict
from harness.rules.registry import DeviceIdentity, RuleContext, evaluate
from harness.spec.status_table import all_status_rows, all_transport_rows
from harness.storm.crowd import Storm
from harness.storm.phone import StormPhone, answer_class

PERCENTILES = (50, 90, 95, 99)
MAX_BINS = 60  # time bins in the per-time series (report layout, not a spec fact)
MAX_LISTED_FAILURES = 50


def table_3_1_rules() -> list[str]:
    """The requirement IDs of Table 3-1's rows that judge a retry delay (classes A, B, C)."""
    rows = (*all_status_rows(), *all_transport_rows())
    return sorted({r.requirement for r in rows if r.action.is_outcome_class})


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of `values`; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{p}": percentile(values, p) for p in PERCENTILES} | {
        "max": max(values) if values else None,
        "count": len(values),
    }


def answer_label(status: int | None, outcome: str) -> str:
    return str(status) if status is not None else outcome


def _bin_width(span: float) -> float:
    return max(1.0, math.ceil(span / MAX_BINS))


def answers_over_time(storm: Storm) -> dict[str, Any]:
    reqs = [r for p in storm.phones for r in p.requests]
    end = storm.ended or max((r.end for r in reqs), default=storm.started)
    width = _bin_width(end - storm.started)
    nbins = max(1, math.ceil((end - storm.started) / width))
    labels = sorted({answer_label(r.status, r.outcome) for r in reqs})
    counts = {lab: [0] * nbins for lab in labels}
    latencies: list[list[float]] = [[] for _ in range(nbins)]
    for r in reqs:
        b = min(nbins - 1, int((r.end - storm.started) // width))
        counts[answer_label(r.status, r.outcome)][b] += 1
        latencies[b].append((r.end - r.start) * 1000)
    total = Counter(answer_label(r.status, r.outcome) for r in reqs)
    by_class = Counter(answer_class(r.status, r.outcome) for r in reqs)
    all_lat = [(r.end - r.start) * 1000 for r in reqs]
    return {
        "requests": len(reqs),
        "bytes": sum(r.bytes for r in reqs),
        "by_answer": dict(sorted(total.items())),
        "by_class": dict(sorted(by_class.items())),
        "latency_ms": percentiles(all_lat),
        "bin_seconds": width,
        "bins": [
            {
                "t": i * width,
                "answers": {lab: counts[lab][i] for lab in labels if counts[lab][i]},
                "latency_ms": {
                    k: v for k, v in percentiles(latencies[i]).items() if k in ("p50", "p95", "p99")
                },
            }
            for i in range(nbins)
        ],
    }


def provisioned_curve(storm: Storm) -> dict[str, Any]:
    done = sorted(p.provisioned_at - storm.started for p in storm.phones if p.provisioned_at)
    ttp = [
        p.provisioned_at - p.powered_at
        for p in storm.phones
        if p.provisioned_at is not None and p.powered_at is not None
    ]
    return {
        "phones": len(storm.phones),
        "provisioned": len(done),
        "share": len(done) / len(storm.phones) if storm.phones else 0.0,
        "curve": [[round(t, 3), k + 1] for k, t in enumerate(done)],
        "time_to_provisioned_s": percentiles(ttp),
        "all_provisioned_after_s": done[-1] if len(done) == len(storm.phones) and done else None,
        "never_asked": sum(1 for p in storm.phones if not p.requests),
    }


def attempts_by_class(storm: Storm) -> dict[str, Any]:
    per_phone: dict[str, list[int]] = {"A": [], "B": [], "C": []}
    totals: Counter[str] = Counter()
    spread: Counter[int] = Counter()
    for p in storm.phones:
        mine = Counter(a.action_class for a in p.attempts if a.kind == "resync")
        for k in per_phone:
            per_phone[k].append(mine.get(k, 0))
        totals.update(mine)
        spread[sum(mine.values())] += 1
    return {
        "total": dict(sorted(totals.items())),
        "per_phone": {
            k: {"mean": (sum(v) / len(v)) if v else 0.0, "max": max(v, default=0)}
            for k, v in per_phone.items()
        },
        "phones_by_attempts": {str(k): v for k, v in sorted(spread.items())},
    }


def _context(phone: StormPhone) -> RuleContext:
    ident = phone.identity
    return RuleContext(
        family=phone.family,
        identity=DeviceIdentity(ident.product, ident.serial, ident.mac, ident.firmware),
        parameters=phone.params.as_dict(),
    )


def spec_check(
    phones: Iterable[StormPhone],
    rules: list[str] | None = None,
    observations: Iterable[Observation] | None = None,
) -> dict[str, Any]:
    """The rules of `harness analyze` over every phone's timeline: built from what the phones
    saw, or from `observations` of another source (a capture of the same traffic), each
    judged against that phone's parameters in force."""
    phones = list(phones)
    rules = rules or table_3_1_rules()
    by_serial = {p.identity.serial: p for p in phones}
    if observations is None:
        observations = (o for p in phones for o in p.observations)
    timelines = build_timelines(observations)
    counts: dict[str, Counter[str]] = {r: Counter() for r in rules}
    failing: list[dict[str, Any]] = []
    failing_phones: set[str] = set()
    judged: set[str] = set()
    for tl in timelines:
        phone = by_serial.get(tl.device.serial or "")
        if phone is None:
            continue
        judged.add(phone.id)
        for f in evaluate([tl], _context(phone), only=rules):
            counts[f.rule][f.verdict.value] += 1
            if f.verdict is Verdict.FAIL:
                failing_phones.add(phone.id)
                if len(failing) < MAX_LISTED_FAILURES:
                    failing.append(
                        {
                            "phone": phone.id,
                            "quirks": list(phone.quirks),
                            "rule": f.rule,
                            "why": f.why,
                        }  # fmt: skip
                    )
    quirky = {p.id for p in phones if p.quirks}
    return {
        "rules": {r: dict(c) for r, c in counts.items() if c},
        "phones_judged": len(judged),
        "phones_failing": len(failing_phones),
        "failing_clean_phones": len(failing_phones - quirky),
        "failing_quirky_phones": len(failing_phones & quirky),
        "quirky_phones": len(quirky),
        "failures": failing,
        "passed": not failing_phones,
    }


def verdict(answers: dict[str, Any], prov: dict[str, Any], check: dict[str, Any]) -> dict:
    """The two findings, kept apart: the server's capacity and the phones' behaviour."""
    by = answers["by_answer"]
    n = answers["requests"] or 1
    shed = sum(v for k, v in by.items() if k.isdigit() and k.startswith("5"))
    lost = sum(v for k, v in by.items() if k in ("timeout", "connection-error"))
    missing = prov["phones"] - prov["provisioned"]
    parts = []
    if shed:
        parts.append(f"{shed} answers 5xx ({100 * shed / n:.1f} % of {n})")
    if lost:
        parts.append(f"{lost} requests without an answer ({100 * lost / n:.1f} %)")
    if missing:
        parts.append(f"{missing} of {prov['phones']} phones never got their profile")
    if prov.get("never_asked"):
        parts.append(
            f"{prov['never_asked']} of them made no request at all (still in their power-up "
            "delay, Resync_Random_Delay, or never powered up): run longer to judge the server"
        )
    if not parts:
        finding = "held"
        server = "held: every phone provisioned, no 5xx, timeout or refused connection"
    elif not missing:
        finding = "shed-load"
        server = "shed load but served every phone in the end: " + "; ".join(parts)
    elif shed or lost:
        finding = "overloaded"
        server = "did not serve every phone under this load: " + "; ".join(parts)
    else:
        finding = "not-served"
        answered = ", ".join(f"{k}: {v}" for k, v in by.items() if k != "200")
        server = "answered but did not provision every phone: " + "; ".join(parts)
        server += f" (other answers: {answered or 'none'})"
    held = finding == "held"
    if check["passed"]:
        phones = (
            f"behaved: all {check['phones_judged']} phones retried no sooner than their "
            "Table 3-1 class allows"
        )
        if finding in ("shed-load", "overloaded"):
            phones += " (so the load above is the server's capacity, not a phone failure)"
    else:
        phones = (
            f"misbehaved: {check['phones_failing']} phones broke a Table 3-1 rule "
            f"({check['failing_quirky_phones']} with a quirk, "
            f"{check['failing_clean_phones']} spec-following)"
        )
    return {"server_held": held, "server_finding": finding, "server": server, "phones_behaved": check["passed"],
            "phones": phones}  # fmt: skip


def summarize(storm: Storm, *, check: bool = True) -> dict[str, Any]:
    answers = answers_over_time(storm)
    prov = provisioned_curve(storm)
    result = spec_check(storm.phones) if check else {
        "rules": {}, "phones_judged": 0, "phones_failing": 0, "failing_clean_phones": 0,
        "failing_quirky_phones": 0, "quirky_phones": 0, "failures": [], "passed": True,
    }  # fmt: skip
    judged = verdict(answers, prov, result)
    if not check:
        judged["phones"] = "not judged: the spec check runs when the storm ends"
    cfg = storm.config
    return {
        "storm": {
            "runner": storm.runner,
            "phones": len(storm.phones),
            "family": cfg.family,
            "profile_rule": cfg.rule(),
            "power_up_spread_s": cfg.power_up_spread,
            "duration_s": (storm.ended or storm.started) - storm.started,
            "stopped_because": storm.stopped_because,
            "parameters": dict(cfg.parameters),
            "quirks": dict(cfg.quirks),
            "started": storm.started,
            "phone_errors": sum(len(p.errors) for p in storm.phones),
        },
        "answers": answers,
        "provisioned": prov,
        "attempts": attempts_by_class(storm),
        "spec_check": result,
        "verdict": judged,
    }
