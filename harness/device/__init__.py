"""Devices under test: `sim` (the reference phone, with quirks) and, later, `remote` (a real phone).

Only subpackages here; nothing is imported eagerly.
"""
