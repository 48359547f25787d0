"""Pasqal Cloud: provider.py (the Provider), api.py (JSend REST calls, paging), auth.py (tokens, the
password grant), wire.py (batches, jobs and workloads as observations and results)."""
