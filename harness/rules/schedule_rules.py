"""Rules of the schedule_rules group (filled in by that group's work)."""
