"""Writes to a state, always inside one Store.transaction(), in SQL that SQLite and PostgreSQL share.

Placeholders are `?` (a PostgreSQL connection adapter translates them); upserts use the standard
ON CONFLICT clause, new ids come back with RETURNING.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from runner.domain.fingerprint import digest
from runner.domain.remote import Observation, Result
from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import TERMINAL
from runner.state.codec import attrs_json, dumps


class Connection(Protocol):
    """The part of a DB-API connection a transaction uses (sqlite3's, or an adapter over psycopg's)."""

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ..., /) -> Any: ...


IdSource = Callable[[], int]


class Txn:
    """One transaction; every row it writes is stamped with its serial.

    `intent_ids`, when a backend gives one, numbers new intents on the client: a backend whose every
    statement is a network round trip then sends an intent without waiting for RETURNING's answer.
    """

    def __init__(self, conn: Connection, serial: int, now: str, intent_ids: IdSource | None = None) -> None:
        self.conn, self.serial, self.now, self.intent_ids = conn, serial, now, intent_ids

    def _x(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def claim_project(self, project: str) -> None:
        """Record which project this state belongs to, the first time it is applied."""
        self._x("INSERT INTO meta (key, value) VALUES ('project', ?) ON CONFLICT (key) DO NOTHING", (project,))

    # runs ----------------------------------------------------------------------------------------
    def close_abandoned_runs(self) -> None:
        """Runs still 'running' in the history ended without saying so (killed): only the lease holder runs now."""
        self._x("UPDATE applies SET outcome = 'interrupted', finished_at = ? WHERE outcome = 'running'", (self.now,))

    def begin_run(self, operation: str, info: Mapping[str, Any]) -> int:
        """A history row for an apply (or destroy, refresh, ...); returns its id."""
        self.close_abandoned_runs()
        cur = self._x(
            "INSERT INTO applies (operation, started_at, outcome, manifest, manifest_digest, plan_digest, "
            'git_commit, git_dirty, versions, serial_before, "user", host) '
            "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                operation,
                self.now,
                info.get("manifest"),
                info.get("manifest_digest"),
                info.get("plan_digest"),
                info.get("git_commit"),
                info.get("git_dirty"),
                dumps(info.get("versions", {})),
                self.serial,
                info.get("user"),
                info.get("host"),
            ),
        )
        return int(cur.fetchone()[0])

    def finish_run(self, run_id: int, outcome: str, summary: Mapping[str, Any], serial_after: int) -> None:
        self._x(
            "UPDATE applies SET finished_at = ?, outcome = ?, summary = ?, serial_after = ? WHERE id = ?",
            (self.now, outcome, dumps(summary), serial_after, run_id),
        )

    # submissions ---------------------------------------------------------------------------------
    def start(
        self,
        d: Desired,
        generation: int,
        token: str,
        run_id: int | None,
        parent_remote_id: str | None = None,
        operation: str = "create",
        origin: Mapping[str, Any] | None = None,
    ) -> int:
        """Record the intent to create generation `generation` of a resource; returns the intent id."""
        self._x(
            "INSERT INTO resources (address, kind, target, provider, parent, generation, fingerprint, spec, "
            "attrs, lifecycle, protect, status, remote_id, detail, created_at, updated_at, serial, service) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitting', NULL, '{}', ?, ?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET kind=excluded.kind, target=excluded.target, "
            "provider=excluded.provider, parent=excluded.parent, generation=excluded.generation, "
            "fingerprint=excluded.fingerprint, spec=excluded.spec, attrs=excluded.attrs, "
            "lifecycle=excluded.lifecycle, protect=excluded.protect, status='submitting', remote_id=NULL, "
            "detail='{}', updated_at=excluded.updated_at, serial=excluded.serial, service=excluded.service",
            (
                d.address,
                d.kind,
                d.target,
                d.provider,
                d.parent,
                generation,
                d.fingerprint,
                dumps(d.spec),
                attrs_json(d.attrs),
                dumps(dict(d.lifecycle)),
                int(d.protect),
                self.now,
                self.now,
                self.serial,
                d.service or None,
            ),
        )
        self._x(
            "INSERT INTO generations (address, generation, kind, fingerprint, spec, token, parent_remote_id, "
            "status, origin, apply_id, created_at, serial, service) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?, ?, ?, ?) "
            "ON CONFLICT(address, generation) DO UPDATE SET status='submitting', token=excluded.token, "
            "parent_remote_id=excluded.parent_remote_id, apply_id=excluded.apply_id, serial=excluded.serial, "
            "service=excluded.service",
            (
                d.address,
                generation,
                d.kind,
                d.fingerprint,
                dumps(d.spec),
                token,
                parent_remote_id,
                dumps(dict(origin or {})),
                run_id,
                self.now,
                self.serial,
                d.service or None,
            ),
        )
        values = (d.address, generation, operation, token, d.fingerprint, run_id, self.now)
        columns = "address, generation, operation, token, fingerprint, state, apply_id, created_at"
        if self.intent_ids is not None:
            intent_id = self.intent_ids()
            self._x(
                f"INSERT INTO intents (id, {columns}) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)", (intent_id, *values)
            )
            return intent_id
        cur = self._x(f"INSERT INTO intents ({columns}) VALUES (?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id", values)
        return int(cur.fetchone()[0])

    def succeed(
        self,
        address: str,
        generation: int,
        obs: Observation,
        intent_id: int | None,
        provenance: Mapping[str, Any] | None = None,
        parent_remote_id: str | None = None,
    ) -> None:
        """The create call returned: commit the remote id and what the provider reported."""
        finished = self.now if obs.status in TERMINAL else None
        if parent_remote_id is not None:  # a job created inside its batch learns the batch id only now
            self._x(
                "UPDATE generations SET parent_remote_id = ? WHERE address = ? AND generation = ?",
                (parent_remote_id, address, generation),
            )
        self._x(
            "UPDATE resources SET status = ?, remote_id = ?, detail = ?, updated_at = ?, serial = ? "
            "WHERE address = ? AND generation = ?",
            (obs.status, obs.remote_id, dumps(stored_detail(obs)), self.now, self.serial, address, generation),
        )
        self._x(
            "UPDATE generations SET status = ?, remote_id = ?, submitted_at = ?, finished_at = ?, "
            "provenance = ?, serial = ? WHERE address = ? AND generation = ?",
            (
                obs.status,
                obs.remote_id,
                self.now,
                finished,
                dumps(dict(provenance or {})),
                self.serial,
                address,
                generation,
            ),
        )
        if intent_id is not None:
            self._resolve(intent_id, "done", obs.remote_id, {})
        if obs.result is not None:
            self.record_result(address, generation, obs.result)

    def fail(self, address: str, generation: int, error: str, intent_id: int | None) -> None:
        """The create call was refused: nothing exists remotely."""
        detail = dumps({"error": error})
        self._x(
            "UPDATE resources SET status = 'submit_failed', detail = ?, updated_at = ?, serial = ? "
            "WHERE address = ? AND generation = ?",
            (detail, self.now, self.serial, address, generation),
        )
        self._x(
            "UPDATE generations SET status = 'submit_failed', serial = ? WHERE address = ? AND generation = ?",
            (self.serial, address, generation),
        )
        if intent_id is not None:
            self._resolve(intent_id, "failed", None, {"error": error})

    def _resolve(self, intent_id: int, outcome: str, remote_id: str | None, detail: Mapping[str, Any]) -> None:
        self._x(
            "UPDATE intents SET state = ?, remote_id = ?, detail = ?, resolved_at = ? WHERE id = ?",
            (outcome, remote_id, dumps(dict(detail)), self.now, intent_id),
        )

    def settle_intent(self, intent_id: int, outcome: str, detail: Mapping[str, Any], keep_open: bool = False) -> None:
        """Reconciliation's verdict on an intent whose outcome was never recorded."""
        if keep_open:
            self._x("UPDATE intents SET detail = ? WHERE id = ?", (dumps({**detail, "verdict": outcome}), intent_id))
            return
        self._resolve(intent_id, outcome, None, detail)

    def record_result(self, address: str, generation: int, result: Result) -> None:
        counts = [dict(c) for c in result.counts]
        self._x(
            "INSERT INTO results (address, generation, counts, shots, data, digest, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address, generation) DO UPDATE SET counts = excluded.counts, "
            "shots = excluded.shots, data = excluded.data, digest = excluded.digest, fetched_at = excluded.fetched_at",
            (address, generation, dumps(counts), result.shots, dumps(dict(result.data)), digest(counts), self.now),
        )

    # in-place changes ----------------------------------------------------------------------------
    def observe(self, address: str, obs: Observation) -> None:
        """A newer status (from refresh, wait, cancel or close)."""
        row = self._x("SELECT generation, detail FROM resources WHERE address = ?", (address,)).fetchone()
        if row is None:
            return
        finished = self.now if obs.status in TERMINAL else None
        self._x(
            "UPDATE resources SET status = ?, detail = ?, updated_at = ?, serial = ? WHERE address = ?",
            (obs.status, dumps(stored_detail(obs)), self.now, self.serial, address),
        )
        self._x(
            "UPDATE generations SET status = ?, finished_at = COALESCE(finished_at, ?), serial = ? "
            "WHERE address = ? AND generation = ?",
            (obs.status, finished, self.serial, address, row["generation"]),
        )
        if obs.result is not None:
            self.record_result(address, row["generation"], obs.result)

    def observe_generation(self, address: str, generation: int, obs: Observation) -> None:
        """A newer status for an older, superseded generation (e.g. cancelled when it was replaced)."""
        finished = self.now if obs.status in TERMINAL else None
        self._x(
            "UPDATE generations SET status = ?, finished_at = COALESCE(finished_at, ?), serial = ? "
            "WHERE address = ? AND generation = ?",
            (obs.status, finished, self.serial, address, generation),
        )

    def set_attrs(self, d: Desired) -> None:
        self._x(
            "UPDATE resources SET attrs = ?, lifecycle = ?, protect = ?, updated_at = ?, serial = ? WHERE address = ?",
            (attrs_json(d.attrs), dumps(dict(d.lifecycle)), int(d.protect), self.now, self.serial, d.address),
        )

    def set_lifecycle(self, address: str, lifecycle: Mapping[str, Any]) -> None:
        self._x(
            "UPDATE resources SET lifecycle = ?, updated_at = ?, serial = ? WHERE address = ?",
            (dumps(dict(lifecycle)), self.now, self.serial, address),
        )

    def retire(self, address: str, generation: int, reason: str) -> None:
        """A generation is superseded or deleted; it stays in history with its results."""
        self._x(
            "UPDATE generations SET retired_at = ?, retired_reason = ?, serial = ? "
            "WHERE address = ? AND generation = ? AND retired_at IS NULL",
            (self.now, reason, self.serial, address, generation),
        )

    def forget(self, address: str, reason: str) -> None:
        """Stop managing a resource: its generations stay in history."""
        row = self._x("SELECT generation FROM resources WHERE address = ?", (address,)).fetchone()
        if row is not None:
            self.retire(address, row["generation"], reason)
        self._x("DELETE FROM resources WHERE address = ?", (address,))

    def relocate(self, old: str, rec: Recorded) -> None:
        """A renamed resource (or a child of one): its row takes the new address, parent, spec and fingerprint, and
        its generations, results, intents and stale sends follow it to the new address."""
        self._x(
            "UPDATE resources SET address = ?, parent = ?, spec = ?, fingerprint = ?, updated_at = ?, serial = ? "
            "WHERE address = ?",
            (rec.address, rec.parent, dumps(dict(rec.spec)), rec.fingerprint, self.now, self.serial, old),
        )
        if rec.address == old:
            return
        self._x("UPDATE generations SET address = ?, serial = ? WHERE address = ?", (rec.address, self.serial, old))
        for table in ("results", "intents", "stale_sends"):
            self._x(f"UPDATE {table} SET address = ? WHERE address = ?", (rec.address, old))

    def save_targets(self, targets: Mapping[str, Any], base_dir: str) -> None:
        """Target settings (endpoints, credential *names*, never secrets) so later commands can reach them."""
        from dataclasses import asdict

        for name, target in targets.items():
            self._x(
                "INSERT INTO targets (name, provider, config, base_dir, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET provider=excluded.provider, config=excluded.config, "
                "base_dir=excluded.base_dir, updated_at=excluded.updated_at",
                (name, target.provider, dumps(asdict(target)), base_dir, self.now),
            )

    def save_snapshot(self, target: str, provider: str, body: Mapping[str, Any]) -> str:
        """A target description as the provider gave it; stored once per distinct content. Returns its digest."""
        text = dumps(dict(body))
        key = digest(dict(body))
        self._x(
            "INSERT INTO target_snapshots (digest, target, provider, captured_at, body) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (key, target, provider, self.now, text),
        )
        return key

    def close_stale_send(self, stale_id: int, reason: str) -> None:
        """Stop looking for duplicates of a stale send: its holder is gone, or long enough has passed."""
        self._x("UPDATE stale_sends SET closed_at = ?, closed_reason = ? WHERE id = ?", (self.now, reason, stale_id))


def stored_detail(obs: Observation) -> dict[str, Any]:
    """What is kept of an observation besides its status: its detail, and the provider's own status word."""
    return {**obs.detail, "raw_status": obs.raw_status} if obs.raw_status else dict(obs.detail)
