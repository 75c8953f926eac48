"""harness.report: see docs/architecture.md."""
