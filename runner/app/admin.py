"""Use cases that repair, list and move states by hand: forget or rename resources, remove a lease, list projects,
migrate."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from runner.app.common import environment, opened, state_path
from runner.app.operate import Where
from runner.domain import address as addresses
from runner.errors import LockConflictError, RunnerError
from runner.planning import moves
from runner.state import Holder
from runner.state import projects as listed
from runner.state.transfer import Moved
from runner.state.transfer import migrate as copy_state


def forget(
    patterns: Sequence[str],
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    lock_timeout: float = 0.0,
) -> list[str]:
    """Stop managing resources without touching them remotely (their history is kept); returns the addresses."""
    where = Where(manifest, state)
    with opened(where.path(environment(env)), project=where.project()) as st:
        chosen = addresses.select(st.recorded(), patterns)
        if not chosen:
            raise RunnerError(f"no recorded resource matches {' '.join(patterns)}")
        with st.lease("state rm", lock_timeout), st.transaction() as txn:
            for a in chosen:
                txn.forget(a, "removed with `runner state rm`")
        st.checkpoint()
    return chosen


def move(
    source: str,
    dest: str,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    lock_timeout: float = 0.0,
) -> list[tuple[str, str]]:
    """Rename a recorded resource (with its sweep points or batch jobs), keeping its generations, remote ids and
    results; nothing is sent to a provider. Returns (old, new) for every address renamed."""
    _same_kind(source, dest)
    where = Where(manifest, state)
    with opened(where.path(environment(env)), project=where.project()) as st:
        with st.lease("state mv", lock_timeout):
            recorded = st.recorded()
            renamed = moves.members(recorded, source, dest)
            if not renamed:
                raise RunnerError(f"no recorded resource matches {source} (`runner state list` shows them)")
            _free(source, dest, renamed, recorded, set(st.addresses_with_history()))
            for old, new in renamed.items():
                parent = recorded[old].parent
                if recorded[old].kind == "batch_job" and parent not in renamed and not new.startswith(f"{parent}."):
                    raise RunnerError(f"{old} belongs to {parent}: a batch job moves within its batch, or with it")
            with st.transaction() as txn:
                for old, rec in moves.readdressed(recorded, renamed).values():
                    txn.relocate(old, rec)
        st.checkpoint()
    return sorted(renamed.items())


def _same_kind(source: str, dest: str) -> None:
    kinds = {source.split(".", 1)[0], dest.split(".", 1)[0]}
    if len(kinds) != 1 or not kinds <= set(addresses.KINDS) or "." not in dest:
        raise RunnerError(f"cannot move {source} to {dest}: give two addresses of the same kind (job.a job.b)")
    if source == dest:
        raise RunnerError(f"{source} is already called so")


def _free(source: str, dest: str, renamed: Mapping[str, str], recorded: Mapping[str, Any], history: set[str]) -> None:
    if "[" not in source and source.count(".") == 1:  # a whole resource: its new name must be nobody's yet
        taken = sorted(moves.members((a for a in recorded if a not in renamed), dest, dest))
        if taken:  # a sweep must not merge into another resource's name, nor a job take a sweep's
            raise RunnerError(f"cannot move {source} to {dest}: the state records {taken[0]} already")
    for old, new in renamed.items():
        if new in recorded:
            raise RunnerError(f"cannot move {old} to {new}: the state records {new} already")
        if new in history:
            raise RunnerError(
                f"cannot move {old} to {new}: the state keeps the history of an earlier {new} (deleted or "
                "forgotten); choose a name that never ran"
            )


def unlock(
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
    clock: float | None = None,
) -> Holder | None:
    """Remove the state's lease; refused while its holder still heart-beats, unless forced. Returns who held it."""
    where = Where(manifest, state)
    with opened(where.path(environment(env)), project=where.project()) as st:
        holder = st.holder()
        now = time.time() if clock is None else clock
        if holder is not None and holder.expires_at > now and not force:
            raise LockConflictError(
                f"the state is locked and its holder is alive: {holder.describe(now)}. Removing the lock now "
                "lets another run submit while that one may still send creates (duplicate jobs that cost money): "
                "stop it first, or pass --force if you are sure it is gone"
            )
        return st.force_unlock()


def projects(*, state: str | None = None, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The projects whose states live at a location: every one in a PostgreSQL database, the one in a file."""
    location = state_path(None, state, environment(env))
    return listed(location)


def migrate(
    to: str, *, manifest: str | None = None, state: str | None = None, env: Mapping[str, str] | None = None
) -> Moved:
    """Copy a project's whole state (history and results included) into a new store; the source is only read."""
    where = Where(manifest, state)
    source = where.path(environment(env))
    with opened(source, project=where.project()) as st:  # the project guard, before anything is copied
        source = st.path
    return copy_state(source, to)
