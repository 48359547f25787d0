"""The embedded state backend: one SQLite file, WAL mode, every transition committed.

All SQL lives in this package. Readers get values (Snapshot, Recorded); writers go through a
Txn, which bumps the serial once per transaction and stamps every row it touches with it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from runner.domain.model import Target
from runner.domain.resources import Recorded
from runner.errors import StateError
from runner.state.codec import decode, iso, recorded, shared, target_from
from runner.state.lock import Lease, check_fence, force_unlock, read_holder
from runner.state.migrations import LATEST, MIGRATIONS
from runner.state.protocol import Holder, Snapshot
from runner.state.txn import Txn

APPLICATION = "runner-state"
_SQLITE_HEADER = b"SQLite format 3\x00"
Clock = Callable[[], float]


def _check_header(path: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head and head != _SQLITE_HEADER:
        raise StateError(f"{path} is not a runner state file (not an SQLite database); runner will not modify it")


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _create_file(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # owner-only from the start
    os.close(fd)


class SqliteStore:
    """An open state file (the `Store` protocol over SQLite)."""

    def __init__(self, path: str, conn: sqlite3.Connection, clock: Clock) -> None:
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
            _create_file(path)
        else:
            _check_header(path)
        try:
            conn = _connect(path)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path} is not a readable runner state file ({exc})") from None
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
        if self._meta("application") != APPLICATION:
            self.conn.close()
            raise StateError(f"{self.path} is not a runner state file (another application's SQLite database)")
        version = int(self._meta("format_version") or 0)
        if version > LATEST:
            self.conn.close()
            raise StateError(f"{self.path} was written by a newer runner (state format {version}); upgrade runner")
        if writing:
            self._integrity()
            if version < LATEST:
                _migrate(self.conn, version)

    def _integrity(self) -> None:
        try:
            verdict = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            verdict = str(exc)
        if verdict != "ok":
            self.conn.close()
            raise StateError(f"{self.path} is corrupt ({verdict}); restore it from a backup, runner will not modify it")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def format_version(self) -> int:
        return int(self._meta("format_version") or 0)

    # reading ---------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def project(self) -> str | None:
        """The project this state belongs to (set by its first apply)."""
        return self._meta("project")

    @property
    def serial(self) -> int:
        return int(self._meta("serial") or 0)

    def recorded(self) -> dict[str, Recorded]:
        rows = self.conn.execute("SELECT * FROM resources")
        return {r["address"]: recorded(r) for r in rows}

    def snapshot(self) -> Snapshot:
        self.conn.execute("BEGIN")  # one consistent read
        try:
            return Snapshot(self.path, True, self.lineage, self.serial, self.recorded(), self._meta("project"))
        finally:
            self.conn.execute("COMMIT")

    def resource(self, address: str) -> Recorded | None:
        row = self.conn.execute("SELECT * FROM resources WHERE address = ?", (address,)).fetchone()
        return recorded(row) if row else None

    def changed_since(self, serial: int) -> list[str]:
        """Addresses written after a serial: what made a saved plan stale."""
        rows = self.conn.execute(
            "SELECT address FROM resources WHERE serial > ? UNION "
            "SELECT address FROM generations WHERE serial > ? ORDER BY 1",
            (serial, serial),
        )
        return [r[0] for r in rows]

    def applies_since(self, serial: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM applies WHERE serial_after > ? OR (serial_after IS NULL AND serial_before >= ?) ORDER BY id",
            (serial, serial),
        )
        return [dict(r) for r in rows]

    def generations(self, address: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM generations WHERE address = ? ORDER BY generation", (address,))
        return [decode(dict(r), "spec", "origin", "provenance") for r in rows]

    def addresses_with_history(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT address FROM generations ORDER BY 1")]

    def results(self, address: str | None = None) -> list[dict[str, Any]]:
        """Results of current generations (or of every generation of one address)."""
        if address is None:
            sql = (
                "SELECT r.* FROM results r JOIN resources s ON s.address = r.address "
                "AND s.generation = r.generation ORDER BY r.address"
            )
            rows = self.conn.execute(sql)
        else:
            rows = self.conn.execute("SELECT * FROM results WHERE address = ? ORDER BY generation", (address,))
        return [decode(dict(r), "counts", "data") for r in rows]

    def applies(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent runs, oldest first."""
        rows = self.conn.execute("SELECT * FROM applies ORDER BY id DESC LIMIT ?", (limit,))
        return [decode(dict(r), "versions", "summary") for r in rows][::-1]

    def targets(self) -> dict[str, tuple[Target, str]]:
        """Recorded target settings and the manifest folder they were declared in."""
        rows = self.conn.execute("SELECT name, config, base_dir FROM targets")
        return {r["name"]: (target_from(json.loads(r["config"])), r["base_dir"]) for r in rows}

    def snapshot_of(self, key: str) -> dict[str, Any] | None:
        """A stored target description by digest (None in a file from before descriptions were kept)."""
        if self.format_version < 2:
            return None
        row = self.conn.execute("SELECT * FROM target_snapshots WHERE digest = ?", (key,)).fetchone()
        return decode(dict(row), "body") if row else None

    def apply_row(self, run_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM applies WHERE id = ?", (run_id,)).fetchone()
        return decode(dict(row), "versions", "summary") if row else None

    def tracked(self, *, skip_statuses: Collection[str] = ()) -> list[dict[str, Any]]:
        """Current generations with a remote id: what refresh and wait look at.

        `skip_statuses` leaves rows in those statuses out in SQL (plan's drift check asks only about
        live resources, and a 10,000-job state of finished jobs should cost it no row decoding).
        """
        skip = sorted(skip_statuses)
        where = f" AND r.status NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        rows = self.conn.execute(
            "SELECT r.address, r.kind, r.target, r.status, r.remote_id, r.generation, r.protect, r.lifecycle, "
            "r.service, g.parent_remote_id, EXISTS(SELECT 1 FROM results x WHERE x.address = r.address "
            "AND x.generation = r.generation) AS has_result FROM resources r JOIN generations g "
            "ON g.address = r.address AND g.generation = r.generation WHERE r.remote_id IS NOT NULL"
            f"{where} ORDER BY r.address",
            skip,
        )
        return [{**dict(r), "lifecycle": shared(r["lifecycle"])} for r in rows]

    def stale_sends(self) -> list[dict[str, Any]]:
        """Open stale sends (noted when a lease was taken from a holder that may still be alive)."""
        if self.format_version < 4:
            return []
        rows = self.conn.execute("SELECT * FROM stale_sends WHERE closed_at IS NULL ORDER BY id")
        return [dict(r) for r in rows]

    def open_intents(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM intents WHERE state = 'open' ORDER BY id")
        return [decode(dict(r), "detail") for r in rows]

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
        return force_unlock(self.conn, self.clock())


def _initialise(conn: sqlite3.Connection, clock: Clock) -> None:
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


def _migrate(conn: sqlite3.Connection, current: int) -> None:
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
