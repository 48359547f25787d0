"""Apply: carry out a plan against the providers, recording every transition in the state.

Never prints: progress goes out as events (runner.domain.events) for runner.render.output to
render. Order: sessions and batches first (with the jobs created inside a new batch), then jobs,
jobs added to open batches, in-place updates, session closes, deletes, and finally the
superseded generations of replaced resources.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from runner.applying import create, maintain, rename
from runner.applying.run import Run
from runner.domain.events import Emit, Notice, RunFinished, RunStarted
from runner.domain.resources import Expansion
from runner.errors import ProviderError, RunnerError
from runner.planning.changes import Plan
from runner.providers.base import Describes
from runner.providers.pool import ProviderPool
from runner.quantum import circuits
from runner.state import Held, Store

PHASES = (
    rename.moves_phase,
    create.containers,
    create.jobs,
    create.grow,
    maintain.updates,
    maintain.closes,
    maintain.deletes,
    maintain.supersede,
)


@dataclass
class Report:
    """How an apply went."""

    run_id: int
    outcome: str
    summary: dict[str, Any]
    failures: list[str]
    touched: list[str]
    blocked: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """How Jupyter shows a report: outcome, counts, failures (runner.render.tables draws it)."""
        from runner.render.tables import report_html

        return report_html(self)


def execute(
    plan: Plan,
    expansion: Expansion,
    store: Store,
    pool: ProviderPool,
    *,
    emit: Emit,
    info: Mapping[str, Any],
    parallelism: int = 16,
    stop: threading.Event | None = None,
    operation: str = "apply",
    lease: Held | None = None,
) -> Report:
    """Carry out `plan`: every phase in order, the run recorded in the history with its outcome."""
    parallelism = max(1, parallelism)
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="runner-call") as executor:
        run = Run(
            plan, expansion, store, pool, emit, stop or threading.Event(), executor, parallelism, operation, lease
        )
        started = time.monotonic()
        emit(RunStarted(operation, len(run.changes), store.path))
        with store.transaction(bump=False) as txn:
            run.run_id = txn.begin_run(operation, info)
            txn.save_targets(expansion.targets, base_dir(expansion))
            if expansion.project and operation in ("apply", "rerun"):
                txn.claim_project(expansion.project)
        outcome = "failed"
        try:
            for name in sorted({c.desired.target for c in run.changes if c.desired and c.action != "move"}):
                run.provider(name)  # built on this thread: provider set-up must not run on a short-lived worker
            if any(c.action in ("create", "replace") and c.kind != "session" for c in run.changes):
                circuits.warm()  # programs are converted on worker threads: their imports must happen here first
            _describe_targets(run)
            for phase in PHASES:
                if run.stop.is_set():
                    break
                phase(run)
            outcome = "interrupted" if run.stop.is_set() else ("failed" if run.failures else "ok")
        finally:
            executor.shutdown(wait=True)
            _finish(run, outcome, started)
    return Report(run.run_id, outcome, _summary(run), run.failures, run.touched, [c.address for c in plan.blocked()])


def _describe_targets(run: Run) -> None:
    """Record what each target's provider says about it now, for the provenance of what is submitted."""
    creating = sorted({c.desired.target for c in run.changes if c.desired and c.action in ("create", "replace")})
    for name in creating:
        provider = run.provider(name)
        if not isinstance(provider, Describes):
            continue
        try:
            body = provider.describe()
        except (ProviderError, RunnerError, ValueError) as exc:
            run.emit(Notice(f"target {name}: could not record its description ({exc})", "warning"))
            continue
        with run.store.transaction(bump=False) as txn:
            run.snapshots[name] = txn.save_snapshot(name, run.expansion.targets[name].provider, body)


def _finish(run: Run, outcome: str, started: float) -> None:
    summary = _summary(run)
    with run.store.transaction(bump=False) as txn:
        txn.finish_run(run.run_id, outcome, summary, run.store.serial)
    run.store.checkpoint()
    run.emit(RunFinished(run.operation, outcome, summary, round(time.monotonic() - started, 3)))


def _summary(run: Run) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(
        ("create", "update", "replace", "delete", "failed", "skipped", "jobs_failed"), 0
    )
    base.update(run.counts)
    base["unchanged"] = len(run.plan.changes) - len(run.changes)
    writes = run.store.writes
    base["state_writes"] = {
        "transactions": int(writes["transactions"]),
        "durable": int(writes["durable"]),
        "seconds": round(writes["seconds"], 3),
    }
    return base


def base_dir(expansion: Expansion) -> str:
    """The folder of the manifest an expansion came from: relative paths in its targets start there."""
    return os.path.dirname(os.path.abspath(expansion.manifest_path)) if expansion.manifest_path else "."
