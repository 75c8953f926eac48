"""harness.conformance: see docs/architecture.md."""
