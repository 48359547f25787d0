"""Use cases that repair, list and move states by hand: forget resources, remove a lease, list projects, migrate."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from runner.app.common import environment, opened, state_path
from runner.app.operate import Where
from runner.domain import address as addresses
from runner.errors import LockConflictError, RunnerError
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
