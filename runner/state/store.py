"""The state file: one SQLite database, WAL mode, every transition committed.

All SQL lives in this package. Readers get values (Snapshot, Recorded); writers go through a
Txn, which bumps the serial once per transaction and stamps every row it touches with it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from runner.domain.model import Attrs
from runner.domain.resources import Recorded
from runner.errors import StateError
from runner.state.migrations import LATEST, MIGRATIONS

APPLICATION = "runner-state"
_SQLITE_HEADER = b"SQLite format 3\x00"
Clock = Callable[[], float]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # LazyJSON and read-only views serialise as the mappings they are
        return dict(value)
    return str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)


class LazyJSON(Mapping[str, Any]):
    """A JSON object decoded on first use: a plan over 10,000 unchanged resources never needs their specs."""

    __slots__ = ("_data", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self._text)
        assert self._data is not None
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __eq__(self, other: object) -> bool:
        return self._decoded() == (dict(other) if isinstance(other, Mapping) else other)

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"LazyJSON({self._text})"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Snapshot:
    """What plan needs from the state: identity, serial and the recorded resources."""

    path: str
    exists: bool
    lineage: str | None
    serial: int
    resources: Mapping[str, Recorded]
    project: str | None = None


def attrs_json(attrs: Attrs) -> str:
    return dumps({"tags": list(attrs.tags), "metadata": dict(attrs.metadata), "name": attrs.name})


@lru_cache(maxsize=4096)
def attrs_from(text: str) -> Attrs:
    """Attrs from their JSON; cached by text, since a sweep's jobs all share theirs."""
    raw = json.loads(text)
    return Attrs(tuple(raw.get("tags", ())), MappingProxyType(raw.get("metadata", {})), raw.get("name"))


@lru_cache(maxsize=4096)
def _shared(text: str) -> Mapping[str, Any]:
    """A small JSON object many rows share (lifecycle, detail), decoded once and read-only."""
    return MappingProxyType(json.loads(text))


def _recorded(row: Mapping[str, Any]) -> Recorded:
    return Recorded(
        address=row["address"],
        kind=row["kind"],
        target=row["target"],
        provider=row["provider"],
        parent=row["parent"],
        generation=row["generation"],
        fingerprint=row["fingerprint"],
        spec=LazyJSON(row["spec"]),
        attrs=attrs_from(row["attrs"]),
        status=row["status"],
        remote_id=row["remote_id"],
        protect=bool(row["protect"]),
        lifecycle=_shared(row["lifecycle"]),
        updated_at=row["updated_at"],
        detail=_shared(row["detail"]) if len(row["detail"]) < 256 else LazyJSON(row["detail"]),
    )


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


class State:
    """An open state file."""

    def __init__(self, path: str, conn: sqlite3.Connection, clock: Clock) -> None:
        self.path = path
        self.conn = conn
        self.clock = clock
        self.lineage = self._meta("lineage") or ""
        self.fence: int | None = None  # set while this process holds the lock
        self.writes: dict[str, float] = {"transactions": 0, "durable": 0, "seconds": 0.0}  # for history and benchmarks

    # opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str, *, create: bool = False, clock: Clock = time.time) -> State:
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
        return {r["address"]: _recorded(r) for r in rows}

    def snapshot(self) -> Snapshot:
        self.conn.execute("BEGIN")  # one consistent read
        try:
            return Snapshot(self.path, True, self.lineage, self.serial, self.recorded(), self._meta("project"))
        finally:
            self.conn.execute("COMMIT")

    def resource(self, address: str) -> Recorded | None:
        row = self.conn.execute("SELECT * FROM resources WHERE address = ?", (address,)).fetchone()
        return _recorded(row) if row else None

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
        return [_decode(dict(r), "spec", "origin", "provenance") for r in rows]

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
        return [_decode(dict(r), "counts", "data") for r in rows]

    @property
    def db(self) -> Any:
        """The same connection through sqlite-utils, for table-level reads (imported only when used)."""
        from sqlite_utils import Database

        return Database(self.conn)

    def applies(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.db["applies"].rows_where(order_by="id desc", limit=limit)
        return [_decode(dict(r), "versions", "summary") for r in rows][::-1]

    def targets(self) -> dict[str, tuple[dict[str, Any], str]]:
        """Recorded target settings and the manifest folder they were declared in."""
        rows = self.conn.execute("SELECT name, config, base_dir FROM targets")
        return {r["name"]: (json.loads(r["config"]), r["base_dir"]) for r in rows}

    def snapshot_of(self, key: str) -> dict[str, Any] | None:
        """A stored target description by digest."""
        row = self.conn.execute("SELECT * FROM target_snapshots WHERE digest = ?", (key,)).fetchone()
        return _decode(dict(row), "body") if row else None

    def apply_row(self, run_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM applies WHERE id = ?", (run_id,)).fetchone()
        return _decode(dict(row), "versions", "summary") if row else None

    def tracked(self, *, skip_statuses: Collection[str] = ()) -> list[dict[str, Any]]:
        """Current generations with a remote id: what refresh and wait look at.

        `skip_statuses` leaves rows in those statuses out in SQL (plan's drift check asks only about
        live resources, and a 10,000-job state of finished jobs should cost it no row decoding).
        """
        skip = sorted(skip_statuses)
        where = f" AND r.status NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        rows = self.conn.execute(
            "SELECT r.address, r.kind, r.target, r.status, r.remote_id, r.generation, r.protect, "
            "g.parent_remote_id, EXISTS(SELECT 1 FROM results x WHERE x.address = r.address "
            "AND x.generation = r.generation) AS has_result FROM resources r JOIN generations g "
            "ON g.address = r.address AND g.generation = r.generation WHERE r.remote_id IS NOT NULL"
            f"{where} ORDER BY r.address",
            skip,
        )
        return [dict(r) for r in rows]

    def open_intents(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM intents WHERE state = 'open' ORDER BY id")
        return [_decode(dict(r), "detail") for r in rows]

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
                from runner.state.lock import check_fence

                check_fence(self.conn, self.fence)
            serial = self.serial + (1 if bump else 0)
            if bump:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'serial'", (str(serial),))
            yield Txn(self, serial, iso(self.clock()))
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


def _decode(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if row.get(key) is not None:
            row[key] = json.loads(row[key])
    return row


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


from runner.state.txn import Txn  # noqa: E402  (Txn needs the helpers above)
