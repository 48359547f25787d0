"""The PostgreSQL state's lease: a row in the project's schema, good across machines.

The same rules as the SQLite lease (lock.py): holder, operation, heartbeat, expiry, a fencing
number that only grows (kept in meta) and is checked inside every write transaction. What
changes across machines: expiry is computed with the database's clock, so holders on machines
whose clocks disagree still agree on when a lease ends; the heartbeat runs on a connection of
its own, which reconnects after a drop; and `holds()` is judged, as on SQLite, from the last
heartbeat that got through, on a clock that counts while the process is stopped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import TYPE_CHECKING

from runner.errors import StateError
from runner.state import lock, pgconn
from runner.state.codec import iso
from runner.state.lock import _gone, _namespace
from runner.state.protocol import Holder

if TYPE_CHECKING:
    from runner.state.postgres import PgStore

DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


def read_holder(conn: pgconn.PgConnection) -> Holder | None:
    """The lease row, its expiry moved onto this machine's clock (what is left of it, by the database's)."""
    row = conn.execute(f"SELECT *, expires_at - {DB_NOW} AS remaining FROM lock WHERE id = 1").fetchone()
    if row is None:
        return None
    return Holder(
        row["owner"],
        row["host"],
        row["pid"],
        row["ns"],
        row["operation"],
        row["acquired_at"],
        row["heartbeat_at"],
        time.time() + float(row["remaining"]),
        row["fence"],
    )


class PgLease(lock.LeaseBase):
    """Holds a project's lease while an operation writes."""

    def __init__(self, state: PgStore, operation: str, *, ttl: float | None = None) -> None:
        super().__init__(operation, ttl=ttl)
        self.state: PgStore = state

    def _try(self) -> Holder | None:
        started, conn = lock.uptime(), self.state.conn
        conn.execute("BEGIN")
        try:
            # the fence row serialises acquirers: whoever locks it first decides, the others then see its lease
            conn.execute("INSERT INTO meta (key, value) VALUES ('fence', '0') ON CONFLICT (key) DO NOTHING")
            last = int(conn.execute("SELECT value FROM meta WHERE key = 'fence' FOR UPDATE").fetchone()[0])
            holder = read_holder(conn)
            if holder is not None and holder.expires_at > time.time() and not _gone(holder):
                conn.execute("COMMIT")
                return holder
            if holder is not None and not _gone(holder):
                lock.note_stale_sends(conn, holder, time.time())  # it may wake up and send what it had started
            fence = max(holder.fence if holder else 0, last) + 1  # fencing numbers only ever grow
            conn.execute("UPDATE meta SET value = ? WHERE key = 'fence'", (str(fence),))
            now = iso(time.time())
            conn.execute(
                "INSERT INTO lock (id, owner, host, pid, ns, operation, acquired_at, heartbeat_at, expires_at, fence) "
                f"VALUES (1, ?, ?, ?, ?, ?, ?, ?, {DB_NOW} + ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "owner = excluded.owner, host = excluded.host, pid = excluded.pid, ns = excluded.ns, "
                "operation = excluded.operation, acquired_at = excluded.acquired_at, "
                "heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, fence = excluded.fence",
                (
                    self.owner,
                    socket.gethostname(),
                    os.getpid(),
                    _namespace(),
                    self.operation,
                    now,
                    now,
                    self.ttl,
                    fence,
                ),
            )
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")
        self._took(holder, fence, started)
        self.state._known_serial = None  # read afresh by the first write under this lease
        return None

    def _beat(self) -> None:
        conn: pgconn.PgConnection | None = None
        try:
            while not self._stop.wait(self.ttl / 3):
                conn = conn if conn is not None and not conn.broken else self._connect()
                if conn is None:
                    continue  # the database is out of reach: holds() runs out at valid_until
                if not self._renew(conn):
                    self.lost = True  # taken over: holds() turns false, and the fence check stops our next write
                    return
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> pgconn.PgConnection | None:
        where = self.state.where
        try:
            return pgconn.connect(where.connect_args(), where.shown, self.state.schema)
        except StateError:
            return None

    def _renew(self, conn: pgconn.PgConnection) -> bool:
        started = lock.uptime()
        try:
            cur = conn.execute(
                f"UPDATE lock SET heartbeat_at = ?, expires_at = {DB_NOW} + ? WHERE id = 1 AND fence = ?",
                (iso(time.time()), self.ttl, self.fence),
            )
        except StateError:
            return True  # not renewed, not lost either: the next beat tries again on a new connection
        if cur.rowcount == 0:
            return False
        self.valid_until = started + self.ttl
        return True

    def _delete(self, fence: int) -> None:
        conn, fresh = self.state.conn, None
        if conn.broken:
            fresh = conn = self._connect()  # type: ignore[assignment]
        try:
            if conn is not None:
                conn.execute("DELETE FROM lock WHERE id = 1 AND fence = ?", (fence,))
        except StateError:
            pass  # the lease expires after its ttl
        finally:
            if fresh is not None:
                fresh.close()


def _rollback(conn: pgconn.PgConnection) -> None:
    if not conn.broken:
        with contextlib.suppress(StateError):
            conn.execute("ROLLBACK")
