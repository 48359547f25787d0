"""Superstaq: provider.py (the Provider), v2.py and v3.py (the two API versions), wire.py (statuses,
counts, job bodies shared by both)."""
