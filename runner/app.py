"""The operations behind the CLI, usable from Python (notebooks) with the same semantics.

import runner
planned = runner.plan("examples/quickstart.yaml")
report = runner.apply("examples/quickstart.yaml")
rows = runner.results(state=".runner/state.db")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.applying import reconcile
from runner.applying.execute import Applier, Emit, Report
from runner.applying.provenance import run_info
from runner.domain.model import Manifest
from runner.domain.resources import Expansion, Recorded
from runner.errors import BudgetExceededError, PlanError, StalePlanError
from runner.expand.expansion import expand
from runner.manifest import loader as manifest_mod
from runner.planning import cost, drift, planfile
from runner.planning.diff import Plan, diff, narrow
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


def load(path: str, env: Mapping[str, str] | None = None) -> Manifest:
    """Load and validate a manifest (raises ManifestError with every located problem)."""
    return manifest_mod.load(path, env=os.environ if env is None else env)


@dataclass(frozen=True)
class Options:
    """What shapes a plan besides the manifest and the state."""

    replace: Sequence[str] = ()
    targets: Sequence[str] = ()
    excludes: Sequence[str] = ()
    refresh: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "replace": sorted(self.replace),
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "refresh": self.refresh,
        }


@dataclass(frozen=True)
class Planned:
    """A plan with what it was computed from: reconciliation findings and drift seen on the way."""

    plan: Plan
    expansion: Expansion
    snapshot: Snapshot
    findings: tuple[reconcile.Finding, ...] = ()
    refreshed: drift.Refreshed = field(default_factory=lambda: drift.Refreshed((), {}))
    options: Options = field(default_factory=Options)

    def estimates(self) -> list[cost.Estimate]:
        """Cost of what this plan would submit (creates and replaces)."""
        return cost.for_plan(self.plan, self.expansion)

    def over_budget(self) -> str | None:
        """Why the manifest's budget refuses this plan, if it does."""
        budget = self.expansion.budget
        if budget is None:
            return None
        return cost.budget_problem(self.estimates(), budget.limits, budget.allow_unknown)


def plan(
    manifest: str,
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    replace: Sequence[str] = (),
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    refresh: bool = True,
) -> Planned:
    """Validate, expand, reconcile, refresh in memory, diff; never writes or locks the state."""
    env = dict(os.environ if env is None else env)
    expansion = expand(load(manifest))
    options = Options(tuple(replace), tuple(targets), tuple(excludes), refresh)
    return _planned(expansion, state_path(manifest, state, env), env, options)


def _planned(expansion: Expansion, path: str, env: Mapping[str, str], options: Options) -> Planned:
    snap = snapshot(path)
    _same_project(snap, expansion)
    found: list[reconcile.Finding] = []
    refreshed = drift.Refreshed((), {})
    if snap.exists:
        st = State.open(path)
        try:
            found = reconcile.findings(st, env, expansion.programs)
            if options.refresh:
                refreshed = drift.detect(st, env)
        finally:
            st.close()
    plan_ = _diff(expansion, snap.resources, options, found, refreshed)
    return Planned(plan_, expansion, snap, tuple(found), refreshed, options)


def _same_project(snap: Snapshot, expansion: Expansion) -> None:
    """Two manifests must not share one state: one would plan to delete the other's resources."""
    if snap.project and expansion.project and snap.project != expansion.project:
        raise PlanError(
            f"{snap.path} holds the state of project '{snap.project}', not '{expansion.project}': "
            "give this manifest its own state (--state PATH, or a folder of its own)"
        )


def _diff(
    expansion: Expansion,
    recorded: Mapping[str, Recorded],
    options: Options,
    found: Sequence[reconcile.Finding],
    refreshed: drift.Refreshed,
) -> Plan:
    desired = expansion.by_address()
    unknown = [a for a in options.replace if a not in desired]
    if unknown:
        raise PlanError(f"--replace names addresses not in the manifest: {', '.join(unknown)}")
    adjusted, blocked = reconcile.adjusted(recorded, list(found))
    current = drift.fold(adjusted, refreshed)
    full = diff(expansion.resources, current, force_replace=set(options.replace), blocked=blocked)
    return narrow(full, options.targets, options.excludes)


Confirm = Callable[[Planned], bool]


def apply(
    target: str,
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    confirm: Confirm | None = None,
    replace: Sequence[str] = (),
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    refresh: bool = True,
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
    options = Options(tuple(replace), tuple(targets), tuple(excludes), refresh)
    planned = _planned(expansion, path, env, options)
    if on_plan:
        on_plan(planned)
    refused = planned.over_budget()
    if refused:
        raise BudgetExceededError(refused)
    if not planned.plan.has_changes() and not _settles(planned):
        return planned
    if confirm is not None and not confirm(planned):
        return planned
    st = State.open(path, create=True)
    try:
        with Lease(st, "apply").acquire(lock_timeout):
            _unchanged_since(st, planned.snapshot, path)
            fresh = _settle(st, planned)
            info = run_info(target, expansion.manifest_digest, files=_program_files(expansion))
            return Applier(
                fresh, expansion, st, env=env, emit=emit, info=info, parallelism=parallelism, stop=stop
            ).run()
    finally:
        st.close()


def _program_files(expansion: Expansion) -> list[str]:
    """Program and sequence files the expansion read (inline programs have none)."""
    return sorted({p.label for p in expansion.programs.values() if os.path.isfile(p.label)})


def _settles(planned: Planned) -> bool:
    """Findings and drift apply must record even when nothing else changes."""
    adopted = any(f.outcome in (reconcile.ADOPTED, reconcile.ABSENT) for f in planned.findings)
    return adopted or any(d.what in ("status", "closed") for d in planned.refreshed.drift)


def _unchanged_since(st: State, first: Snapshot, path: str) -> None:
    snap = st.snapshot()
    if (snap.lineage, snap.serial) != (first.lineage or snap.lineage, first.serial):
        raise StalePlanError(
            f"{path} changed while this apply waited (serial {first.serial} -> {snap.serial}); run it again"
        )


def _settle(st: State, planned: Planned) -> Plan:
    """Under the lock: record reconciliation and drift, then the plan they lead to."""
    reconcile.record(st, list(planned.findings))
    drift.record(st, planned.refreshed)
    return _diff(planned.expansion, st.snapshot().resources, planned.options, planned.findings, planned.refreshed)


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
    options = Options(**doc["payload"].get("options", {}))
    target_state = state or env.get("RUNNER_STATE") or doc["state"]["path"]
    st = State.open(target_state, create=doc["state"]["lineage"] is None)
    try:
        with Lease(st, "apply").acquire(lock_timeout):
            planfile.check_fresh(doc, st, path)
            found = reconcile.findings(st, env, expansion.programs)
            if [f.as_json() for f in found] != doc.get("reconciliation", []):
                raise StalePlanError(f"{path}: reconciliation finds something else now; run `runner plan` again")
            refreshed = drift.detect(st, env) if options.refresh else drift.Refreshed((), {})
            planned = Planned(Plan(()), expansion, st.snapshot(), tuple(found), refreshed, options)
            fresh = _settle(st, planned)
            refused = Planned(fresh, expansion, st.snapshot()).over_budget()
            if refused:
                raise BudgetExceededError(refused)
            if not planfile.same_changes(doc, fresh):
                raise StalePlanError(
                    f"{path} no longer matches the state (a provider changed something?); run `runner plan` again"
                )
            if not fresh.has_changes():
                return Planned(fresh, expansion, st.snapshot(), tuple(found), refreshed, options)
            info = run_info(
                expansion.manifest_path,
                expansion.manifest_digest,
                planfile.document_digest(doc),
                files=_program_files(expansion),
            )
            return Applier(
                fresh, expansion, st, env=env, emit=emit, info=info, parallelism=parallelism, stop=stop
            ).run()
    finally:
        st.close()


def results(
    address: str | None = None,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Recorded results (current generations, or every generation of one address), found like the CLI finds them."""
    st = State.open(state_path(manifest, state, env))
    try:
        return st.results(address)
    finally:
        st.close()


def _with_recorded_targets(expansion: Expansion, st: State) -> Expansion:
    """The manifest's targets plus those only the state still knows (for resources being removed)."""
    from dataclasses import replace as copy

    from runner.operate.poll import target_from

    known = {name: target_from(raw) for name, (raw, _) in st.targets().items()}
    return copy(expansion, targets={**known, **expansion.targets})


def destroy(
    manifest: str,
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    confirm: Confirm | None = None,
    allow_protected: bool = False,
    lock_timeout: float = 0.0,
    parallelism: int = 16,
    stop: threading.Event | None = None,
    on_plan: Callable[[Planned], None] | None = None,
) -> Report | Planned:
    """Cancel what still runs, close open sessions and batches, and stop managing everything.

    History (generations and results) stays in the state. Protected resources are refused unless
    allow_protected.
    """
    from dataclasses import replace as copy

    env = dict(os.environ if env is None else env)
    path = state_path(manifest, state, env)
    st = State.open(path)
    try:
        expansion = copy(_with_recorded_targets(expand(load(manifest)), st), resources=())
        snap = st.snapshot()
        recorded = {a: copy(r, protect=False) if allow_protected else r for a, r in snap.resources.items()}
        planned = Planned(diff((), recorded), expansion, snap)
        if on_plan:
            on_plan(planned)
        if not planned.plan.has_changes() or (confirm is not None and not confirm(planned)):
            return planned
        with Lease(st, "destroy").acquire(lock_timeout):
            _unchanged_since(st, snap, path)
            info = run_info(manifest, expansion.manifest_digest, files=_program_files(expansion))
            return Applier(
                planned.plan,
                expansion,
                st,
                env=env,
                emit=emit or (lambda e: None),
                info=info,
                parallelism=parallelism,
                stop=stop,
                operation="destroy",
            ).run()
    finally:
        st.close()


def rerun(
    manifest: str,
    patterns: Sequence[str] = (),
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    confirm: Callable[[list[Recorded]], bool] | None = None,
    lock_timeout: float = 0.0,
    parallelism: int = 16,
) -> list[str]:
    """Rerun failed jobs: Pasqal batch jobs by rebatch, others as new generations. Returns failures."""
    from runner.applying import reruns

    env = dict(os.environ if env is None else env)
    emit = emit or (lambda e: None)
    path = state_path(manifest, state, env)
    st = State.open(path)
    try:
        expansion = _with_recorded_targets(expand(load(manifest)), st)
        items = reruns.failed(st, expansion, patterns)
        if not items or (confirm is not None and not confirm(items)):
            return []
        pasqal, others = reruns.split(items)
        failures: list[str] = []
        with Lease(st, "rerun").acquire(lock_timeout):
            info = run_info(manifest, expansion.manifest_digest, files=_program_files(expansion))
            if others:
                report = reruns.rerun_new_generations(
                    others, expansion, st, env=env, emit=emit, info=info, parallelism=parallelism
                )
                failures += report.failures
            if pasqal:
                with st.transaction(bump=False) as txn:
                    run_id = txn.begin_run("rerun", info)
                rebatcher = reruns.Rebatcher(st, env, emit, run_id)
                rebatcher.run(pasqal)
                with st.transaction(bump=False) as txn:
                    txn.finish_run(
                        run_id, "failed" if rebatcher.failures else "ok", {"rerun": rebatcher.count}, st.serial
                    )
                st.checkpoint()
                failures += rebatcher.failures
        return failures
    finally:
        st.close()
