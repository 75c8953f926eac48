"""harness.analyze: see docs/architecture.md."""
