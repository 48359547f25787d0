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

from runner.errors import StateError

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


def lost(shown: str, exc: BaseException, broken: bool) -> StateError:
    """The error for a connection that broke or a statement the server refused."""
    if broken:
        return StateError(
            f"{shown}: lost the connection to the state database ({describe(exc)}); what was in flight is "
            "recorded as intents, and the next plan or apply reconciles them"
        )
    return StateError(f"{shown}: the state database refused a statement ({describe(exc)})")


class Cursor:
    """A psycopg cursor whose reads, which may be where a pipelined statement's error surfaces, map errors too."""

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


class PgConnection:
    """A psycopg connection speaking the `Connection` protocol of txn.py."""

    def __init__(self, raw: psycopg.Connection[Any], shown: str) -> None:
        self.raw, self.shown = raw, shown
        self.error = load().Error

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), /) -> Cursor:
        args = [_param(p) for p in params] if not isinstance(params, Mapping) else params
        try:
            return Cursor(self, self.raw.execute(translate(sql), args or None))
        except self.error as exc:
            raise lost(self.shown, exc, self.broken) from None

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """Statements sent without waiting for each answer (one round trip per read, and one at the end).

        Each blocking round trip costs a thread switch, and an apply's main thread competes for the
        interpreter with its provider threads: fewer round trips per transaction is what keeps a
        PostgreSQL state close to the SQLite file's speed.
        """
        try:
            with self.raw.pipeline():
                yield
        except self.error as exc:
            raise lost(self.shown, exc, self.broken) from None

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
