"""What both backends read and copy with the same SQL: the `Store` protocol's readers over a `Connection`.

The SQLite and PostgreSQL stores differ in how they open, migrate, write and lease; everything a
command reads (resources, generations, results, history, intents) is one query text here, with
`?` placeholders and rows readable by column name.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from runner.domain.model import Target
from runner.domain.resources import Recorded
from runner.errors import StateError
from runner.state.codec import decode, recorded, shared, target_from
from runner.state.protocol import Snapshot
from runner.state.txn import Connection

# The logical contents of a state (what `state migrate` copies and digests), with each table's key:
# the lease is left out (a lease belongs to a running process, not to the project).
TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "resources": ("address",),
    "generations": ("address", "generation"),
    "results": ("address", "generation"),
    "intents": ("id",),
    "applies": ("id",),
    "targets": ("name",),
    "target_snapshots": ("digest",),
    "stale_sends": ("id",),
}
STORAGE_META = ("format_version",)  # how the rows are stored, not what they say: never copied
# the tables each format version adds: a state missing one of its version's is damaged
REQUIRED: dict[int, tuple[str, ...]] = {
    1: ("meta", "resources", "generations", "results", "intents", "applies", "targets", "lock"),
    2: ("target_snapshots",),
    4: ("stale_sends",),
}


class SqlStore:
    """The readers every backend shares; subclasses open the connection and write."""

    path: str
    lineage: str
    conn: Connection

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def format_version(self) -> int:
        return _version(self._meta("format_version"), self.path)

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

    def _snapshot(self) -> Snapshot:
        return Snapshot(self.path, True, self.lineage, self.serial, self.recorded(), self._meta("project"))

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

    def addresses_with_results(self) -> list[str]:
        """Addresses whose current generation has a result, sorted, without reading the results."""
        sql = (
            "SELECT r.address FROM results r JOIN resources s ON s.address = r.address "
            "AND s.generation = r.generation ORDER BY r.address"
        )
        return [r["address"] for r in self.conn.execute(sql)]

    def applies(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent runs, oldest first."""
        rows = self.conn.execute("SELECT * FROM applies ORDER BY id DESC LIMIT ?", (limit,))
        return [decode(dict(r), "versions", "summary") for r in rows][::-1]

    def targets(self) -> dict[str, tuple[Target, str]]:
        """Recorded target settings and the manifest folder they were declared in."""
        rows = self.conn.execute("SELECT name, config, base_dir FROM targets")
        return {r["name"]: (target_from(json.loads(r["config"])), r["base_dir"]) for r in rows}

    def snapshot_of(self, key: str) -> dict[str, Any] | None:
        """A stored target description by digest (None in a state from before descriptions were kept)."""
        if self.format_version < 2:
            return None
        row = self.conn.execute("SELECT * FROM target_snapshots WHERE digest = ?", (key,)).fetchone()
        return decode(dict(row), "body") if row else None

    def latest_snapshot(self, target: str) -> dict[str, Any] | None:
        """The target's most recently stored description (a content stored before keeps its first capture time)."""
        if self.format_version < 2:
            return None
        row = self.conn.execute(
            "SELECT * FROM target_snapshots WHERE target = ? ORDER BY captured_at DESC, digest LIMIT 1", (target,)
        ).fetchone()
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
            f"{'r.service' if self.format_version >= 3 else 'NULL AS service'}, "
            "g.parent_remote_id, CASE WHEN EXISTS(SELECT 1 FROM results x WHERE x.address = r.address "
            "AND x.generation = r.generation) THEN 1 ELSE 0 END AS has_result FROM resources r JOIN generations g "
            "ON g.address = r.address AND g.generation = r.generation WHERE r.remote_id IS NOT NULL"
            f"{where} ORDER BY r.address",
            skip,
        )
        return [{**dict(r), "lifecycle": shared(r["lifecycle"])} for r in rows]

    def open_intents(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM intents WHERE state = 'open' ORDER BY id")
        return [decode(dict(r), "detail") for r in rows]

    def stale_sends(self) -> list[dict[str, Any]]:
        """Open stale sends (noted when a lease was taken from a holder that may still be alive)."""
        if self.format_version < 4:
            return []
        rows = self.conn.execute("SELECT * FROM stale_sends WHERE closed_at IS NULL ORDER BY id")
        return [dict(r) for r in rows]

    # copying -----------------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        raise NotImplementedError

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of the logical contents, table by table in key order (the lease and storage meta left out)."""
        present = self._tables()
        out: dict[str, list[dict[str, Any]]] = {}
        for table, key in TABLES.items():
            if table not in present:  # an older format without that table: nothing of it to copy
                out[table] = []
                continue
            rows = [dict(r) for r in self.conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")]
            out[table] = [r for r in rows if table != "meta" or r["key"] not in STORAGE_META]
        return out

    def _restore_rows(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Inside a transaction of a store that holds nothing yet: write the rows `export` gave."""
        for table in TABLES:
            for row in tables.get(table, ()):
                if table == "meta":
                    self.conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (row["key"], row["value"]),
                    )
                    continue
                columns = list(row)
                self.conn.execute(
                    f"INSERT INTO {table} ({', '.join(_quoted(c) for c in columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [row[c] for c in columns],
                )

    def _check_tables(self, version: int) -> None:
        present = self._tables()
        missing = [t for v in range(1, version + 1) for t in REQUIRED.get(v, ()) if t not in present]
        if missing:
            raise StateError(
                f"{self.path} is damaged (table {', '.join(missing)} is missing); "
                "restore it from a backup, runner will not modify it"
            )

    def _check_empty(self) -> None:
        if self.serial or self.conn.execute("SELECT count(*) FROM generations").fetchone()[0]:
            raise StateError(f"{self.path} already holds a state (serial {self.serial}); runner will not overwrite it")


def _quoted(column: str) -> str:
    return f'"{column}"'  # `user` is a reserved word in PostgreSQL


def _version(text: str | None, where: str) -> int:
    """The stored format_version as a number; a state that says something else is refused, not guessed at."""
    try:
        return int(text or 0)
    except ValueError:
        raise StateError(
            f"{where} has a damaged format_version ({(text or '')[:20]!r}); "
            "restore it from a backup, runner will not modify it"
        ) from None
