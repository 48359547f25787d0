"""Where a state lives: a file path, or a PostgreSQL URL naming a database and a project in it.

`postgresql://USER@HOST:PORT/DB?project=NAME` names one project's state in a shared database.
The password never travels in the URL (it would be stored in saved plans, printed and logged):
libpq finds it itself (PGPASSWORD, PGPASSFILE or ~/.pgpass, PGSERVICE), or `password_env=VAR`
names an environment variable holding it. A URL that embeds one is refused without echoing it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from runner.errors import StateError

SCHEMES = ("postgresql://", "postgres://")
OURS = ("project", "password_env")  # query keys runner reads; every other one is libpq's


def is_postgres(location: str) -> bool:
    """Whether a state location names a PostgreSQL database rather than a file."""
    return location.startswith(SCHEMES)


@dataclass(frozen=True)
class PgLocation:
    """A parsed PostgreSQL state location; `shown` is safe to store, print and log."""

    user: str | None
    host: str | None
    port: int | None
    database: str | None
    project: str | None
    password_env: str | None = None
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def server(self) -> str:
        """The database without the project: what `state projects` lists."""
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        host = self.host or ""
        port = f":{self.port}" if self.port else ""
        return f"postgresql://{user}{host}{port}/{quote(self.database or '', safe='')}"

    @property
    def shown(self) -> str:
        query = [("project", self.project)] if self.project else []
        query += [("password_env", self.password_env)] if self.password_env else []
        query += list(self.options)
        return self.server + (f"?{urlencode(query)}" if query else "")

    def with_project(self, project: str) -> PgLocation:
        return PgLocation(self.user, self.host, self.port, self.database, project, self.password_env, self.options)

    def connect_args(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Keyword arguments for psycopg.connect (libpq's names), the password from `password_env` if named."""
        env = os.environ if env is None else env
        args = {k: v for k, v in self.options}
        for key, value in (("user", self.user), ("host", self.host), ("dbname", self.database)):
            if value:
                args[key] = value
        if self.port:
            args["port"] = str(self.port)
        if self.password_env:
            if not env.get(self.password_env):
                raise StateError(
                    f"{self.shown}: password_env names {self.password_env}, which is not set in the environment"
                )
            args["password"] = env[self.password_env]
        return args


def parse(location: str) -> PgLocation:
    """A PostgreSQL URL as a PgLocation; StateError (never echoing a password) when it is not usable."""
    parts = urlsplit(location)
    try:
        port = parts.port
    except ValueError:
        raise StateError(f"{_redacted(location)}: the port is not a number") from None
    if parts.password is not None:
        raise StateError(
            f"{_redacted(location)}: the state URL embeds a password, which would be stored and printed; "
            "remove it and use PGPASSWORD, ~/.pgpass (PGPASSFILE), PGSERVICE, or ?password_env=VARIABLE"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "password" for key, _ in query):
        raise StateError(
            f"{_redacted(location)}: the state URL carries a password parameter, which would be stored and printed; "
            "remove it and use PGPASSWORD, ~/.pgpass (PGPASSFILE), PGSERVICE, or ?password_env=VARIABLE"
        )
    ours = dict(kv for kv in query if kv[0] in OURS)
    database = unquote(parts.path.lstrip("/")) or None
    if database is not None and "/" in database:
        raise StateError(f"{_redacted(location)}: the path must be a database name (postgresql://USER@HOST:PORT/DB)")
    return PgLocation(
        unquote(parts.username) if parts.username else None,
        parts.hostname,
        port,
        database,
        ours.get("project") or None,
        ours.get("password_env") or None,
        tuple(sorted(kv for kv in query if kv[0] not in OURS)),
    )


def _redacted(location: str) -> str:
    """The location with anything after `user:` in the authority and every password parameter masked."""
    parts = urlsplit(location)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}{':***' if ':' in userinfo else ''}@{hostport}"
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{urlencode(query)}" if query else "")


def with_project(location: str, project: str | None) -> str:
    """A PostgreSQL location completed with the manifest's project when it names none (files are unchanged)."""
    if not is_postgres(location) or project is None:
        return location
    parsed = parse(location)
    return location if parsed.project else parsed.with_project(project).shown
