"""Stage 4, apply: execute() runs a Plan phase by phase (create.py, maintain.py) over a Run context,
write-ahead (dispatch.py); reconciliation of interrupted creates (reconcile.py), import of
hand-made resources (adopt.py), reruns (reruns.py), provenance of each run (provenance.py)."""
