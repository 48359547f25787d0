"""The phases of an apply that create nothing: in-place updates, closes, deletes, superseded generations."""

from __future__ import annotations

from runner.applying.run import Run
from runner.domain.events import Notice, ResourceDone
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import FAILED, TERMINAL
from runner.errors import RejectedError, RunnerError
from runner.planning.changes import Change
from runner.providers.base import Closes, Provider, Updates

DELETE_ORDER = {"batch_job": 0, "job": 1, "workload": 1, "session": 2, "batch": 2}


def updates(run: Run) -> None:
    """Send the attribute changes a provider makes in place and close what was closed, reading each back;
    record in the state what no provider call can change (a `record` change)."""
    todo = [c for c in run.changes if c.action in ("update", "record")]
    calls = [c for c in todo if c.action == "update" and (c.update_attrs or c.close)]
    refs = {c.address: run.ref(c.address) for c in calls}  # the store is read on this thread only

    def touch(change: Change) -> Observation | None:
        assert change.desired is not None
        run.guard()
        provider = run.provider(change.desired.target)
        ref = refs[change.address]
        seen: Observation | None = None
        if change.update_attrs:
            seen = _update(provider, ref, change)
        if change.close:
            seen = _closer(provider, change.address).close(ref)
            if not closed(seen):
                raise RejectedError(
                    f"{change.address}: closed, but the provider still shows it open ({seen.raw_status})"
                )
        return seen

    for change, obs, error in run.each(calls, touch):
        _updated(run, change, obs, error)
    for change in todo:
        if change in calls:
            continue
        if change.add_jobs and not (set(change.add_jobs) & set(run.touched)):
            continue  # growing the batch failed (its jobs say why): nothing happened to the batch itself
        _updated(run, change, None, None)


def _update(provider: Provider, ref: RemoteRef, change: Change) -> Observation:
    """Send the attributes, then read the resource back: the provider must show every one of them."""
    assert change.desired is not None
    if not isinstance(provider, Updates):
        raise RejectedError(f"{change.address}: its provider cannot change attributes in place")
    wanted = change.desired.attrs
    provider.update(ref, wanted)
    (seen,) = provider.observe([ref])
    changed = provider.spec.can_change(change.kind)
    shown = {
        "tags": (sorted(wanted.tags), sorted(seen.detail.get("tags") or [])),
        "name": (wanted.name, seen.detail.get("name")),
        "metadata": (dict(wanted.metadata), dict(seen.detail.get("metadata") or {})),
    }
    wrong = [
        f"{name} {got!r} (sent {want!r})" for name, (want, got) in shown.items() if name in changed and want != got
    ]
    if "name" in changed and wanted.name is None:
        wrong = [w for w in wrong if not w.startswith("name ")]  # no name asked for: the provider keeps its default
    if wrong:
        raise RejectedError(f"{change.address}: updated, but the provider shows {'; '.join(wrong)}")
    return seen


def _closer(provider: Provider, address: str) -> Closes:
    if not isinstance(provider, Closes):
        raise RejectedError(f"{address}: its provider has nothing to close")
    return provider


def closed(obs: Observation) -> bool:
    """Whether an observation shows a session or batch that takes no more jobs."""
    return obs.detail.get("open") is False or obs.terminal or obs.raw_status == "closed"


def _updated(run: Run, change: Change, obs: Observation | None, error: BaseException | None) -> None:
    assert change.desired is not None
    if error is not None:
        run.failed(change, error)
        return
    with run.store.transaction() as txn:
        txn.set_attrs(change.desired)
        if change.close and obs is not None:
            txn.observe(change.address, obs)
            txn.set_lifecycle(change.address, {**change.desired.lifecycle, "closed": True})
    run.counts[change.action] += 1
    run.touched.append(change.address)
    status: str = "no provider call" if change.action == "record" else (obs.status if obs else "updated")
    if change.add_jobs and obs is None and change.action == "update":
        status = f"took {len(change.add_jobs)} new job(s)"
    run.emit(ResourceDone(change.address, change.action, status))


def closes(run: Run) -> None:
    """Close sessions once their jobs are in: new ones, and existing open ones that got jobs now."""
    touched = set(run.touched)
    fed = {c.desired.parent for c in run.plan.changes if c.desired and c.desired.parent and c.address in touched}
    sessions = [
        c
        for c in run.plan.changes
        if c.kind == "session"
        and c.desired
        and not c.desired.lifecycle.get("keep_open")
        and ((c.action in ("create", "replace") and c.address in run.refs) or (c.action == "noop" and c.address in fed))
        and not _closed(run, c.address)
    ]
    for change in sessions:
        run.refs.setdefault(change.address, run.ref(change.address))
    failed = {c.address for c in sessions if _session_failed(run, c.address)}

    def close(change: Change) -> Observation | None:
        assert change.desired is not None
        if change.address in failed:
            return None
        run.guard()
        return _closer(run.provider(change.desired.target), change.address).close(run.refs[change.address])

    for change, obs, error in run.each(sessions, close):
        if error is not None:
            run.failed(change, error)
            continue
        with run.store.transaction() as txn:
            if obs is not None:
                txn.observe(change.address, obs)
            txn.set_lifecycle(change.address, {"keep_open": False, "closed": True})
        if obs is not None:
            run.emit(ResourceDone(change.address, "close", obs.status))


def _closed(run: Run, address: str) -> bool:
    rec = run.store.resource(address)
    return rec is not None and bool(rec.lifecycle.get("closed"))


def _session_failed(run: Run, address: str) -> bool:
    rec = run.store.resource(address)
    return rec is not None and rec.status == FAILED


def deletes(run: Run) -> None:
    """Cancel what is still running of the resources gone from the manifest, then forget them."""
    todo = sorted(
        (c for c in run.changes if c.action == "delete"), key=lambda c: (DELETE_ORDER.get(c.kind, 3), c.address)
    )
    dying_batches = {c.address for c in todo if c.kind == "batch"}
    for rank in sorted({DELETE_ORDER.get(c.kind, 3) for c in todo}):
        group = [c for c in todo if DELETE_ORDER.get(c.kind, 3) == rank]
        cancels = [c for c in group if c.cancel and not (c.recorded and c.recorded.parent in dying_batches)]
        results = {c.address: (obs, err) for c, obs, err in run.each(cancels, lambda c: _cancel(run, c))}
        for change in group:
            obs, error = results.get(change.address, (None, None))
            if error is not None:
                run.failed(change, error)
                continue
            with run.store.transaction() as txn:
                txn.forget(change.address, "deleted: not in the manifest")
            run.counts["delete"] += 1
            run.touched.append(change.address)
            run.emit(ResourceDone(change.address, "delete", obs.status if obs else "forgotten"))


def _cancel(run: Run, change: Change) -> Observation:
    rec = change.recorded
    assert rec is not None and rec.remote_id is not None
    if rec.target not in run.pool.targets:
        raise RunnerError(f"target '{rec.target}' is no longer in the manifest; cannot cancel")
    run.guard()
    return run.provider(rec.target).cancel(RemoteRef(rec.kind, rec.remote_id, rec.detail.get("parent_id")))


def _elsewhere(change: Change) -> bool:
    """A replaced generation on another service than the target's: runner no longer has the settings to reach it."""
    rec, d = change.recorded, change.desired
    return bool(rec and d and rec.service and d.service and rec.service != d.service)


def supersede(run: Run) -> None:
    """Stop the old generation of each replaced resource that is still running."""
    stale = [
        c
        for c in run.changes
        if c.action == "replace"
        and c.recorded
        and c.recorded.remote_id
        and c.recorded.status not in TERMINAL
        and c.address in run.refs
        and not _elsewhere(c)
    ]

    def retire(change: Change) -> Observation:
        rec = change.recorded
        assert rec is not None and rec.remote_id is not None and change.desired is not None
        provider = run.provider(rec.target if rec.target in run.pool.targets else change.desired.target)
        ref = RemoteRef(rec.kind, rec.remote_id)
        run.guard()
        return _closer(provider, change.address).close(ref) if rec.kind == "session" else provider.cancel(ref)

    for change, obs, error in run.each(stale, retire):
        old = change.recorded.generation if change.recorded else 0
        if error is not None:
            run.emit(Notice(f"{change.address}: could not stop replaced generation {old}: {error}", "warning"))
        elif obs is not None:
            with run.store.transaction() as txn:
                txn.observe_generation(change.address, old, obs)
            run.emit(Notice(f"{change.address}: stopped replaced generation {old} ({obs.status})"))
