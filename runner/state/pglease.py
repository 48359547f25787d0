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
import getpass
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from runner.errors import LockConflictError, StateError
from runner.state import lock, pgconn
from runner.state.codec import iso
from runner.state.lock import DEFAULT_TTL, TTL_ENV, _gone, _namespace
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


class PgLease:
    """Holds a project's lease while an operation writes."""

    def __init__(self, state: PgStore, operation: str, *, ttl: float | None = None) -> None:
        self.state, self.operation = state, operation
        self.ttl = ttl if ttl is not None else float(os.environ.get(TTL_ENV) or DEFAULT_TTL)
        self.owner = f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.fence: int | None = None
        self.stale: Holder | None = None  # a holder taken over that may still be alive (paused, not killed)
        self.took_over: Holder | None = None
        self.valid_until = 0.0  # on the `uptime` clock: until when this process can prove the lease is its own
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, timeout: float = 0.0) -> PgLease:
        """Take the lease, waiting up to `timeout` seconds for a live holder to let go."""
        deadline = time.monotonic() + timeout
        while True:
            holder = self._try()
            if holder is None:
                self._thread = threading.Thread(target=self._beat, name="runner-lease", daemon=True)
                self._thread.start()
                return self
            if time.monotonic() >= deadline:
                raise LockConflictError(
                    f"the state is locked: {holder.describe(time.time())}. "
                    "Wait for it, raise --lock-timeout, or run `runner state unlock` if that process is gone"
                )
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def holds(self, margin: float | None = None) -> bool:
        """Whether this process can still prove the lease is its own, `margin` seconds ahead (default ttl/5)."""
        margin = self.ttl / 5 if margin is None else margin
        return self.fence is not None and not self.lost and lock.uptime() + margin < self.valid_until

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
        self.took_over = holder
        self.stale = holder if holder is not None and not _gone(holder) else None
        self.fence = self.state.fence = fence
        self.state._known_serial = None  # read afresh by the first write under this lease
        self.valid_until = started + self.ttl
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

    def release(self) -> None:
        """Let go of the lease (only if it is still ours); on a lost connection, the lease simply expires."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.fence is not None:
            self._delete(self.fence)
        self.fence = self.state.fence = None

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

    def __enter__(self) -> PgLease:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _rollback(conn: pgconn.PgConnection) -> None:
    if not conn.broken:
        with contextlib.suppress(StateError):
            conn.execute("ROLLBACK")
