"""harness: packet-level test and protocol-analysis harness for IP-phone provisioning.

The package is organised by the data flow of docs/architecture.md: sources
(endpoints, captures) produce observations (`harness.observe`), rules
(`harness.rules`) judge them against the spec (`harness.spec`) into findings,
and reports are rendered from findings only. Nothing is imported here eagerly.
"""

__version__ = "0.1.0"
