"""The embedded state backend: one SQLite file, WAL mode, every transition committed.

All SQL lives in this package. Readers get values (Snapshot, Recorded); writers go through a
Txn, which bumps the serial once per transaction and stamps every row it touches with it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from runner.errors import StateError
from runner.state.codec import iso
from runner.state.lock import Lease, check_fence, force_unlock, read_holder
from runner.state.migrations import LATEST, MIGRATIONS
from runner.state.protocol import Holder, Snapshot
from runner.state.sql import SqlStore
from runner.state.sqliteconn import SqliteConnection, connect
from runner.state.txn import Txn

APPLICATION = "runner-state"
_SQLITE_HEADER = b"SQLite format 3\x00"
Clock = Callable[[], float]


def _check_header(path: str) -> None:
    if os.path.isdir(path):
        raise StateError(
            f"{path} is a directory, not a state file: give --state the path of a file (or a postgresql:// URL)"
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StateError(
            f"{path} cannot be read ({exc.strerror}): "
            "it must be a file you can read, in a folder you can write to apply"
        ) from None
    if head and head != _SQLITE_HEADER:
        raise StateError(f"{path} is not a runner state file (not an SQLite database); runner will not modify it")


def _create_file(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # owner-only from the start
    os.close(fd)


class SqliteStore(SqlStore):
    """An open state file (the `Store` protocol over SQLite)."""

    conn: SqliteConnection

    def __init__(self, path: str, conn: SqliteConnection, clock: Clock) -> None:
        self.path = path
        self.conn = conn
        self.clock = clock
        self.lineage = self._meta("lineage") or ""
        self.fence: int | None = None  # set while this process holds the lock
        self.writes: dict[str, float] = {"transactions": 0, "durable": 0, "seconds": 0.0}  # for history and benchmarks

    # opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str, *, create: bool = False, clock: Clock = time.time) -> SqliteStore:
        """Open (and, with create, initialise or migrate) a state file; never overwrite a foreign one."""
        exists = os.path.exists(path)
        if not exists and not create:
            raise StateError(f"no state file at {path}: nothing has been applied with it yet")
        if not exists:
            try:
                _create_file(path)
            except OSError as exc:
                raise StateError(
                    f"{path} cannot be created ({exc.strerror}): choose a folder you can write (--state PATH)"
                ) from None
        else:
            _check_header(path)
        conn = connect(path, writing=create)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except StateError:
            conn.close()
            raise
        if not tables:
            if not create:
                raise StateError(f"{path} is empty: nothing has been applied with it yet")
            _initialise(conn, clock)
        elif "meta" not in tables:
            conn.close()
            raise StateError(f"{path} is not a runner state file (it holds tables {', '.join(sorted(tables))})")
        state = cls(path, conn, clock)
        state._check_identity(create)
        return state

    def _check_identity(self, writing: bool) -> None:
        try:
            self._identify(writing)
        except BaseException:
            self.conn.close()
            raise

    def _identify(self, writing: bool) -> None:
        if self._meta("application") != APPLICATION:
            raise StateError(f"{self.path} is not a runner state file (another application's SQLite database)")
        version = self.format_version
        if version > LATEST:
            raise StateError(f"{self.path} was written by a newer runner (state format {version}); upgrade runner")
        self._check_tables(version)
        if writing:
            self._integrity()
            if version < LATEST:
                _migrate(self.conn, version)

    def _integrity(self) -> None:
        verdict = str(self.conn.execute("PRAGMA quick_check").fetchone()[0])
        if verdict != "ok":
            found = "; ".join(line.strip(" *") for line in verdict.splitlines() if line.strip(" *"))
            found = found if len(found) <= 200 else found[:200] + "..."
            raise StateError(f"{self.path} is corrupt ({found}); restore it from a backup, runner will not modify it")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading ---------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        self.conn.execute("BEGIN")  # one consistent read
        try:
            return self._snapshot()
        finally:
            self.conn.execute("COMMIT")

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def restore(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Fill this new, empty state with rows another state exported (`runner state migrate`)."""
        self._check_empty()
        with self.transaction(bump=False, durable=True):
            self._restore_rows(tables)
        self.lineage = self._meta("lineage") or ""

    # writing ---------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, bump: bool = True, durable: bool = False) -> Iterator[Txn]:
        """One write transaction: BEGIN IMMEDIATE, serial + 1, commit (or roll back on error).

        History-only writes pass bump=False so they never make a saved plan stale. In WAL mode with
        synchronous=NORMAL a commit survives the process being killed but not a power cut, so the
        writes that must survive anything (intents, before their calls) pass durable=True: fsync.
        """
        started = time.perf_counter()
        self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if self.fence is not None:
                check_fence(self.conn, self.fence)
            serial = self.serial + (1 if bump else 0)
            if bump:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'serial'", (str(serial),))
            yield Txn(self.conn, serial, iso(self.clock()))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        self.writes["transactions"] += 1
        self.writes["durable"] += int(durable)
        self.writes["seconds"] += time.perf_counter() - started

    def checkpoint(self) -> None:
        """Fold the WAL into the main file so readers never change its bytes."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # the lease ---------------------------------------------------------------------------------
    def lease(self, operation: str, timeout: float = 0.0) -> Lease:
        """Take the lease, waiting up to `timeout` seconds for a live holder to let go."""
        return Lease(self, operation).acquire(timeout)

    def holder(self) -> Holder | None:
        return read_holder(self.conn)

    def force_unlock(self) -> Holder | None:
        return force_unlock(self.conn)


def _initialise(conn: SqliteConnection, clock: Clock) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    for statement in _statements(MIGRATIONS[1]):
        conn.execute(statement)
    meta = {
        "application": APPLICATION,
        "format_version": "1",
        "lineage": str(uuid.uuid4()),
        "serial": "0",
        "created_at": iso(clock()),
    }
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
    conn.execute("COMMIT")
    _migrate(conn, 1)


def _migrate(conn: SqliteConnection, current: int) -> None:
    for version in range(current + 1, LATEST + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(version),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    # executescript would commit our transaction; run statements one by one inside it instead
    return [s.strip() for s in script.split(";") if s.strip()]
