"""Spec rules: functions that judge a device timeline and return findings.

`harness.rules.registry` holds the registry and the `@rule` decorator; one
module per requirement group registers its rules on import. Rules read spec
facts from `harness.spec` only and never open sockets or files.
"""

from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, evaluate, registered_rules, rule

__all__ = ["Finding", "RuleContext", "Verdict", "evaluate", "registered_rules", "rule"]
