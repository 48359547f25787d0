"""The phases of an apply that create things: sessions and batches, jobs, jobs added to open batches.

Every create is write-ahead: its intent (with the deterministic client token) is committed
durably before the call leaves the process, and its outcome after (runner.applying.dispatch).
Jobs of an abort-policy session go one at a time, and the first failure stops the rest. Jobs
for a provider that creates many in one call (CreatesMany: the local simulator) go in bundles
of BUNDLE, so a sweep costs one call per bundle rather than a thread hand-off per job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runner.applying import dispatch
from runner.applying.run import Run
from runner.domain import token
from runner.domain.events import Notice, ResourceDone, ResourceFailed
from runner.domain.remote import Observation, RemoteRef
from runner.domain.resources import Desired
from runner.domain.vocabulary import CONTAINERS, FAILED
from runner.errors import AuthError, LeaseLostError, ProviderError, RejectedError, RunnerError, TransientError
from runner.planning.changes import Change
from runner.providers.base import AddsJobs, CreatesMany, Submission
from runner.state import Txn

BUNDLE = 256  # jobs per create_many call: enough to amortise a simulator call, small enough to pipeline
Group = list["Op"]  # what one provider call creates: one op, or a bundle of jobs


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


# phases -------------------------------------------------------------------------------------------
def containers(run: Run) -> None:
    """Sessions and batches (a new batch is created with its jobs in one call)."""
    ops = []
    for change in run.changes:
        if change.kind in CONTAINERS and change.action in ("create", "replace"):
            op = _op(run, change)
            if change.kind == "batch":
                op.children = [_op(run, c) for c in _children(run, change.address, ("create", "replace"))]
            ops.append(op)
    _create(run, ops, lambda op: run.provider(op.desired.target).create(submission(run, op)))


def jobs(run: Run) -> None:
    """Jobs and workloads, in parallel; the jobs of an abort-policy session one at a time."""
    ops = []
    for change in run.changes:
        if change.kind not in ("job", "workload") or change.action not in ("create", "replace"):
            continue
        parent = change.desired.parent if change.desired else None
        if parent is not None and parent in run.failed_containers:
            run.skip(change, f"{parent} was not created: {run.failed_containers[parent]}")
            continue
        ops.append(_op(run, change, run.ref(parent) if parent else None))
    abort_sessions = {
        d.address for d in run.desired.values() if d.kind == "session" and d.spec.get("job_failure_policy") == "abort"
    }

    def lane_of(op: Op) -> str | None:
        parent = op.desired.parent
        return parent if parent in abort_sessions else None

    many = {t for t in {op.desired.target for op in ops} if isinstance(run.provider(t), CreatesMany)}

    def bundle(op: Op) -> str | None:
        bundled = op.desired.kind == "job" and op.desired.target in many and lane_of(op) is None
        return op.desired.target if bundled else None

    def create_many(group: Sequence[Op]) -> list[Observation]:
        provider = run.provider(group[0].desired.target)
        assert isinstance(provider, CreatesMany)
        return provider.create_many([submission(run, op) for op in group])

    _create(
        run,
        ops,
        lambda op: run.provider(op.desired.target).create(submission(run, op)),
        lane_of=lane_of,
        bundle=bundle,
        create_many=create_many,
    )


def grow(run: Run) -> None:
    """New jobs into open batches (the batch's own record does not change)."""
    ops = []
    for change in run.changes:
        if change.kind == "batch" and change.action == "update" and change.add_jobs:
            rec = change.recorded
            assert change.desired is not None and rec is not None
            op = Op(change, change.desired, rec.generation, "")
            op.children = [_op(run, c) for c in _children(run, change.address, ("create", "replace"))]
            ops.append(op)
    refs = {op.address: run.ref(op.address) for op in ops}  # the store is read on this thread only
    for op in ops:
        for child in op.children:
            child.parent = refs[op.address]

    def call(op: Op) -> Observation:
        provider = run.provider(op.desired.target)
        if not isinstance(provider, AddsJobs):
            raise RejectedError(f"{op.address}: target '{op.desired.target}' cannot add jobs to a batch")
        observed = provider.add_jobs(refs[op.address], [submission(run, c) for c in op.children])
        return Observation(refs[op.address].remote_id, "pending", children=tuple(observed))

    _create(run, ops, call)


# building calls -------------------------------------------------------------------------------------
def submission(run: Run, op: Op) -> Submission:
    d = op.desired
    programs = tuple(run.expansion.programs[p["digest"]] for p in d.spec.get("programs", ()))
    if "sequence" in d.spec:
        programs = (run.expansion.programs[d.spec["sequence"]["digest"]],)
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
        children=tuple(submission(run, c) for c in op.children),
        lifecycle=dict(d.lifecycle),
    )


def _op(run: Run, change: Change, parent: RemoteRef | None = None) -> Op:
    d = change.desired
    assert d is not None
    rec = change.recorded
    retry = change.action == "create" and rec is not None and rec.generation > 0
    generation = rec.generation if retry and rec else _next_generation(run, change.address)
    return Op(change, d, generation, token.make(run.store.lineage, d.address, d.fingerprint, generation), parent)


def _next_generation(run: Run, address: str) -> int:
    return max((g["generation"] for g in run.store.generations(address)), default=0) + 1


def _children(run: Run, parent: str, actions: tuple[str, ...]) -> list[Change]:
    return [
        c
        for c in run.changes
        if c.desired and c.desired.parent == parent and c.action in actions and c.kind == "batch_job"
    ]


# the create machinery -------------------------------------------------------------------------------
def _create(
    run: Run,
    ops: list[Op],
    call: Callable[[Op], Observation],
    *,
    lane_of: Callable[[Op], str | None] = lambda op: None,
    bundle: Callable[[Op], str | None] = lambda op: None,
    create_many: Callable[[Sequence[Op]], list[Observation]] | None = None,
) -> None:
    """Create ops write-ahead; ops with the same non-None `bundle` key go to `create_many` BUNDLE at a time."""
    if not ops:
        return
    lanes: dispatch.Lanes[Group] = dispatch.Lanes(_groups(ops, bundle), lambda g: lane_of(g[0]))

    def before(chunk: list[Group]) -> None:
        with run.store.transaction(durable=True) as txn:  # intents must survive anything
            for group in chunk:
                for op in group:
                    for item in [op, *op.children]:
                        if item.token:  # an existing batch receiving jobs has nothing new to record
                            _intend(run, txn, item)

    def after(outcomes: list[dispatch.Outcome[Group]]) -> None:
        with run.store.transaction() as txn:
            for out in outcomes:
                values = out.value if out.error is None else [None] * len(out.item)
                for op, value in zip(out.item, values, strict=True):
                    _record(run, txn, dispatch.Outcome(op, value, out.error), lanes, lane_of)

    def guarded(group: Group) -> list[Observation]:
        run.guard()  # the last moment before the request leaves: a frozen holder stops here
        if len(group) > 1 or (create_many is not None and bundle(group[0]) is not None):
            assert create_many is not None
            return create_many(group)
        return [call(group[0])]

    left = dispatch.run(lanes, guarded, before, after, pool=run.executor, window=run.parallelism * 2, stop=run.stop)
    for group in left:
        for op in group:
            run.skip(op.change, "interrupted before it was submitted")


def _groups(ops: list[Op], bundle: Callable[[Op], str | None]) -> list[Group]:
    """Each op alone, except those sharing a bundle key: together, BUNDLE at a time, in plan order."""
    groups: list[Group] = []
    open_bundles: dict[str, Group] = {}
    for op in ops:
        key = bundle(op)
        if key is None:
            groups.append([op])
            continue
        current = open_bundles.get(key)
        if current is None or len(current) >= BUNDLE:
            current = open_bundles[key] = []
            groups.append(current)
        current.append(op)
    return groups


def _intend(run: Run, txn: Txn, item: Op) -> None:
    parent_id = item.parent.remote_id if item.parent else None
    old = item.change.recorded
    rerun = item.change.rerun and old is not None
    origin = {"rerun_of": old.generation} if rerun and old else {}
    item.intent = txn.start(item.desired, item.generation, item.token, run.run_id, parent_id, origin=origin)
    if item.change.action == "replace" and old:
        txn.retire(item.address, old.generation, f"{'rerun' if rerun else 'replaced'} as generation {item.generation}")


def _record(
    run: Run, txn: Txn, out: dispatch.Outcome[Op], lanes: dispatch.Lanes[Group], lane_of: Callable[[Op], str | None]
) -> None:
    op = out.item
    if out.error is not None:
        _record_error(run, txn, op, out.error, lanes, lane_of)
        return
    obs: Observation = out.value
    if op.token:
        _succeed(run, txn, op, obs)
    for child, child_obs in zip(op.children, obs.children, strict=False):
        _succeed(run, txn, child, child_obs, parent_id=obs.remote_id)
    lane = lane_of(op)
    if lane is not None and obs.status == FAILED:
        _abort_session(run, txn, lane, op, lanes, obs.detail.get("error", "failed"))


def _succeed(run: Run, txn: Txn, op: Op, obs: Observation, parent_id: str | None = None) -> None:
    provenance = {"apply": run.run_id, "target_snapshot": run.snapshots.get(op.desired.target)}
    txn.succeed(op.address, op.generation, obs, op.intent, provenance, parent_id)
    if op.desired.kind in CONTAINERS:
        closed = op.desired.kind == "batch" and not op.desired.lifecycle.get("open")
        txn.set_lifecycle(op.address, {**op.desired.lifecycle, "closed": closed})
    parent = parent_id or (op.parent.remote_id if op.parent else None)
    run.refs[op.address] = RemoteRef(op.desired.kind, obs.remote_id, parent)
    run.counts[op.change.action] += 1
    run.touched.append(op.address)
    if obs.status == FAILED:
        run.counts["jobs_failed"] += 1
        run.failures.append(f"{op.address}: {obs.detail.get('error', 'failed')}")
    run.emit(ResourceDone(op.address, op.change.action, obs.status, obs.remote_id, dict(obs.detail)))


def _record_error(
    run: Run, txn: Txn, op: Op, error: BaseException, lanes: dispatch.Lanes[Group], lane_of: Callable[[Op], str | None]
) -> None:
    if isinstance(error, LeaseLostError):  # nothing was sent: the intents stay open for the next run
        run.stop.set()
        for item in [op, *op.children]:
            if item.token:
                run.skip(item.change, f"not sent: {error.message}")
        return
    unsent = isinstance(error, TransientError) and not error.acted_on_maybe
    definite = isinstance(error, (RejectedError, AuthError)) or unsent  # nothing exists remotely
    message = error.message if isinstance(error, RunnerError) else f"{type(error).__name__}: {error}"
    for item in [op, *op.children]:
        if not item.token:
            continue
        if definite:
            txn.fail(item.address, item.generation, f"not sent: {message}" if unsent else message, item.intent)
        run.counts["failed"] += 1
        if unsent:
            note = f"not sent ({message}); the next apply submits it"
        else:
            note = message if definite else f"sent, outcome unknown ({message}); the next apply checks for it"
        run.failures.append(f"{item.address}: {note}")
        run.emit(ResourceFailed(item.address, item.change.action, note))
    if op.desired.kind in CONTAINERS:
        run.failed_containers[op.address] = message
    lane = lane_of(op)
    if lane is not None and definite and not unsent:  # a job the service refused fails its abort-policy session
        _abort_session(run, txn, lane, op, lanes, message)
    if not isinstance(error, ProviderError) and not definite:
        # a bug, not a provider answer: stop starting new work, but keep what is recorded
        run.stop.set()


def _abort_session(run: Run, txn: Txn, session: str, op: Op, lanes: dispatch.Lanes[Group], why: str) -> None:
    dropped = [item for group in lanes.drop(session) for item in group]
    ref = run.ref(session)
    txn.observe(session, Observation(ref.remote_id, FAILED, "failed", {"failed_job": op.address, "error": why}))
    for item in dropped:
        run.skip(item.change, f"{session} failed after {op.address} failed")
    names = ", ".join(i.address for i in dropped) or "none"
    run.emit(
        Notice(
            f"{session} failed (job_failure_policy: abort): {op.address} failed ({why}); not submitted: {names}",
            "error",
        )
    )
