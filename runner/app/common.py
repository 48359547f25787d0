"""What every use case shares: where the state is, the project guard, and a run's provider pool."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from runner.applying import reconcile
from runner.applying.execute import base_dir
from runner.domain.events import Emit, Notice
from runner.domain.model import Program
from runner.domain.resources import Expansion
from runner.errors import PlanError
from runner.manifest.peek import project_of
from runner.providers.pool import ProviderPool, Reach
from runner.state import Store, is_postgres, open_store, with_project

DEFAULT_STATE = os.path.join(".runner", "state.db")


def environment(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment a use case reads credentials and settings from (the process's by default)."""
    return dict(os.environ if env is None else env)


def state_path(manifest: str | None, explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """--state, else RUNNER_STATE, else .runner/state.db beside the manifest (or here).

    A PostgreSQL URL that names no project gets the manifest's: one RUNNER_STATE for a whole lab,
    each manifest's state in its own project.
    """
    env = os.environ if env is None else env
    chosen = explicit or env.get("RUNNER_STATE")
    if chosen:
        return with_project(chosen, project_of(manifest)) if manifest and is_postgres(chosen) else chosen
    folder = os.path.dirname(manifest) if manifest else ""
    return os.path.join(folder, DEFAULT_STATE)


def same_project(state_project: str | None, manifest_project: str | None, where: str) -> None:
    """Two manifests must not share one state: one would plan to delete, cancel or overwrite the other's work."""
    if state_project and manifest_project and state_project != manifest_project:
        raise PlanError(
            f"{where} holds the state of project '{state_project}', not '{manifest_project}': "
            "give this manifest its own state (--state PATH, or a folder of its own)"
        )


@contextmanager
def opened(path: str, *, project: str | None = None, create: bool = False) -> Iterator[Store]:
    """The store at `path`, checked to belong to `project` (when one is given), closed afterwards."""
    store = open_store(with_project(path, project), create=create)
    try:
        same_project(store.project, project, store.path)
        yield store
    finally:
        store.close()


def reach(store: Store, expansion: Expansion | None = None) -> dict[str, Reach]:
    """Every target a run may talk to: those the state recorded, overlaid with the manifest's."""
    targets = dict(store.targets())
    if expansion is not None:
        folder = base_dir(expansion)
        targets.update({name: (t, folder) for name, t in expansion.targets.items()})
    return targets


@contextmanager
def pool_for(store: Store, env: Mapping[str, str], expansion: Expansion | None = None) -> Iterator[ProviderPool]:
    """One provider pool for a run, shut down when it ends."""
    pool = ProviderPool(reach(store, expansion), env)
    try:
        yield pool
    finally:
        pool.close()


def can_parse_programs() -> bool:
    """Whether qiskit (the runner[qiskit] extra) is installed, so OpenQASM programs can be parsed."""
    from importlib.util import find_spec

    return find_spec("qiskit") is not None


def settle_intents(
    st: Store, pool: ProviderPool, programs: Mapping[str, Program], emit: Emit, lock_timeout: float
) -> list[reconcile.Finding]:
    """Reconcile what an interrupted run left open (every writing command does, not only apply).

    Under a short lease: found -> adopted, absent -> left for apply or rerun to send again, unknown ->
    reported (the caller says it could not settle them and exits non-zero). Runs the history still
    shows as running, which no live process holds, are marked interrupted.
    """
    if not st.open_intents():
        return []
    with st.lease("reconcile", lock_timeout):
        found = reconcile.findings(st, pool, programs)
        reconcile.record(st, found)
        with st.transaction(bump=False) as txn:
            txn.close_abandoned_runs()
    for line in reconcile.describe(found):
        emit(Notice(line))
    return found


def unsettled(found: list[reconcile.Finding]) -> list[str]:
    """The findings that leave an address in doubt: reported, and the command exits non-zero."""
    return [f"{f.address}: {f.message}" for f in found if f.outcome in (reconcile.UNKNOWN, reconcile.AMBIGUOUS)]
