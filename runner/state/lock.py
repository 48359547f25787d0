"""The SQLite state's lease: owner, host, pid, operation, heartbeat, expiry, fencing number.

A second writer waits up to its timeout, then fails naming the holder. A lease whose holder
stopped heart-beating expires and is taken over; a holder on this machine whose process is
gone is taken over at once. Every write transaction checks the fence, so a process that lost
its lease can never write again.
"""

from __future__ import annotations

import getpass
import os
import socket
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, Self

from runner.errors import LockConflictError
from runner.state.codec import iso
from runner.state.protocol import Holder
from runner.state.txn import Connection

if TYPE_CHECKING:
    from runner.state.sqlite import SqliteStore
    from runner.state.sqliteconn import SqliteConnection

DEFAULT_TTL = 15.0  # seconds without a heartbeat before a lease counts as abandoned
TTL_ENV = "RUNNER_LOCK_TTL"  # override, e.g. for tests of lease expiry


def _namespace() -> str:
    # pids only mean something inside one pid namespace (containers share hostnames and volumes)
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "unknown"


def read_holder(conn: SqliteConnection) -> Holder | None:
    row = conn.execute("SELECT * FROM lock WHERE id = 1").fetchone()
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
        row["expires_at"],
        row["fence"],
    )


def check_fence(conn: SqliteConnection, fence: int) -> None:
    """Inside a write transaction: refuse to write if our lease was taken over."""
    row = conn.execute("SELECT fence, owner FROM lock WHERE id = 1").fetchone()
    if row is None or row["fence"] != fence:
        who = f" by {row['owner']}" if row is not None else ""
        raise LockConflictError(f"this process lost the state lock (taken over{who}); stopping without writing")


def uptime() -> float:
    """Seconds on a clock that counts while this process is stopped and while the machine sleeps."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


def _gone(holder: Holder) -> bool:
    """True when the holder is a process on this machine that no longer exists."""
    if holder.host != socket.gethostname() or holder.ns != _namespace():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Fenced(Protocol):
    """A store whose writes check the fencing number of the lease it is held under."""

    fence: int | None


class LeaseBase(ABC):
    """What every backend's lease shares: waiting for a holder, proving the lease, the heartbeat thread, release.

    A backend says how the lease row is taken (`_try`), renewed (`_beat`, on a thread of its own) and
    deleted (`_delete`).
    """

    state: Fenced

    def __init__(
        self,
        operation: str,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.operation = operation
        self.ttl = ttl if ttl is not None else float(os.environ.get(TTL_ENV) or DEFAULT_TTL)
        self.clock, self.sleep = clock, sleep
        self.owner = f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.fence: int | None = None
        self.took_over: Holder | None = None
        self.stale: Holder | None = None  # a holder taken over that may still be alive (paused, not killed)
        self.valid_until = 0.0  # on the `uptime` clock: until when this process can prove the lease is its own
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, timeout: float = 0.0) -> Self:
        """Take the lease, waiting up to `timeout` seconds for a live holder to let go."""
        deadline = self.clock() + timeout
        while True:
            holder = self._try()
            if holder is None:
                self._thread = threading.Thread(target=self._beat, name="runner-lease", daemon=True)
                self._thread.start()
                return self
            if self.clock() >= deadline:
                raise LockConflictError(
                    f"the state is locked: {holder.describe(self.clock())}. "
                    "Wait for it, raise --lock-timeout, or run `runner state unlock` if that process is gone"
                )
            self.sleep(min(0.2, max(0.0, deadline - self.clock())))

    def holds(self, margin: float | None = None) -> bool:
        """Whether this process can still prove the lease is its own, `margin` seconds ahead (default ttl/5).

        Judged from the last heartbeat that got through, on a clock that keeps counting while the
        process is stopped or the machine sleeps: a run that was frozen past its lease knows it.
        """
        margin = self.ttl / 5 if margin is None else margin
        return self.fence is not None and not self.lost and uptime() + margin < self.valid_until

    def _took(self, holder: Holder | None, fence: int, started: float) -> None:
        """The lease is ours from now: note whom it was taken from and arm the fence."""
        self.took_over = holder
        self.stale = holder if holder is not None and not _gone(holder) else None
        self.fence = self.state.fence = fence
        self.valid_until = started + self.ttl

    @abstractmethod
    def _try(self) -> Holder | None:
        """Take the lease row unless a live holder has it (then return that holder)."""

    @abstractmethod
    def _beat(self) -> None:
        """Renew the lease every ttl/3 until stopped; set `lost` once it is no longer ours."""

    @abstractmethod
    def _delete(self, fence: int) -> None:
        """Delete the lease row if it still carries this fence."""

    def release(self) -> None:
        """Let go of the lease (only if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.fence is not None:
            self._delete(self.fence)
        self.fence = self.state.fence = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class Lease(LeaseBase):
    """Holds the SQLite state's lock while an operation writes."""

    def __init__(
        self,
        state: SqliteStore,
        operation: str,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(operation, ttl=ttl, clock=clock, sleep=sleep)
        self.state: SqliteStore = state

    def _try(self) -> Holder | None:
        started = uptime()
        conn, now = self.state.conn, self.clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            holder = read_holder(conn)
            if holder is not None and holder.expires_at > now and not _gone(holder):
                conn.execute("COMMIT")
                return holder
            # fencing numbers only ever grow, even across a release or `state unlock`, which delete the row
            last = conn.execute("SELECT value FROM meta WHERE key = 'fence'").fetchone()
            fence = max(holder.fence if holder else 0, int(last[0]) if last else 0) + 1
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('fence', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(fence),),
            )
            if holder is not None and not _gone(holder) and _has_stale_sends(conn):
                note_stale_sends(conn, holder, now)  # it may wake up and send what it had started
            conn.execute(
                "INSERT OR REPLACE INTO lock (id, owner, host, pid, ns, operation, acquired_at, heartbeat_at, "
                "expires_at, fence) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.owner,
                    socket.gethostname(),
                    os.getpid(),
                    _namespace(),
                    self.operation,
                    iso(now),
                    iso(now),
                    now + self.ttl,
                    fence,
                ),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._took(holder, fence, started)
        return None

    def _beat(self) -> None:
        conn = sqlite3.connect(self.state.path, isolation_level=None, timeout=30)
        try:
            while not self._stop.wait(self.ttl / 3):
                started, now = uptime(), self.clock()
                cur = conn.execute(
                    "UPDATE lock SET heartbeat_at = ?, expires_at = ? WHERE id = 1 AND fence = ?",
                    (iso(now), now + self.ttl, self.fence),
                )
                if cur.rowcount == 0:
                    self.lost = True  # taken over: holds() turns false, and the fence check stops our next write
                    return
                self.valid_until = started + self.ttl
        except sqlite3.Error:
            return
        finally:
            conn.close()

    def _delete(self, fence: int) -> None:
        self.state.conn.execute("DELETE FROM lock WHERE id = 1 AND fence = ?", (fence,))


def force_unlock(conn: SqliteConnection, now: float | None = None) -> Holder | None:
    """Remove whatever lease is recorded; returns who held it. Its open intents are noted as stale sends."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        holder = read_holder(conn)
        if holder is not None and not _gone(holder) and _has_stale_sends(conn):
            note_stale_sends(conn, holder, time.time() if now is None else now)
        conn.execute("DELETE FROM lock WHERE id = 1")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return holder


def note_stale_sends(conn: Connection, holder: Holder, now: float) -> None:
    """Inside a transaction: every open intent may still be sent by `holder`, which lost the lease alive.

    Plain SQL both backends run; the caller makes sure the state has the table (format 4 and later).
    """
    conn.execute(
        "INSERT INTO stale_sends (token, address, generation, intent_id, stale_owner, stale_host, stale_pid, "
        "stale_ns, noted_at, noted_epoch) SELECT token, address, generation, id, ?, ?, ?, ?, ?, ? "
        "FROM intents WHERE state = 'open'",
        (holder.owner, holder.host, holder.pid, holder.ns, iso(now), now),
    )


def _has_stale_sends(conn: SqliteConnection) -> bool:
    """Whether the file has reached format 4 (a read-only command may have opened an older one)."""
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stale_sends'").fetchone() is not None
    )
