"""Rules of the status_rules group (filled in by that group's work)."""
