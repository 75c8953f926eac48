"""harness.device.sim: see docs/architecture.md."""
