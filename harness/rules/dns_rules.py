"""Rules on a device's DNS queries: DNS-A-ONLY.

DNS-FAILOVER and DNS-ALL-DOWN need a scenario with dead servers; their rules
live with the scheduling rules (harness/rules/schedule_rules.py).
"""

from __future__ import annotations

from harness.observe.events import DnsQuery
from harness.observe.timeline import DeviceTimeline
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule

# Query types that mean "service discovery" rather than an address lookup.
_DISCOVERY_TYPES = {"SRV", "NAPTR"}


@rule("DNS-A-ONLY")
def dns_a_only(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    queries = timeline.of(DnsQuery)
    if not queries:
        return [
            finding("DNS-A-ONLY", Verdict.INCONCLUSIVE, "the device made no DNS query", timeline)
        ]
    for q in queries:
        if q.qtype in _DISCOVERY_TYPES:
            why = f"the device asked for {q.qtype} {q.qname}; provisioning names are resolved with A records only"
            return [finding("DNS-A-ONLY", Verdict.FAIL, why, timeline, q)]
    a_queries = [q for q in queries if q.qtype == "A"]
    if not a_queries:
        types = ", ".join(sorted({q.qtype for q in queries}))
        why = f"the device made DNS queries ({types}) but no A query"
        return [finding("DNS-A-ONLY", Verdict.FAIL, why, timeline, queries[0])]
    names = ", ".join(sorted({q.qname for q in a_queries}))
    why = f"{len(a_queries)} A queries ({names}) and no SRV/NAPTR query"
    return [finding("DNS-A-ONLY", Verdict.PASS, why, timeline, a_queries[0], also=a_queries[1:])]
