"""Rules of the tls_rules group (filled in by that group's work)."""
