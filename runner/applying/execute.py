"""Apply: carry out a plan against the providers, recording every transition in the state.

Never prints: progress goes out as events (runner.events) for runner.output to render.
Order: sessions and batches first (with the jobs created inside a new batch), then jobs,
jobs added to open batches, in-place updates, session closes, deletes, and finally the
superseded generations of replaced resources.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from runner import providers
from runner.applying import dispatch
from runner.applying.upkeep import Upkeep
from runner.domain import token
from runner.domain.events import Event, Notice, ResourceDone, ResourceFailed, ResourceSkipped, RunFinished, RunStarted
from runner.domain.resources import Desired, Expansion
from runner.errors import AuthError, ProviderError, RejectedError, RunnerError
from runner.planning.diff import Change, Plan
from runner.providers.base import FAILED, Context, Observation, Provider, RemoteRef, Submission
from runner.state import State

Emit = Callable[[Event], None]
CONTAINERS = ("session", "batch")


@dataclass
class Op:
    """One provider call to make, with the bookkeeping it needs."""

    change: Change
    desired: Desired
    generation: int
    token: str
    parent: RemoteRef | None = None
    children: list[Op] = field(default_factory=list)
    intent: int | None = None

    @property
    def address(self) -> str:
        return self.change.address


@dataclass
class Report:
    """How an apply went."""

    run_id: int
    outcome: str
    summary: dict[str, Any]
    failures: list[str]
    touched: list[str]
    blocked: list[str] = field(default_factory=list)


class Applier(Upkeep):
    """Executes one plan; build it, then call run()."""

    def __init__(
        self,
        plan: Plan,
        expansion: Expansion,
        state: State,
        *,
        env: Mapping[str, str],
        emit: Emit,
        info: Mapping[str, Any],
        parallelism: int = 16,
        stop: threading.Event | None = None,
        operation: str = "apply",
    ) -> None:
        self.plan, self.expansion, self.state = plan, expansion, state
        self.env, self.emit, self.info = env, emit, info
        self.parallelism = max(1, parallelism)
        self.stop = stop or threading.Event()
        self.operation = operation
        self.changes = plan.pending()
        self.refs: dict[str, RemoteRef] = {}
        self.failed_containers: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        self.touched: list[str] = []
        self._providers: dict[str, Provider] = {}
        self._providers_lock = threading.Lock()
        self.snapshots: dict[str, str] = {}  # target -> digest of its recorded description
        self._pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="runner-call")
        self.run_id = 0

    # entry -------------------------------------------------------------------------------------
    def run(self) -> Report:
        started = time.monotonic()
        self.emit(RunStarted(self.operation, len(self.changes), self.state.path))
        with self.state.transaction(bump=False) as txn:
            self.run_id = txn.begin_run(self.operation, self.info)
            txn.save_targets(self.expansion.targets, _base_dir(self.expansion))
            if self.expansion.project and self.operation in ("apply", "rerun"):
                txn.claim_project(self.expansion.project)
        outcome = "failed"
        try:
            for name in sorted({c.desired.target for c in self.changes if c.desired}):
                self.provider(name)  # built on this thread: provider set-up must not run on a short-lived worker
            self._describe_targets()
            for phase in (
                self._containers,
                self._jobs,
                self._grow,
                self._updates,
                self._closes,
                self._deletes,
                self._supersede,
            ):
                if self.stop.is_set():
                    break
                phase()
            outcome = "interrupted" if self.stop.is_set() else ("failed" if self.failures else "ok")
        finally:
            self._finish(outcome, started)
        blocked = [c.address for c in self.plan.blocked()]
        return Report(self.run_id, outcome, self._summary(), self.failures, self.touched, blocked)

    def _describe_targets(self) -> None:
        """Record what each target's provider says about it now, for the provenance of what is submitted."""
        creating = sorted({c.desired.target for c in self.changes if c.desired and c.action in ("create", "replace")})
        for name in creating:
            describe = getattr(self.provider(name), "describe", None)
            if describe is None:
                continue
            try:
                body = describe()
            except (ProviderError, RunnerError, ValueError) as exc:
                self.emit(Notice(f"target {name}: could not record its description ({exc})", "warning"))
                continue
            with self.state.transaction(bump=False) as txn:
                self.snapshots[name] = txn.save_snapshot(name, self.expansion.targets[name].provider, body)

    def _finish(self, outcome: str, started: float) -> None:
        self._pool.shutdown(wait=True)
        for provider in self._providers.values():
            provider.shutdown()
        summary = self._summary()
        with self.state.transaction(bump=False) as txn:
            txn.finish_run(self.run_id, outcome, summary, self.state.serial)
        self.state.checkpoint()
        self.emit(RunFinished(self.operation, outcome, summary, round(time.monotonic() - started, 3)))

    def _summary(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "create": 0,
            "update": 0,
            "replace": 0,
            "delete": 0,
            "failed": 0,
            "skipped": 0,
            "jobs_failed": 0,
        }
        base.update(self.counts)
        base["unchanged"] = len(self.plan.changes) - len(self.changes)
        writes = self.state.writes
        base["state_writes"] = {
            "transactions": int(writes["transactions"]),
            "durable": int(writes["durable"]),
            "seconds": round(writes["seconds"], 3),
        }
        return base

    # providers ---------------------------------------------------------------------------------
    def provider(self, target_name: str) -> Provider:
        with self._providers_lock:
            return self._provider(target_name)

    def _provider(self, target_name: str) -> Provider:
        if target_name not in self._providers:
            target = self.expansion.targets[target_name]
            self._providers[target_name] = providers.make(target, Context(self.env, _base_dir(self.expansion)))
        return self._providers[target_name]

    def submission(self, op: Op) -> Submission:
        d = op.desired
        programs = tuple(self.expansion.programs[p["digest"]] for p in d.spec.get("programs", ()))
        if "sequence" in d.spec:
            programs = (self.expansion.programs[d.spec["sequence"]["digest"]],)
        return Submission(
            address=d.address,
            kind=d.kind,
            generation=op.generation,
            token=op.token,
            fingerprint=d.fingerprint,
            spec=d.spec,
            attrs=d.attrs,
            programs=programs,
            parent=op.parent,
            children=tuple(self.submission(c) for c in op.children),
            lifecycle=dict(d.lifecycle),
        )

    def _op(self, change: Change, parent: RemoteRef | None = None) -> Op:
        d = change.desired
        assert d is not None
        rec = change.recorded
        retry = change.action == "create" and rec is not None and rec.generation > 0
        generation = rec.generation if retry and rec else self._next_generation(change)
        return Op(change, d, generation, token.make(self.state.lineage, d.address, d.fingerprint, generation), parent)

    def _next_generation(self, change: Change) -> int:
        history = self.state.generations(change.address)
        return max((g["generation"] for g in history), default=0) + 1

    # phase: sessions and batches -----------------------------------------------------------------
    def _containers(self) -> None:
        ops = []
        for change in self.changes:
            if change.kind in CONTAINERS and change.action in ("create", "replace"):
                op = self._op(change)
                if change.kind == "batch":
                    op.children = [self._op(c) for c in self._children(change.address, ("create", "replace"))]
                ops.append(op)
        self._create(ops, lambda op: self.provider(op.desired.target).create(self.submission(op)))

    def _children(self, parent: str, actions: tuple[str, ...]) -> list[Change]:
        return [
            c
            for c in self.changes
            if c.desired and c.desired.parent == parent and c.action in actions and c.kind == "batch_job"
        ]

    # phase: jobs ------------------------------------------------------------------------------
    def _jobs(self) -> None:
        ops = []
        for change in self.changes:
            if change.kind != "job" or change.action not in ("create", "replace"):
                continue
            parent = change.desired.parent if change.desired else None
            if parent is not None and parent in self.failed_containers:
                self._skip(change, f"{parent} was not created: {self.failed_containers[parent]}")
                continue
            ops.append(self._op(change, self._ref(parent) if parent else None))
        self._create(
            ops, lambda op: self.provider(op.desired.target).create(self.submission(op)), lane_of=self._abort_lane
        )

    def _abort_lane(self, op: Op) -> str | None:
        parent = op.desired.parent
        if parent is None:
            return None
        session = self.expansion.by_address().get(parent)
        policy = session.spec.get("job_failure_policy") if session else None
        return parent if policy == "abort" else None

    # phase: jobs added to open batches -----------------------------------------------------------
    def _grow(self) -> None:
        ops = []
        for change in self.changes:
            if change.kind == "batch" and change.action == "update" and change.details.get("add_jobs"):
                op = self._op_existing(change)
                op.children = [self._op(c) for c in self._children(change.address, ("create",))]
                ops.append(op)
        refs = {op.address: self._ref(op.address) for op in ops}  # the state is read on this thread only
        for op in ops:
            for child in op.children:
                child.parent = refs[op.address]

        def call(op: Op) -> Observation:
            subs = [self.submission(c) for c in op.children]
            obs = self.provider(op.desired.target).add_jobs(refs[op.address], subs)
            return Observation(refs[op.address].remote_id, "", children=tuple(obs))

        self._create(ops, call)

    def _op_existing(self, change: Change) -> Op:
        rec = change.recorded
        assert change.desired is not None and rec is not None
        return Op(change, change.desired, rec.generation, "", None)

    # the create machinery ----------------------------------------------------------------------
    def _create(
        self, ops: list[Op], call: Callable[[Op], Observation], *, lane_of: Callable[[Op], str | None] = lambda op: None
    ) -> None:
        if not ops:
            return
        lanes = dispatch.Lanes(ops, lane_of)

        def before(chunk: list[Op]) -> None:
            with self.state.transaction(durable=True) as txn:  # intents must survive anything
                for op in chunk:
                    for item in [op, *op.children]:
                        if not item.token:
                            continue  # an existing batch receiving jobs: nothing new to record for it
                        parent_id = item.parent.remote_id if item.parent else None
                        old = item.change.recorded
                        rerun = bool(item.change.details.get("rerun")) and old is not None
                        origin = {"rerun_of": old.generation} if rerun and old else {}
                        item.intent = txn.start(
                            item.desired, item.generation, item.token, self.run_id, parent_id, origin=origin
                        )
                        if item.change.action == "replace" and old:
                            why = "rerun" if rerun else "replaced"
                            txn.retire(item.address, old.generation, f"{why} as generation {item.generation}")

        def after(outcomes: list[dispatch.Outcome[Op]]) -> None:
            with self.state.transaction() as txn:
                for out in outcomes:
                    self._record(txn, out, lanes)

        left = dispatch.run(lanes, call, before, after, pool=self._pool, window=self.parallelism * 2, stop=self.stop)
        for op in left:
            self._skip(op.change, "interrupted before it was submitted")

    def _record(self, txn: Any, out: dispatch.Outcome[Op], lanes: dispatch.Lanes[Op]) -> None:
        op = out.item
        if out.error is not None:
            self._record_error(txn, op, out.error, lanes)
            return
        obs: Observation = out.value
        if op.token:
            self._succeed(txn, op, obs)
        for child, child_obs in zip(op.children, obs.children, strict=False):
            self._succeed(txn, child, child_obs, parent_id=obs.remote_id)
        lane = lanes.lane_of(op)
        if lane is not None and obs.status == FAILED:
            self._abort_session(txn, lane, op, lanes, obs.detail.get("error", "failed"))

    def _succeed(self, txn: Any, op: Op, obs: Observation, parent_id: str | None = None) -> None:
        provenance = {"apply": self.run_id, "target_snapshot": self.snapshots.get(op.desired.target)}
        txn.succeed(op.address, op.generation, obs, op.intent, provenance, parent_id)
        if op.desired.kind in CONTAINERS:
            closed = op.desired.kind == "batch" and not op.desired.lifecycle.get("open")
            txn.set_lifecycle(op.address, {**op.desired.lifecycle, "closed": closed})
        parent = parent_id or (op.parent.remote_id if op.parent else None)
        self.refs[op.address] = RemoteRef(op.desired.kind, obs.remote_id, parent)
        self.counts[op.change.action] += 1
        self.touched.append(op.address)
        if obs.status == FAILED:
            self.counts["jobs_failed"] += 1
            self.failures.append(f"{op.address}: {obs.detail.get('error', 'failed')}")
        self.emit(ResourceDone(op.address, op.change.action, obs.status, obs.remote_id, dict(obs.detail)))

    def _record_error(self, txn: Any, op: Op, error: BaseException, lanes: dispatch.Lanes[Op]) -> None:
        definite = isinstance(error, (RejectedError, AuthError))
        message = error.message if isinstance(error, RunnerError) else f"{type(error).__name__}: {error}"
        for item in [op, *op.children]:
            if not item.token:
                continue
            if definite:
                txn.fail(item.address, item.generation, message, item.intent)
            self.counts["failed"] += 1
            note = message if definite else f"outcome unknown ({message}); the next apply checks for it"
            self.failures.append(f"{item.address}: {note}")
            self.emit(ResourceFailed(item.address, item.change.action, note))
        if op.desired.kind in CONTAINERS:
            self.failed_containers[op.address] = message
        lane = lanes.lane_of(op)
        if lane is not None and definite:
            self._abort_session(txn, lane, op, lanes, message)
        if not isinstance(error, ProviderError) and not definite:
            # a bug, not a provider answer: stop starting new work, but keep what is recorded
            self.stop.set()

    def _abort_session(self, txn: Any, session: str, op: Op, lanes: dispatch.Lanes[Op], why: str) -> None:
        dropped = lanes.drop(session)
        ref = self._ref(session)
        txn.observe(session, Observation(ref.remote_id, FAILED, "failed", {"failed_job": op.address, "error": why}))
        for item in dropped:
            self._skip(item.change, f"{session} failed after {op.address} failed")
        names = ", ".join(i.address for i in dropped) or "none"
        self.emit(
            Notice(
                f"{session} failed (job_failure_policy: abort): {op.address} failed ({why}); not submitted: {names}",
                "error",
            )
        )

    def _skip(self, change: Change, reason: str) -> None:
        self.counts["skipped"] += 1
        self.emit(ResourceSkipped(change.address, change.action, reason))

    def _ref(self, address: str) -> RemoteRef:
        if address in self.refs:
            return self.refs[address]
        rec = self.state.resource(address)
        if rec is None or rec.remote_id is None:
            raise RunnerError(f"{address} has no remote id in the state")
        return RemoteRef(rec.kind, rec.remote_id)


def _base_dir(expansion: Expansion) -> str:
    import os

    return os.path.dirname(os.path.abspath(expansion.manifest_path)) if expansion.manifest_path else "."
