"""The phases of an apply that create nothing: in-place updates, closes, deletes, superseded generations.

A mixin of runner.execute.Applier (split out to keep modules small); it uses the applier's
providers, thread pool, state and event stream, declared below for the type checker.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runner.domain.events import Event, Notice, ResourceDone, ResourceFailed
from runner.domain.resources import Expansion
from runner.errors import RunnerError
from runner.planning.diff import Change, Plan
from runner.providers.base import FAILED, TERMINAL, Observation, Provider, RemoteRef
from runner.state import State


class Upkeep:
    """In-place updates, session closes, deletes and superseded generations."""

    plan: Plan
    expansion: Expansion
    state: State
    changes: list[Change]
    refs: dict[str, RemoteRef]
    counts: Counter[str]
    failures: list[str]
    touched: list[str]
    emit: Callable[[Event], None]
    stop: threading.Event
    _pool: ThreadPoolExecutor

    def provider(self, target_name: str) -> Provider:
        raise NotImplementedError

    def _ref(self, address: str) -> RemoteRef:
        raise NotImplementedError

    # phase: in-place updates -------------------------------------------------------------------
    def _updates(self) -> None:
        todo = [c for c in self.changes if c.action == "update"]
        remote = [c for c in todo if c.details.get("attrs") and c.kind != "batch_job"]
        closing = [c for c in todo if c.details.get("close")]

        refs = {c.address: self._ref(c.address) for c in remote + closing}  # state is read on this thread only

        def touch(change: Change) -> Observation | None:
            assert change.desired is not None
            provider = self.provider(change.desired.target)
            if change in remote:
                provider.update(refs[change.address], change.desired.attrs)
            if change in closing:
                return provider.close(refs[change.address])
            return None

        for change, result, error in self._each(remote + [c for c in closing if c not in remote], touch):
            self._updated(change, result, error)
        for change in todo:
            if change not in remote and change not in closing:
                self._updated(change, None, None)

    def _updated(self, change: Change, obs: Observation | None, error: BaseException | None) -> None:
        assert change.desired is not None
        if error is not None:
            self._failed(change, error)
            return
        with self.state.transaction() as txn:
            txn.set_attrs(change.desired)
            if obs is not None:
                txn.observe(change.address, obs)
                txn.set_lifecycle(change.address, {**change.desired.lifecycle, "closed": True})
        self.counts["update"] += 1
        self.touched.append(change.address)
        self.emit(ResourceDone(change.address, "update", obs.status if obs else "updated"))

    def _failed(self, change: Change, error: BaseException) -> None:
        message = error.message if isinstance(error, RunnerError) else str(error)
        self.counts["failed"] += 1
        self.failures.append(f"{change.address}: {message}")
        self.emit(ResourceFailed(change.address, change.action, message))

    def _each(
        self, changes: list[Change], call: Callable[[Change], Any]
    ) -> list[tuple[Change, Any, BaseException | None]]:
        """Run a call per change in parallel (calls that create nothing need no intent)."""
        futures = [(c, self._pool.submit(call, c)) for c in changes]
        return [(c, None if f.exception() else f.result(), f.exception()) for c, f in futures]

    # phase: close sessions whose jobs are all submitted --------------------------------------------
    def _closes(self) -> None:
        """Close sessions once their jobs are in: new ones, and existing open ones that got jobs now."""
        fed = {
            c.desired.parent for c in self.plan.changes if c.desired and c.desired.parent and c.address in self.touched
        }
        sessions = [
            c
            for c in self.plan.changes
            if c.kind == "session"
            and c.desired
            and not c.desired.lifecycle.get("keep_open")
            and (
                (c.action in ("create", "replace") and c.address in self.refs)
                or (c.action == "noop" and c.address in fed)
            )
            and not self._closed(c.address)
        ]
        for change in sessions:
            self.refs.setdefault(change.address, self._ref(change.address))
        failed = {c.address for c in sessions if self._session_failed(c.address)}

        def close(change: Change) -> Observation | None:
            assert change.desired is not None
            if change.address in failed:
                return None
            return self.provider(change.desired.target).close(self.refs[change.address])

        for change, obs, error in self._each(sessions, close):
            if error is not None:
                self._failed(change, error)
                continue
            with self.state.transaction() as txn:
                if obs is not None:
                    txn.observe(change.address, obs)
                txn.set_lifecycle(change.address, {"keep_open": False, "closed": True})
            if obs is not None:
                self.emit(ResourceDone(change.address, "close", obs.status))

    def _closed(self, address: str) -> bool:
        rec = self.state.resource(address)
        return rec is not None and bool(rec.lifecycle.get("closed"))

    def _session_failed(self, address: str) -> bool:
        rec = self.state.resource(address)
        return rec is not None and rec.status == FAILED

    # phase: deletes -----------------------------------------------------------------------------
    def _deletes(self) -> None:
        deletes = [c for c in self.changes if c.action == "delete"]
        dying_batches = {c.address for c in deletes if c.kind == "batch"}
        order = {"batch_job": 0, "job": 1, "workload": 1, "session": 2, "batch": 2}
        deletes.sort(key=lambda c: (order.get(c.kind, 3), c.address))
        for rank in sorted({order.get(c.kind, 3) for c in deletes}):
            group = [c for c in deletes if order.get(c.kind, 3) == rank]
            cancels = [
                c for c in group if c.details.get("cancel") and not (c.recorded and c.recorded.parent in dying_batches)
            ]

            def cancel(change: Change) -> Observation:
                rec = change.recorded
                assert rec is not None and rec.remote_id is not None
                ref = RemoteRef(rec.kind, rec.remote_id, rec.detail.get("parent_id"))
                provider = self.provider(rec.target) if rec.target in self.expansion.targets else None
                if provider is None:
                    raise RunnerError(f"target '{rec.target}' is no longer in the manifest; cannot cancel")
                return provider.cancel(ref)

            results = {c.address: (obs, err) for c, obs, err in self._each(cancels, cancel)}
            for change in group:
                obs, error = results.get(change.address, (None, None))
                if error is not None:
                    self._failed(change, error)
                    continue
                with self.state.transaction() as txn:
                    txn.forget(change.address, "deleted: not in the manifest")
                self.counts["delete"] += 1
                self.touched.append(change.address)
                self.emit(ResourceDone(change.address, "delete", obs.status if obs else "forgotten"))

    # phase: superseded generations --------------------------------------------------------------
    def _supersede(self) -> None:
        stale = [
            c
            for c in self.changes
            if c.action == "replace"
            and c.recorded
            and c.recorded.remote_id
            and c.recorded.status not in TERMINAL
            and c.address in self.refs
        ]

        def retire(change: Change) -> Observation:
            rec = change.recorded
            assert rec is not None and rec.remote_id is not None and change.desired is not None
            provider = self.provider(rec.target if rec.target in self.expansion.targets else change.desired.target)
            ref = RemoteRef(rec.kind, rec.remote_id)
            return provider.close(ref) if rec.kind == "session" else provider.cancel(ref)

        for change, obs, error in self._each(stale, retire):
            old = change.recorded.generation if change.recorded else 0
            if error is not None:
                self.emit(Notice(f"{change.address}: could not stop replaced generation {old}: {error}", "warning"))
            elif obs is not None:
                with self.state.transaction() as txn:
                    txn.observe_generation(change.address, old, obs)
                self.emit(Notice(f"{change.address}: stopped replaced generation {old} ({obs.status})"))
