"""State behind one package: the SQLite file, its migrations, its lock and its writes."""

from __future__ import annotations

import os

from runner.state.lock import Lease, force_unlock, read_holder
from runner.state.store import Snapshot, State
from runner.state.txn import Txn

__all__ = ["Lease", "Snapshot", "State", "Txn", "force_unlock", "read_holder", "snapshot"]


def snapshot(path: str) -> Snapshot:
    """The recorded state at path, or an empty snapshot when no file exists; never creates one."""
    if not os.path.exists(path):
        return Snapshot(path, False, None, 0, {})
    state = State.open(path)
    try:
        return state.snapshot()
    finally:
        state.close()
