"""Azure Quantum: provider.py (the Provider), api.py (workspace REST calls), auth.py (keys, connection
strings, Entra tokens), wire.py (statuses, errors, filters), formats.py (circuits in, counts out)."""
