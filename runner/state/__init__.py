"""The state: one project's record of what was applied, behind the `Store` protocol.

`open_store` picks the backend from the location: a file path is the embedded SQLite store, a
`postgresql://USER@HOST:PORT/DB?project=NAME` URL one project's state in a shared database
(psycopg is imported only then).
"""

from __future__ import annotations

import os
import time
from typing import Any

from runner.state.location import is_postgres, with_project
from runner.state.protocol import Held, Holder, Snapshot, Store
from runner.state.txn import Txn

__all__ = [
    "Held",
    "Holder",
    "Snapshot",
    "Store",
    "Txn",
    "exists",
    "is_postgres",
    "open_store",
    "projects",
    "shown",
    "snapshot",
    "with_project",
]


def open_store(location: str, *, create: bool = False) -> Store:
    """Open (with create: initialise or migrate) the state at `location`; never overwrites a foreign one."""
    if is_postgres(location):
        from runner.state.postgres import PgStore

        return PgStore.open(location, create=create)
    from runner.state.sqlite import SqliteStore

    return SqliteStore.open(location, create=create)


def exists(location: str) -> bool:
    """Whether anything has been recorded at `location` yet."""
    if is_postgres(location):
        from runner.state.postgres import PgStore

        return PgStore.exists(location)
    return os.path.exists(location)


def shown(location: str) -> str:
    """A location as it may be stored and printed (a URL is checked to carry no password)."""
    if is_postgres(location):
        from runner.state.location import parse

        return parse(location).shown
    return location


def snapshot(location: str) -> Snapshot:
    """The recorded state at `location`, or an empty snapshot when there is none; never creates one."""
    if is_postgres(location):  # one connection: opening says whether there is a state
        from runner.state.postgres import NoStateError, PgStore

        try:
            found = PgStore.open(location)
        except NoStateError:
            return Snapshot(shown(location), False, None, 0, {})
        with found:
            return found.snapshot()
    if not exists(location):
        return Snapshot(shown(location), False, None, 0, {})
    with open_store(location) as store:
        return store.snapshot()


def projects(location: str) -> list[dict[str, Any]]:
    """The projects whose states live at `location`: every one in a database, the one in a file."""
    if is_postgres(location):
        from runner.state.postgres import projects as listed

        return listed(location)
    if not os.path.exists(location):
        return []
    with open_store(location) as store:
        last = store.applies(1)
        holder = store.holder()
        return [
            {
                "project": store.project,
                "state": store.path,
                "schema": None,
                "serial": store.serial,
                "resources": len(store.recorded()),
                "last_run": {k: last[0][k] for k in ("operation", "started_at", "outcome")} if last else None,
                "locked_by": holder.owner if holder is not None and holder.expires_at > time.time() else None,
            }
        ]
