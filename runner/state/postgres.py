"""The PostgreSQL state backend for teams: many projects in one database, each in a schema of its own.

The same `Store` protocol as the SQLite file, with the same SQL for every row it reads and writes
(through pgconn's adapter): lineage and serial in `meta`, generations, results, write-ahead
intents, history, versioned migrations per project. Intents are committed with
`synchronous_commit` on before every create; other transitions with it off, which, like
SQLite's synchronous=NORMAL, survives the process being killed but not the server crashing.
The lease (pglease.py) lives in the project's schema, so two projects apply at once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from runner.errors import LockConflictError, StateError
from runner.state import lock, pgconn, pgschema
from runner.state.codec import iso
from runner.state.location import PgLocation, parse
from runner.state.migrations import LATEST
from runner.state.pglease import PgLease, read_holder
from runner.state.protocol import Holder, Snapshot
from runner.state.sql import SqlStore
from runner.state.txn import Txn

APPLICATION = "runner-state"
Clock = Callable[[], float]


class NoStateError(StateError):
    """Nothing has been applied with this project in this database yet."""


def _location(location: str) -> PgLocation:
    where = parse(location)
    if not where.project:
        raise StateError(
            f"{where.shown} names no project: add ?project=NAME, or pass -m MANIFEST to use the manifest's "
            f"(`runner state projects --state {where.server}` lists them)"
        )
    return where


def _schema_of(conn: pgconn.PgConnection, project: str) -> str | None:
    found = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = ? AND tablename = 'projects'", (pgschema.REGISTRY,)
    ).fetchone()
    if found is None:
        return None
    row = conn.execute(f"SELECT schema_name FROM {pgschema.REGISTRY}.projects WHERE project = ?", (project,)).fetchone()
    return str(row[0]) if row else None


class PgStore(SqlStore):
    """One project's state in a PostgreSQL database (the `Store` protocol)."""

    conn: pgconn.PgConnection

    def __init__(self, where: PgLocation, conn: pgconn.PgConnection, schema: str, clock: Clock) -> None:
        self.where, self.conn, self.schema, self.clock = where, conn, schema, clock
        self.path = where.shown
        self.lineage = self._meta("lineage") or ""
        self.fence: int | None = None  # set while this process holds the lease
        self._reserved: list[int] = []  # intent ids taken from the sequence, not used yet (largest first)
        self._known_serial: int | None = None  # the serial our last write left, while we hold the lease
        self.writes: dict[str, float] = {"transactions": 0, "durable": 0, "seconds": 0.0}

    # opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, location: str, *, create: bool = False, clock: Clock = time.time) -> PgStore:
        """Open one project's state (with create: make its schema, or migrate it); never touch another's."""
        where = _location(location)
        assert where.project is not None
        conn = pgconn.connect(where.connect_args(), where.shown, None)
        try:
            schema = _schema_of(conn, where.project)
            if schema is None:
                if not create:
                    raise NoStateError(
                        f"no state for project '{where.project}' in {where.server}: "
                        "nothing has been applied with it yet"
                    )
                schema = _initialise(conn, where.project, clock)
            pgconn.use(conn, schema)
            store = cls(where, conn, schema, clock)
            store._check_identity(create)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def exists(cls, location: str) -> bool:
        where = _location(location)
        assert where.project is not None
        conn = pgconn.connect(where.connect_args(), where.shown, None)
        try:
            return _schema_of(conn, where.project) is not None
        finally:
            conn.close()

    def _check_identity(self, writing: bool) -> None:
        if self._meta("application") != APPLICATION:
            raise StateError(f"{self.path}: schema {self.schema} is not a runner state (another application's tables)")
        version = self.format_version
        if version > LATEST:
            raise StateError(f"{self.path} was written by a newer runner (state format {version}); upgrade runner")
        self._check_tables(version)
        if writing and version < LATEST:
            self._migrate()

    def _migrate(self) -> None:
        """Each version in its own transaction; concurrent openers wait on the version row, then skip what is done."""
        for version in range(1, LATEST + 1):
            self.conn.execute("BEGIN")
            try:
                current = self.conn.execute("SELECT value FROM meta WHERE key = 'format_version' FOR UPDATE")
                if int(current.fetchone()[0]) >= version:
                    self.conn.execute("COMMIT")
                    continue
                for statement in pgschema.statements(pgschema.MIGRATIONS[version]):
                    self.conn.execute(statement)
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(version),))
            except BaseException:
                _rollback(self.conn)
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading ---------------------------------------------------------------------------------
    @property
    def project(self) -> str | None:
        """The project this state belongs to: claimed by its first apply, and named by its URL before that."""
        return self._meta("project") or self.where.project

    def snapshot(self) -> Snapshot:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one consistent read
        try:
            return self._snapshot()
        finally:
            _rollback(self.conn)

    def _tables(self) -> set[str]:
        rows = self.conn.execute("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = ?", (self.schema,))
        return {r[0] for r in rows}

    def restore(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Fill this new, empty state with rows another state exported (`runner state migrate`)."""
        self._check_empty()
        with self.transaction(bump=False, durable=True):
            self._restore_rows(tables)
            for table in pgschema.IDENTITY_TABLES:  # the next id continues after the copied ones
                self.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                    f"FROM {table}"
                )
        self.lineage = self._meta("lineage") or ""

    # writing ---------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, bump: bool = True, durable: bool = False) -> Iterator[Txn]:
        """One write transaction: fence checked (and held) first, serial + 1, commit or roll back.

        `durable` ones (intents, before their calls) wait for the WAL flush on the server.
        """
        started = time.perf_counter()
        known, self._known_serial = self._known_serial, None
        try:
            with self.conn.batched():
                self.conn.execute("BEGIN")
                self.conn.execute(f"SET LOCAL synchronous_commit TO {'on' if durable else 'off'}")
                if self.fence is not None and known is not None:
                    # under our lease the serial is the one we left: the server checks both, nothing waits
                    self.conn.execute(_guarded(self.fence, known, int(bump)))
                    serial = known + int(bump)
                else:
                    head = self.conn.execute(_HEAD, (int(bump),)).fetchone()  # a request of its own
                    if self.fence is not None:
                        _check_fence(head, self.fence)
                    serial = int(head["serial"])
                yield Txn(self.conn, serial, iso(self.clock()), self._intent_id)
                self.conn.flush("COMMIT")  # everything written, and the commit, in one request
        except BaseException:
            _rollback(self.conn)
            raise
        if self.fence is not None:
            self._known_serial = serial
        self.writes["transactions"] += 1
        self.writes["durable"] += int(durable)
        self.writes["seconds"] += time.perf_counter() - started

    def _intent_id(self) -> int:
        """The next intent id, from a block reserved on the intents' sequence: one round trip per 64 intents."""
        if not self._reserved:
            rows = self.conn.execute(
                "SELECT nextval(pg_get_serial_sequence('intents', 'id')) FROM generate_series(1, 64)"
            ).fetchall()
            self._reserved = sorted(int(r[0]) for r in rows)[::-1]
        return self._reserved.pop()

    def checkpoint(self) -> None:
        """Nothing to settle: the server owns its files, and readers never change them."""

    # the lease ---------------------------------------------------------------------------------
    def lease(self, operation: str, timeout: float = 0.0) -> PgLease:
        """Take the project's lease, waiting up to `timeout` seconds for a live holder to let go."""
        return PgLease(self, operation).acquire(timeout)

    def holder(self) -> Holder | None:
        return read_holder(self.conn)

    def force_unlock(self) -> Holder | None:
        self.conn.execute("BEGIN")
        try:
            holder = read_holder(self.conn)
            if holder is not None and not lock._gone(holder) and self.format_version >= 4:
                lock.note_stale_sends(self.conn, holder, time.time())
            self.conn.execute("DELETE FROM lock WHERE id = 1")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return holder


# The lease row read FOR SHARE (held until the transaction ends) and the serial bumped, in one statement.
_HEAD = (
    "WITH lease AS (SELECT fence, owner FROM lock WHERE id = 1 FOR SHARE), "
    "bumped AS (UPDATE meta SET value = CAST(CAST(value AS BIGINT) + ? AS TEXT) WHERE key = 'serial' RETURNING value) "
    "SELECT (SELECT fence FROM lease) AS fence, (SELECT owner FROM lease) AS owner, "
    "(SELECT value FROM bumped) AS serial"
)


def _guarded(fence: int, known: int, bump: int) -> str:
    """What _HEAD does, for a holder that knows the serial: checked on the server, which aborts the transaction.

    Only integers are interpolated. The lease row is held FOR SHARE until the transaction ends.
    """
    return (
        "DO $runner$ DECLARE holder TEXT; BEGIN "
        f"PERFORM 1 FROM lock WHERE id = 1 AND fence = {int(fence)} FOR SHARE; "
        "IF NOT FOUND THEN SELECT owner INTO holder FROM lock WHERE id = 1; "
        f"RAISE EXCEPTION USING ERRCODE = '{pgconn.FENCE_LOST}', MESSAGE = COALESCE(holder, ''); END IF; "
        f"UPDATE meta SET value = '{int(known) + int(bump)}' WHERE key = 'serial' AND value = '{int(known)}'; "
        f"IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = '{pgconn.SERIAL_MOVED}', MESSAGE = 'serial'; END IF; "
        "END $runner$"
    )


def _check_fence(row: Any, fence: int) -> None:
    """Inside a write transaction: refuse to write if our lease was taken over.

    The row was read FOR SHARE, which keeps it as it is until this transaction ends: a taker's
    update waits for our commit, so nothing is written under a fence that is no longer current.
    """
    if row is None or row["fence"] != fence:
        who = f" by {row['owner']}" if row is not None and row["owner"] is not None else ""
        raise LockConflictError(f"this process lost the state lock (taken over{who}); stopping without writing")


def _initialise(conn: pgconn.PgConnection, project: str, clock: Clock) -> str:
    """Register the project and create its schema at the latest version, all in one transaction."""
    psycopg = pgconn.load()
    schema = pgschema.schema_for(project)
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('runner: registry'))")  # one creator at a time
        for statement in pgschema.REGISTRY_DDL:
            conn.execute(statement)
        existing = _schema_of(conn, project)
        if existing is not None:  # another process created it while we waited
            conn.execute("COMMIT")
            return existing
        conn.execute(
            f"INSERT INTO {pgschema.REGISTRY}.projects (project, schema_name, created_at) VALUES (?, ?, ?)",
            (project, schema, iso(clock())),
        )
        ident = psycopg.sql.Identifier(schema).as_string(conn.raw)
        conn.execute(f"CREATE SCHEMA {ident}")
        conn.execute(f"SET LOCAL search_path TO {ident}")
        for version in range(1, LATEST + 1):
            for statement in pgschema.statements(pgschema.MIGRATIONS[version]):
                conn.execute(statement)
        meta = {
            "application": APPLICATION,
            "format_version": str(LATEST),
            "lineage": str(uuid.uuid4()),
            "serial": "0",
            "created_at": iso(clock()),
        }
        for key, value in meta.items():
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    except BaseException:
        _rollback(conn)
        raise
    conn.execute("COMMIT")
    return schema


def _rollback(conn: pgconn.PgConnection) -> None:
    """Roll back if the connection still can; a broken one has rolled back on the server already."""
    if conn.broken:
        return
    with contextlib.suppress(StateError):
        conn.execute("ROLLBACK")


def projects(location: str) -> list[dict[str, Any]]:
    """Every project recorded in the database a location names, with its serial, size, last run and lease."""
    where = parse(location)
    conn = pgconn.connect(where.connect_args(), where.server, None)
    try:
        found = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = ? AND tablename = 'projects'", (pgschema.REGISTRY,)
        ).fetchone()
        rows = (
            list(conn.execute(f"SELECT project, schema_name FROM {pgschema.REGISTRY}.projects ORDER BY project"))
            if found
            else []
        )
        return [_describe(conn, where, r["project"], r["schema_name"]) for r in rows]
    finally:
        conn.close()


def _describe(conn: pgconn.PgConnection, where: PgLocation, project: str, schema: str) -> dict[str, Any]:
    pgconn.use(conn, schema)
    serial = conn.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()
    count = conn.execute("SELECT count(*) FROM resources").fetchone()[0]
    last = conn.execute("SELECT operation, started_at, outcome FROM applies ORDER BY id DESC LIMIT 1").fetchone()
    holder = read_holder(conn)
    return {
        "project": project,
        "state": where.with_project(project).shown,
        "schema": schema,
        "serial": int(serial[0]) if serial else 0,
        "resources": int(count),
        "last_run": dict(last) if last else None,
        "locked_by": holder.owner if holder is not None and holder.expires_at > time.time() else None,
    }
