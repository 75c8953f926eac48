"""harness.profiles: see docs/architecture.md."""
