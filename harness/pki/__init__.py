"""harness.pki: see docs/architecture.md."""
