"""The state backends every state test runs against: a SQLite file, and PostgreSQL when there is one.

With RUNNER_TEST_POSTGRES set (CI sets it after starting a server with .ci/postgres.sh), the
PostgreSQL cases are required: a server that cannot be reached fails them. Without it they skip,
saying how to start one. Each test gets a project of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# read at import: the autouse `isolated` fixture scrubs RUNNER_* from each test's environment
POSTGRES = os.environ.get("RUNNER_TEST_POSTGRES", "")
PASSFILE = os.environ.get("PGPASSFILE", "")  # kept for clean-up, which may run after a test removed it
NO_POSTGRES = 'RUNNER_TEST_POSTGRES is not set (start a server: eval "$(bash .ci/postgres.sh start)")'
BACKENDS = ("sqlite", "postgres")

Locations = Callable[[], str]


def needs_postgres() -> str:
    """The server's URL, or a skip naming how to get one."""
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    return POSTGRES


def drop(url: str, project: str) -> None:
    """Remove one project's schema and registry row (test clean-up)."""
    import psycopg

    from runner.state.pgschema import schema_for

    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        schema = psycopg.sql.Identifier(schema_for(project))
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
        if conn.execute("SELECT to_regclass('runner.projects')").fetchone() != (None,):
            conn.execute("DELETE FROM runner.projects WHERE project = %s", (project,))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend's name; postgres ones skip (or, in CI, fail) without a server."""
    if request.param == "postgres":
        needs_postgres()
    return str(request.param)


@pytest.fixture
def locations(backend: str, tmp_path: Path) -> Iterator[Locations]:
    """A maker of fresh, empty state locations on the backend under test."""
    made: list[str] = []

    def new() -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        made.append(name)
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        return f"{POSTGRES}?project={name}"

    yield new
    if backend == "postgres":
        for name in made:
            drop(POSTGRES, name)


@pytest.fixture
def location(locations: Locations) -> str:
    """One fresh state location on the backend under test."""
    return locations()


def query(url: str, project: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows from one project's schema, read directly (what a test checks the store against); [] before it exists."""
    import psycopg

    from runner.state.pgschema import schema_for

    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        schema = schema_for(project)
        if conn.execute("SELECT to_regclass(%s)", (f"{schema}.intents",)).fetchone() == (None,):
            return []
        conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema)))
        return list(conn.execute(sql.encode(), params))


def password(url: str) -> str:
    """The test server's password, from the pgpass file .ci/postgres.sh wrote."""
    line = Path(PASSFILE).read_text().splitlines()[0]
    return line.rsplit(":", 1)[1]


def _conninfo(url: str) -> str:
    from runner.state.location import parse

    args = {**parse(url).connect_args(), **({"passfile": PASSFILE} if PASSFILE else {})}
    return " ".join(f"{k}={v}" for k, v in args.items())


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database on the server (dropped afterwards): a URL where no project exists yet."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(_conninfo(url), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)".encode())
