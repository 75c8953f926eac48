"""The conformance scenarios, one module per requirement group; each registers with @scenario."""
