"""The SQLite state's connection: every sqlite3 error becomes one line naming the file and the next step.

Results are fetched whole before they are returned, so a damaged page met halfway through a
scan is reported like any other error instead of escaping from a loop far from the state code.
A state that this process may only read (a read-only file, a folder it cannot write, as a CI
job reading a copy) is opened read-only, so `status`, `show`, `results` and `plan` still work.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from runner.errors import StateError

_DAMAGED = ("malformed", "not a database", "no such table", "no such column", "corrupt")
_FULL = ("disk is full", "disk i/o error")


def failure(path: str, exc: BaseException) -> StateError:
    """One line for an error of the state file at `path`, with what to do about it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if any(word in low for word in _DAMAGED):
        return StateError(f"{path} is corrupt ({text}); restore it from a backup, runner will not modify it")
    if "readonly" in low or "read-only" in low:
        return StateError(
            f"{path} is read-only ({text}): nothing was recorded; make it writable (or use a writable copy "
            "with --state) to apply, refresh or unlock"
        )
    if any(word in low for word in _FULL):
        return StateError(
            f"{path}: the disk is full or failing ({text}); what was committed before is kept, nothing after it: "
            "free some space and run the command again"
        )
    if "unable to open" in low or "permission" in low:
        return StateError(
            f"{path} cannot be opened ({text}): it must be a file you can read, in a folder you can write to apply"
        )
    if "locked" in low or "busy" in low:
        return StateError(f"{path} is busy ({text}): another process holds it; try again")
    return StateError(f"{path} could not be used ({text})")


class Rows:
    """A fetched result: what the code reads from a cursor (fetchone, fetchall, iteration, rowcount)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class SqliteConnection:
    """A sqlite3 connection speaking txn.py's `Connection` protocol, its errors turned into StateError."""

    def __init__(self, raw: sqlite3.Connection, path: str, readonly: bool = False) -> None:
        self.raw, self.path, self.readonly = raw, path, readonly

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), /) -> Rows:
        try:
            cur = self.raw.execute(sql, params)
            return Rows(cur.fetchall(), cur.rowcount)
        except sqlite3.Error as exc:
            raise failure(self.path, exc) from None

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        try:
            self.raw.executemany(sql, params)
        except sqlite3.Error as exc:
            raise failure(self.path, exc) from None

    def close(self) -> None:
        self.raw.close()


def _raw(target: str, uri: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, timeout=30, uri=uri)
    conn.row_factory = sqlite3.Row
    return conn


def writable(path: str) -> bool:
    """Whether this process may change the file and create its -wal and -shm companions beside it."""
    return os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)


def connect(path: str, *, writing: bool) -> SqliteConnection:
    """A connection to the state file; for reading, a read-only one when this process cannot write there."""
    can_write = writable(path)
    if writing and not can_write:
        raise StateError(
            f"{path} is read-only (this process cannot write it, or the folder it is in): nothing was recorded; "
            "make both writable (or use a writable copy with --state) to apply, refresh or unlock"
        )
    if can_write:
        return _opened(SqliteConnection(_raw(path), path))
    # A reader that cannot write there must create nothing beside the file: immutable=1 reads it as it is.
    # Only when a -wal with commits in it is pending does it need mode=ro, which reads that too.
    wal = f"{path}-wal"
    pending = os.path.exists(wal) and os.path.getsize(wal) > 0
    return _opened(
        SqliteConnection(_raw(f"file:{quote(path)}?{'mode=ro' if pending else 'immutable=1'}", uri=True), path, True)
    )


def _opened(conn: SqliteConnection) -> SqliteConnection:
    """The connection, once a first read shows the file is a database it can read (closed if not)."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master")
    except StateError:
        conn.close()
        raise
    return conn
