"""harness.capture: see docs/architecture.md."""
