"""harness.netsim: see docs/architecture.md."""
