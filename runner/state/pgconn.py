"""The connection adapter that lets txn.py's and sql.py's SQL run on psycopg 3 unchanged.

It turns `?` placeholders into psycopg's `%s`, gives rows that read by position and by column
name (as sqlite3.Row does), stores booleans as the integers SQLite keeps, and turns every
psycopg error into a one-line StateError naming the state (never its password). psycopg is
imported here and only when a PostgreSQL location is used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runner.errors import LockConflictError, RunnerError, StateError

if TYPE_CHECKING:
    import psycopg

_QUIET = logging.NullHandler()


def load() -> Any:
    """The psycopg module, or a StateError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise StateError(
            "a PostgreSQL state needs psycopg 3: pip install 'runner[postgres]' (or pip install 'psycopg[binary]')"
        ) from None
    # psycopg logs what it ignores while closing a broken connection ("error ignored terminating ..."):
    # the error that matters reaches the user as one line, so those warnings must not reach stderr
    logging.getLogger("psycopg").addHandler(_QUIET)
    return psycopg


class Row(dict[str, Any]):
    """A row readable as row["column"] and row[0]; dict(row) gives the columns.

    Reading by name is dict's own lookup (a plan reads 170,000 fields of 10,000 rows); reading by
    position, which only a few single-column queries do, goes through __missing__.
    """

    __slots__ = ()

    def __missing__(self, key: object) -> Any:
        if isinstance(key, int):
            return self[list(self)[key]]
        raise KeyError(key)


def row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = [c.name for c in cursor.description] if cursor.description else []
    return lambda values: Row(zip(names, values, strict=True))


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (a literal `%` doubled); runner's SQL has no `?` inside strings."""
    return sql.replace("%", "%%").replace("?", "%s")


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def describe(exc: BaseException) -> str:
    """psycopg's message on one line, without libpq's hints and context."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first.removeprefix("FATAL:  ").removeprefix("ERROR:  ")


FENCE_LOST = "RF001"  # SQLSTATE raised by a transaction whose lease another process holds now
SERIAL_MOVED = "RF002"  # ... by one whose state was written by someone without the lease


def lost(shown: str, exc: BaseException, broken: bool) -> RunnerError:
    """The error for a connection that broke or a statement the server refused."""
    code = getattr(exc, "sqlstate", None)
    if code == FENCE_LOST:
        who = getattr(getattr(exc, "diag", None), "message_primary", None)
        by = f" by {who}" if who else ""
        return LockConflictError(f"this process lost the state lock (taken over{by}); stopping without writing")
    if code == SERIAL_MOVED:
        return StateError(f"{shown} was written by another process while this one held its lease; run again")
    if broken:
        return StateError(
            f"{shown}: lost the connection to the state database ({describe(exc)}); what was in flight is "
            "recorded as intents, and the next plan or apply reconciles them"
        )
    return StateError(f"{shown}: the state database refused a statement ({describe(exc)})")


class Cursor:
    """A psycopg cursor whose reads map errors too."""

    __slots__ = ("_conn", "_cur")

    def __init__(self, conn: PgConnection, cur: Any) -> None:
        self._conn, self._cur = conn, cur

    def _guard(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except self._conn.error as exc:
            raise lost(self._conn.shown, exc, self._conn.broken) from None

    def fetchone(self) -> Any:
        return self._guard(self._cur.fetchone)

    def fetchall(self) -> list[Any]:
        return list(self._guard(self._cur.fetchall))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)


class Deferred:
    """A statement written to a transaction's batch and not sent yet: reading its result sends it."""

    __slots__ = ("_conn", "_sent", "text")

    def __init__(self, conn: PgConnection, text: str) -> None:
        self._conn, self.text = conn, text
        self._sent: Cursor | None = None

    def _result(self) -> Cursor:
        if self._sent is None:
            self._sent = self._conn.resolve(self)
        return self._sent

    def fetchone(self) -> Any:
        return self._result().fetchone()

    def fetchall(self) -> list[Any]:
        return self._result().fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._result().rowcount


class PgConnection:
    """A psycopg connection speaking the `Connection` protocol of txn.py.

    Inside `batched()`, statements are bound on the client (psycopg's own quoting) and kept until a
    result is read or the transaction commits, then sent together as one request. Every round trip
    costs the apply's main thread a wait for the interpreter, which its provider threads hold most
    of the time: one request per transaction instead of one per statement is what keeps a
    PostgreSQL state close to the SQLite file's speed.
    """

    def __init__(self, raw: psycopg.Connection[Any], shown: str) -> None:
        self.raw, self.shown = raw, shown
        psycopg = load()
        self.error = psycopg.Error
        self._client = psycopg.ClientCursor(raw)
        self._batch: list[Deferred] | None = None

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), /) -> Cursor | Deferred:
        args = [_param(p) for p in params] if not isinstance(params, Mapping) else params
        try:
            if self._batch is not None:
                text = self._client.mogrify(translate(sql), args) if args else sql
                self._batch.append(Deferred(self, text))
                return self._batch[-1]
            return Cursor(self, self.raw.execute(translate(sql), args or None))
        except self.error as exc:
            raise lost(self.shown, exc, self.broken) from None

    def _send(self, texts: list[str]) -> Cursor:
        """Several statements in one request; the cursor is left on the last one's result."""
        try:
            cur = self.raw.execute(";\n".join(texts).encode())
            while cur.nextset():
                pass
        except self.error as exc:
            raise lost(self.shown, exc, self.broken) from None
        return Cursor(self, cur)

    def resolve(self, statement: Deferred) -> Cursor:
        """Send the batch up to and including `statement`; what was written after it stays batched."""
        assert self._batch is not None
        at = self._batch.index(statement)
        sent, self._batch = self._batch[: at + 1], self._batch[at + 1 :]
        return self._send([d.text for d in sent])

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Keep statements until a read or `flush`; what is still kept at the end is dropped (rolled back)."""
        self._batch = []
        try:
            yield
        finally:
            self._batch = None

    def flush(self, last: str) -> None:
        """Send what is batched, followed by `last` (COMMIT), in one request."""
        assert self._batch is not None
        texts, self._batch = [*(d.text for d in self._batch), last], []
        self._send(texts)

    def close(self) -> None:
        self.raw.close()

    @property
    def broken(self) -> bool:
        return bool(self.raw.closed or self.raw.broken)


def connect(args: Mapping[str, str], shown: str, schema: str | None) -> PgConnection:
    """An autocommit connection (transactions are explicit BEGIN/COMMIT, as on SQLite) to `schema`."""
    psycopg = load()
    try:
        raw = psycopg.connect(
            autocommit=True,
            row_factory=row_factory,
            connect_timeout=int(args.get("connect_timeout", 10)),
            application_name="runner",
            **{k: v for k, v in args.items() if k != "connect_timeout"},
        )
    except psycopg.Error as exc:
        raise StateError(f"{shown}: cannot connect to the state database ({describe(exc)})") from None
    conn = PgConnection(raw, shown)
    if schema is not None:
        use(conn, schema)
    return conn


def use(conn: PgConnection, schema: str) -> None:
    """Make `schema` the one unqualified table names resolve to (one project's tables)."""
    psycopg = load()
    conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema)).as_string(conn.raw))
