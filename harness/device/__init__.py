"""harness.device: see docs/architecture.md."""
