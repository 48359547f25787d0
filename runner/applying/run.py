"""What every phase of an apply shares: the typed context of one run, and the small steps they all take."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from runner.domain.events import Emit, ResourceFailed, ResourceSkipped
from runner.domain.remote import RemoteRef
from runner.domain.resources import Desired, Expansion
from runner.errors import LeaseLostError, RunnerError
from runner.planning.changes import Change, Plan
from runner.providers.base import Provider
from runner.providers.pool import ProviderPool
from runner.state import Held, Store

T = TypeVar("T")


@dataclass
class Run:
    """One apply (or destroy, or rerun) in progress: its inputs and what it has done so far.

    Only the main thread touches the store; provider calls run on `executor`'s threads.
    """

    plan: Plan
    expansion: Expansion
    store: Store
    pool: ProviderPool
    emit: Emit
    stop: threading.Event
    executor: ThreadPoolExecutor
    parallelism: int
    operation: str
    lease: Held | None = None  # the state's lease, checked before every call that creates or changes something
    run_id: int = 0
    refs: dict[str, RemoteRef] = field(default_factory=dict)  # remote ids learnt during this run
    failed_containers: dict[str, str] = field(default_factory=dict)  # session/batch address -> why
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)
    snapshots: dict[str, str] = field(default_factory=dict)  # target -> digest of its recorded description

    def __post_init__(self) -> None:
        self.changes = self.plan.pending()
        self.desired: dict[str, Desired] = self.expansion.by_address()  # built once: phases look up parents

    def provider(self, target: str) -> Provider:
        return self.pool.get(target)

    def guard(self) -> None:
        """Refuse to send anything once this process cannot prove it still holds the state's lease."""
        if self.lease is not None and not self.lease.holds():
            raise LeaseLostError(
                "this process can no longer prove it holds the state lock (it was paused, or its heartbeats "
                "stalled): it sends nothing more. Run it again: the next run reconciles what was in flight"
            )

    def ref(self, address: str) -> RemoteRef:
        """Where a resource lives: learnt in this run, else as the store recorded it."""
        if address in self.refs:
            return self.refs[address]
        rec = self.store.resource(address)
        if rec is None or rec.remote_id is None:
            raise RunnerError(f"{address} has no remote id in the state")
        return RemoteRef(rec.kind, rec.remote_id)

    def skip(self, change: Change, reason: str) -> None:
        self.counts["skipped"] += 1
        self.emit(ResourceSkipped(change.address, change.action, reason))

    def failed(self, change: Change, error: BaseException) -> None:
        message = error.message if isinstance(error, RunnerError) else str(error)
        self.counts["failed"] += 1
        self.failures.append(f"{change.address}: {message}")
        self.emit(ResourceFailed(change.address, change.action, message))

    def each(
        self, changes: list[Change], call: Callable[[Change], T]
    ) -> list[tuple[Change, T | None, BaseException | None]]:
        """Run a call per change in parallel (calls that create nothing need no intent)."""
        futures = [(c, self.executor.submit(call, c)) for c in changes]
        return [(c, None if f.exception() else f.result(), f.exception()) for c, f in futures]
