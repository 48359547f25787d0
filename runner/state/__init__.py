"""The state: one project's record of what was applied, behind the `Store` protocol.

`open_store` picks the backend from the location: a file path is the embedded SQLite store.
"""

from __future__ import annotations

import os

from runner.state.protocol import Held, Holder, Snapshot, Store
from runner.state.txn import Txn

__all__ = ["Held", "Holder", "Snapshot", "Store", "Txn", "open_store", "snapshot"]


def open_store(location: str, *, create: bool = False) -> Store:
    """Open (with create: initialise or migrate) the state at `location`; never overwrites a foreign one."""
    from runner.state.sqlite import SqliteStore

    return SqliteStore.open(location, create=create)


def exists(location: str) -> bool:
    """Whether anything has been recorded at `location` yet."""
    return os.path.exists(location)


def snapshot(location: str) -> Snapshot:
    """The recorded state at `location`, or an empty snapshot when there is none; never creates one."""
    if not exists(location):
        return Snapshot(location, False, None, 0, {})
    with open_store(location) as store:
        return store.snapshot()
