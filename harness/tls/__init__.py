"""harness.tls: see docs/architecture.md."""
