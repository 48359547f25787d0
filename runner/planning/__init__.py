"""Stage 3, plan: the pure diff of desired against recorded resources (diff.py) into a Plan of
Changes (changes.py), narrowed by --target/--exclude (select.py); drift.py is the one I/O step
before it (an in-memory refresh); plan files (planfile.py) and costs (cost.py, pricing.py, gates.py)."""
