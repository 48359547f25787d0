"""The operations behind the CLI, usable from Python (notebooks) with the same semantics."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner import manifest as manifest_mod
from runner import planfile, reconcile
from runner.apply import Applier, Emit, Report
from runner.errors import PlanError, StalePlanError
from runner.expand import expand
from runner.model import Manifest
from runner.plan import Plan, diff
from runner.provenance import run_info
from runner.resources import Expansion
from runner.state import Lease, Snapshot, State, snapshot

DEFAULT_STATE = os.path.join(".runner", "state.db")


def state_path(manifest: str | None, explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """--state, else RUNNER_STATE, else .runner/state.db beside the manifest (or here)."""
    env = os.environ if env is None else env
    if explicit:
        return explicit
    if env.get("RUNNER_STATE"):
        return env["RUNNER_STATE"]
    folder = os.path.dirname(manifest) if manifest else ""
    return os.path.join(folder, DEFAULT_STATE)


def load(path: str) -> Manifest:
    """Load and validate a manifest (raises ManifestError with every located problem)."""
    return manifest_mod.load(path)


@dataclass(frozen=True)
class Planned:
    """A plan with what it was computed from, and what reconciliation found on the way."""

    plan: Plan
    expansion: Expansion
    snapshot: Snapshot
    findings: tuple[reconcile.Finding, ...] = ()


def plan(
    manifest: str, *, state: str | None = None, env: Mapping[str, str] | None = None, replace: Sequence[str] = ()
) -> Planned:
    """Validate, expand, reconcile and diff; reads the state, never writes or locks it."""
    env = dict(os.environ if env is None else env)
    expansion = expand(load(manifest))
    return _planned(expansion, state_path(manifest, state, env), env, replace)


def _planned(expansion: Expansion, path: str, env: Mapping[str, str], replace: Sequence[str]) -> Planned:
    snap = snapshot(path)
    found: list[reconcile.Finding] = []
    if snap.exists:
        st = State.open(path)
        try:
            found = reconcile.findings(st, env, expansion.programs)
        finally:
            st.close()
    return Planned(_diff(expansion, snap, replace, found), expansion, snap, tuple(found))


def _diff(
    expansion: Expansion, snap: Snapshot, replace: Sequence[str], found: Sequence[reconcile.Finding] = ()
) -> Plan:
    unknown = [a for a in replace if a not in expansion.by_address()]
    if unknown:
        raise PlanError(f"--replace names addresses not in the manifest: {', '.join(unknown)}")
    recorded, blocked = reconcile.adjusted(snap.resources, list(found))
    return diff(expansion.resources, recorded, force_replace=set(replace), blocked=blocked)


Confirm = Callable[[Planned], bool]


def apply(
    target: str,
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    confirm: Confirm | None = None,
    replace: Sequence[str] = (),
    lock_timeout: float = 0.0,
    parallelism: int = 16,
    stop: threading.Event | None = None,
    on_plan: Callable[[Planned], None] | None = None,
) -> Report | Planned:
    """Apply a manifest or a saved plan file.

    Returns the Planned value (nothing done) when there are no changes or confirm says no,
    else the apply Report. Saved plans are applied without asking: they were reviewed already.
    """
    env = dict(os.environ if env is None else env)
    emit = emit or (lambda event: None)
    if planfile.is_plan_file(target):
        return _apply_saved(target, state, env, emit, lock_timeout, parallelism, stop)
    expansion = expand(load(target))
    path = state_path(target, state, env)
    planned = _planned(expansion, path, env, replace)
    first = planned.snapshot
    if on_plan:
        on_plan(planned)
    if not planned.plan.has_changes() and not _settles(planned.findings):
        return planned
    if confirm is not None and not confirm(planned):
        return planned
    st = State.open(path, create=True)
    try:
        with Lease(st, "apply").acquire(lock_timeout):
            snap = st.snapshot()
            if (snap.lineage, snap.serial) != (first.lineage or snap.lineage, first.serial):
                raise StalePlanError(
                    f"{path} changed while this apply waited (serial {first.serial} -> {snap.serial}); run it again"
                )
            reconcile.record(st, list(planned.findings))
            fresh = _diff(expansion, st.snapshot(), replace, planned.findings)
            info = run_info(target, expansion.manifest_digest)
            return Applier(
                fresh, expansion, st, env=env, emit=emit, info=info, parallelism=parallelism, stop=stop
            ).run()
    finally:
        st.close()


def _settles(found: Sequence[reconcile.Finding]) -> bool:
    """Findings apply must record even when nothing else changes (an adopted create)."""
    return any(f.outcome in (reconcile.ADOPTED, reconcile.ABSENT) for f in found)


def _apply_saved(
    path: str,
    state: str | None,
    env: dict[str, str],
    emit: Emit,
    lock_timeout: float,
    parallelism: int,
    stop: threading.Event | None,
) -> Report | Planned:
    doc, expansion = planfile.load(path)
    target_state = state or env.get("RUNNER_STATE") or doc["state"]["path"]
    st = State.open(target_state, create=doc["state"]["lineage"] is None)
    try:
        with Lease(st, "apply").acquire(lock_timeout):
            planfile.check_fresh(doc, st, path)
            found = reconcile.findings(st, env, expansion.programs)
            if [f.as_json() for f in found] != doc.get("reconciliation", []):
                raise StalePlanError(f"{path}: reconciliation finds something else now; run `runner plan` again")
            reconcile.record(st, found)
            snap = st.snapshot()
            fresh = _diff(expansion, snap, doc["payload"]["force_replace"], found)
            if not planfile.same_changes(doc, fresh):
                raise StalePlanError(f"{path} no longer matches the state; run `runner plan` again")
            if not fresh.has_changes():
                return Planned(fresh, expansion, snap)
            info = run_info(expansion.manifest_path, expansion.manifest_digest, planfile.document_digest(doc))
            return Applier(
                fresh, expansion, st, env=env, emit=emit, info=info, parallelism=parallelism, stop=stop
            ).run()
    finally:
        st.close()


def results(address: str | None = None, *, state: str) -> list[dict[str, Any]]:
    """Recorded results: current generations, or every generation of one address."""
    st = State.open(state)
    try:
        return st.results(address)
    finally:
        st.close()
