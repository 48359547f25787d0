"""The pipeline's use cases: load, validate, plan, apply (a manifest or a saved plan), destroy, rerun."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import replace as copy
from typing import Any

from runner import providers
from runner.app.common import environment, opened, pool_for, reach, same_project, settle_intents, state_path
from runner.applying import duplicates, reconcile, reruns
from runner.applying.execute import Report, execute
from runner.applying.provenance import run_info
from runner.domain.events import Emit
from runner.domain.model import Manifest
from runner.domain.resources import Expansion, Recorded
from runner.domain.vocabulary import Attribute, Kind
from runner.errors import BudgetExceededError, ManifestError, PlanError, RunnerError, StalePlanError
from runner.expand.expansion import count, expand
from runner.manifest import builds, loader
from runner.planning import cost, drift, moves, planfile
from runner.planning.changes import Plan
from runner.planning.diff import Unchangeable, diff
from runner.planning.select import narrow
from runner.providers.pool import ProviderPool
from runner.state import Held, Snapshot, Store, snapshot


def _quiet(event: object) -> None:
    """The default event sink of the Python API: events are for a renderer, and there is none."""


def load(path: str, env: Mapping[str, str] | None = None) -> Manifest:
    """Load and validate a manifest (raises ManifestError with every located problem)."""
    return loader.load(path, env=environment(env))


@dataclass(frozen=True)
class Validation:
    """What `validate` found in one manifest."""

    manifest: str
    valid: bool
    resources: int = 0
    problems: tuple[dict[str, Any], ...] = ()
    error: RunnerError | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manifest": self.manifest, "valid": self.valid, "problems": list(self.problems)}
        if self.valid:
            out["resources"] = self.resources
        return out


def validate(manifest: str, env: Mapping[str, str] | None = None, *, programs: bool = True) -> Validation:
    """Schema, references, programs and sweep sizes of one manifest; problems are returned, not raised.

    programs=False reads the program files (they must exist, inside the manifest's folder) but does
    not parse them, so it needs no qiskit: what program inputs a sweep must bind goes unchecked.
    """
    try:
        loaded = loader.load(manifest, check_programs=programs, env=environment(env))
        return Validation(manifest, True, count(loaded))  # counted, not expanded: plan expands
    except ManifestError as exc:
        problems = tuple(
            {"file": p.location.file, "line": p.location.line, "column": p.location.column, "message": p.message}
            for p in exc.problems
        )
        return Validation(manifest, False, problems=problems, error=exc)
    except RunnerError as exc:  # e.g. a file that does not exist
        return Validation(manifest, False, problems=({"message": exc.message},), error=exc)


@dataclass(frozen=True)
class Options:
    """What shapes a plan besides the manifest and the state."""

    replace: Sequence[str] = ()
    targets: Sequence[str] = ()
    excludes: Sequence[str] = ()
    refresh: bool = True
    unchangeable: Unchangeable = "record"  # what an edit the provider cannot make becomes

    def as_json(self) -> dict[str, Any]:
        return {
            "replace": sorted(self.replace),
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "refresh": self.refresh,
            "unchangeable": self.unchangeable,
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
    swept: duplicates.Sweep = field(default_factory=duplicates.Sweep)  # what a paused run may have sent twice

    def has_work(self) -> bool:
        """Whether apply would do anything: changes, or duplicates to cancel."""
        return self.plan.has_changes() or bool(self.swept.duplicates)

    def estimates(self) -> list[cost.Estimate]:
        """Cost of what this plan would submit (creates and replaces)."""
        return cost.for_plan(self.plan, self.expansion)

    def over_budget(self) -> str | None:
        """Why the manifest's budget refuses this plan, if it does."""
        budget = self.expansion.budget
        if budget is None:
            return None
        return cost.budget_problem(self.estimates(), budget.limits, budget.allow_unknown)

    def _repr_html_(self) -> str:
        """How Jupyter shows a plan: a table of its changes (runner.render.tables)."""
        from runner.render.tables import planned_html

        return planned_html(self)

    def as_json(self) -> dict[str, Any]:
        """The documented `plan --json` document (docs/plan-format.md)."""
        doc = planfile.plan_json(self.plan, self.expansion, self.snapshot, self.findings, self.refreshed.drift)
        doc["cost"] = cost.section_json(self.estimates(), self.expansion.budget)
        doc["duplicates"] = [d.as_json() for d in self.swept.duplicates]
        doc["duplicates_unchecked"] = list(self.swept.unchecked)
        return doc


def plan(
    manifest: str,
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    replace: Sequence[str] = (),
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    refresh: bool = True,
    unchangeable: Unchangeable = "record",
    out: str | None = None,
) -> Planned:
    """Validate, expand, reconcile, refresh in memory, diff; never writes or locks the state.

    With `out`, the plan is also saved for `apply(out)`.
    """
    env = environment(env)
    with collector_paused():
        expansion = expand(load(manifest, env))
        options = Options(tuple(replace), tuple(targets), tuple(excludes), refresh, unchangeable)
        with ProviderPool({}, env) as pool:
            planned = _planned(expansion, state_path(manifest, state, env), pool, options)
    if out:
        planfile.save(out, planned)
    return planned


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a plan with Python's cyclic garbage collector paused.

    A plan makes a few objects per job and frees almost none of them before it returns, so the
    collector's full passes over a growing heap made plan's time per job grow with the sweep (runner.plan,
    imports paid: 30.9 us/job at 1,000 jobs, 40.7 at 30,000; paused: 28.7 and 27.6). Reference counting
    still frees everything that is not a cycle, and the collector runs again as soon as plan returns.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _planned(expansion: Expansion, path: str, pool: ProviderPool, options: Options) -> Planned:
    snap = snapshot(path)
    same_project(snap.project, expansion.project, snap.path)
    found: list[reconcile.Finding] = []
    refreshed = drift.Refreshed((), {})
    swept = duplicates.Sweep()
    occupied: list[str] = []
    if snap.exists:
        with opened(path) as st:
            pool.reach(reach(st, expansion))
            found = reconcile.findings(st, pool, expansion.programs)
            swept = _sweep(st, pool, expansion, found)
            if options.refresh:
                refreshed = drift.detect(st, pool)
            occupied = _occupied(st, expansion)
    plan_ = _diff(expansion, snap.resources, options, found, refreshed, occupied)
    return Planned(plan_, expansion, snap, tuple(found), refreshed, options, swept)


def _sweep(st: Store, pool: ProviderPool, expansion: Expansion, found: Sequence[reconcile.Finding]) -> duplicates.Sweep:
    """Duplicates of stale sends, and the extra copies reconciliation found of an adopted create."""
    adopted = {f.found.remote_id for f in found if f.outcome == reconcile.ADOPTED and f.found is not None}
    swept = duplicates.sweep(st, pool, expansion.programs, adopted)
    extra = tuple(duplicates.from_findings(found, st))
    return duplicates.Sweep(swept.duplicates + extra, swept.unchecked, swept.closable)


def mutable(provider: str, kind: Kind) -> frozenset[Attribute]:
    """What a provider changes in place, from its spec (importing its module, not building it)."""
    return providers.spec(provider).can_change(kind) if provider in providers.REGISTRY else frozenset()


def _occupied(st: Store, expansion: Expansion) -> list[str]:
    """Addresses with history in the state, which a rename must not take over (asked only when there are renames)."""
    return st.addresses_with_history() if expansion.moved else []


def _diff(
    expansion: Expansion,
    recorded: Mapping[str, Recorded],
    options: Options,
    found: Sequence[reconcile.Finding],
    refreshed: drift.Refreshed,
    occupied: Sequence[str] = (),
) -> Plan:
    desired = expansion.by_address()
    unknown = [a for a in options.replace if a not in desired]
    if unknown:
        raise PlanError(f"--replace names addresses not in the manifest: {', '.join(unknown)}")
    adjusted, blocked = reconcile.adjusted(recorded, list(found))
    current = drift.fold(adjusted, refreshed)
    full = diff(
        expansion.resources,
        current,
        force_replace=set(options.replace),
        blocked=blocked,
        mutable=mutable,
        unchangeable=options.unchangeable,
        renamed=moves.renames(current, expansion.moved, desired, set(occupied)),
    )
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
    unchangeable: Unchangeable = "record",
    lock_timeout: float = 0.0,
    parallelism: int = 16,
    stop: threading.Event | None = None,
    on_plan: Callable[[Planned], None] | None = None,
) -> Report | Planned:
    """Apply a manifest or a saved plan file.

    Returns the Planned value (nothing done) when there are no changes or confirm says no,
    else the apply Report. Saved plans are applied without asking: they were reviewed already.
    """
    env = environment(env)
    emit = emit or _quiet
    if planfile.is_plan_file(target):
        return _apply_saved(target, state, env, emit, lock_timeout, parallelism, stop)
    with collector_paused():
        expansion = expand(load(target, env))
    path = state_path(target, state, env)
    options = Options(tuple(replace), tuple(targets), tuple(excludes), refresh, unchangeable)
    with ProviderPool({}, env) as pool:
        with collector_paused():
            planned = _planned(expansion, path, pool, options)
        if on_plan:
            on_plan(planned)
        refused = planned.over_budget()
        if refused:
            raise BudgetExceededError(refused)
        if not planned.plan.has_changes() and not _settles(planned):
            return planned
        if confirm is not None and not confirm(planned):
            return planned
        with opened(path, project=expansion.project, create=True) as st, st.lease("apply", lock_timeout) as held:
            _unchanged_since(st, planned.snapshot, path)
            pool.reach(reach(st, expansion))
            fresh = _settle(st, planned)  # adoptions first: an adopted object is never a duplicate
            swept = _sweep(st, pool, expansion, planned.findings)  # again: a stale holder may have woken up
            cancelled = duplicates.settle(st, pool, swept, emit, held)
            info = run_info(target, expansion.manifest_digest, files=_program_files(expansion))
            report = execute(
                fresh, expansion, st, pool, emit=emit, info=info, parallelism=parallelism, stop=stop, lease=held
            )
            return _with_failures(report, cancelled)


def _with_failures(report: Report, failures: list[str]) -> Report:
    if failures:
        report.failures[:0] = failures
        report.outcome = "failed"
    return report


def _program_files(expansion: Expansion) -> list[str]:
    """Program and sequence files the expansion read (inline programs have none; a built one's is its .py or .qpy)."""
    return sorted({f for p in expansion.programs.values() if os.path.isfile(f := builds.source_file(p.label))})


def _settles(planned: Planned) -> bool:
    """Findings, drift and duplicates apply must act on even when nothing else changes."""
    adopted = any(f.outcome in (reconcile.ADOPTED, reconcile.ABSENT) for f in planned.findings)
    dups = bool(planned.swept.duplicates or planned.swept.closable)
    return adopted or dups or any(d.what in ("status", "closed") for d in planned.refreshed.drift)


def _unchanged_since(st: Store, first: Snapshot, path: str) -> None:
    snap = st.snapshot()
    if (snap.lineage, snap.serial) != (first.lineage or snap.lineage, first.serial):
        raise StalePlanError(
            f"{path} changed while this apply waited (serial {first.serial} -> {snap.serial}); run it again"
        )


def _settle(st: Store, planned: Planned) -> Plan:
    """Under the lock: record reconciliation and drift, then the plan they lead to."""
    reconcile.record(st, list(planned.findings))
    drift.record(st, planned.refreshed)
    occupied = _occupied(st, planned.expansion)
    return _diff(
        planned.expansion, st.snapshot().resources, planned.options, planned.findings, planned.refreshed, occupied
    )


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
    create = doc["state"]["lineage"] is None
    with (
        opened(target_state, project=expansion.project, create=create) as st,
        pool_for(st, env, expansion) as pool,
        st.lease("apply", lock_timeout) as held,
    ):
        planfile.check_fresh(doc, st, path)
        found = reconcile.findings(st, pool, expansion.programs)
        if [f.as_json() for f in found] != doc.get("reconciliation", []):
            raise StalePlanError(f"{path}: reconciliation finds something else now; run `runner plan` again")
        refreshed = drift.detect(st, pool) if options.refresh else drift.Refreshed((), {})
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
        digest = planfile.document_digest(doc)
        info = run_info(expansion.manifest_path, expansion.manifest_digest, digest, files=_program_files(expansion))
        return execute(fresh, expansion, st, pool, emit=emit, info=info, parallelism=parallelism, stop=stop, lease=held)


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
    env = environment(env)
    path = state_path(manifest, state, env)
    loaded = expand(load(manifest, env))
    with opened(path, project=loaded.project) as st, pool_for(st, env, loaded) as pool:
        settle_intents(st, pool, loaded.programs, emit or _quiet, lock_timeout)  # destroy what was really created
        expansion = copy(loaded, resources=())
        snap = st.snapshot()
        recorded = {a: copy(r, protect=False) if allow_protected else r for a, r in snap.resources.items()}
        planned = Planned(diff((), recorded, mutable=mutable), expansion, snap)
        if on_plan:
            on_plan(planned)
        if not planned.plan.has_changes() or (confirm is not None and not confirm(planned)):
            return planned
        with st.lease("destroy", lock_timeout) as held:
            _unchanged_since(st, snap, path)
            info = run_info(manifest, expansion.manifest_digest, files=_program_files(loaded))
            return execute(
                planned.plan,
                expansion,
                st,
                pool,
                emit=emit or _quiet,
                info=info,
                parallelism=parallelism,
                stop=stop,
                operation="destroy",
                lease=held,
            )


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
    """Rerun failed jobs: batch jobs by their provider's rebatch, others as new generations. Returns failures."""
    env = environment(env)
    emit = emit or _quiet
    path = state_path(manifest, state, env)
    expansion = expand(load(manifest, env))
    with opened(path, project=expansion.project) as st, pool_for(st, env, expansion) as pool:
        settle_intents(st, pool, expansion.programs, emit, lock_timeout)  # a killed rerun's creates: sent or not?
        items = reruns.failed(st, expansion, patterns)
        if not items or (confirm is not None and not confirm(items)):
            return []
        rebatched, others = reruns.split(items, pool)
        failures: list[str] = []
        with st.lease("rerun", lock_timeout) as held:
            info = run_info(manifest, expansion.manifest_digest, files=_program_files(expansion))
            if others:
                report = reruns.rerun_new_generations(
                    others, expansion, st, pool, emit=emit, info=info, parallelism=parallelism, lease=held
                )
                failures += report.failures
            if rebatched:
                failures += _rebatch(st, pool, emit, info, rebatched, held)
        return failures


def _rebatch(
    st: Store, pool: ProviderPool, emit: Emit, info: Mapping[str, Any], items: list[Recorded], lease: Held
) -> list[str]:
    with st.transaction(bump=False) as txn:
        run_id = txn.begin_run("rerun", info)
    rebatcher = reruns.Rebatcher(st, pool, emit, run_id, lease)
    rebatcher.run(items)
    with st.transaction(bump=False) as txn:
        txn.finish_run(run_id, "failed" if rebatcher.failures else "ok", {"rerun": rebatcher.count}, st.serial)
    st.checkpoint()
    return rebatcher.failures
