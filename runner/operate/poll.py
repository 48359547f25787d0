"""Refresh and wait: one polling mechanism over every provider.

A cycle observes the resources that can still change (finished ones never do, so a state of
10,000 finished jobs costs no request), grouped per target so each provider can use its list
and filter calls, and records what changed in one transaction under a short lease. Then it
fetches the results of jobs that finished and have none in the state yet (a result is kept
with its digest, so nothing is fetched twice), on a bounded pool of worker threads with a
limit per target (the provider's own rate limiter still paces its requests), recording them
in batches as they arrive: a wait interrupted halfway keeps every result it had.

`wait` repeats cycles with exponential back-off and jitter, always bounded by its timeout; a
status the provider reports but runner does not know is surfaced and not waited on.
"""

from __future__ import annotations

import contextvars
import functools
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any

from runner.domain import address as addresses
from runner.domain.events import Emit, Notice, StatusChanged
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import CONTAINERS, RESULT_KINDS, SUCCEEDED, TERMINAL, UNKNOWN
from runner.errors import ProviderError, RunnerError, TimedOutError
from runner.providers import http
from runner.providers.base import CancelsIndex, Provider
from runner.providers.pool import ProviderPool
from runner.state import Store

Row = dict[str, Any]  # a tracked resource as the state lists it
# Result downloads in flight at once: the official SDKs' users run 16-thread pools, and a cycle
# of 1,000 results one at a time took 92 s against the SDK's 5.1 s (Azure emulator, 2 cores).
PARALLELISM = 16
FLUSH_EVERY_S = 0.5  # results arriving within this long share one transaction
FLUSH_AT = 500  # ... and at most this many


def stays_open(row: Row) -> bool:
    """A session declared keep_open or a batch declared open, not yet closed: it finishes only once closed."""
    lifecycle = row.get("lifecycle") or {}
    meant = lifecycle.get("keep_open") if row["kind"] == "session" else lifecycle.get("open")
    return row["kind"] in CONTAINERS and bool(meant) and not lifecycle.get("closed")


@dataclass
class Cycle:
    """What one refresh cycle saw."""

    observed: int = 0
    changed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: dict[str, str] = field(default_factory=dict)  # every selected address, as of this cycle


class Poller:
    """Observes tracked resources through their providers and records what changed."""

    def __init__(
        self,
        state: Store,
        pool: ProviderPool,
        *,
        emit: Emit,
        lock_timeout: float = 0.0,
        parallelism: int = PARALLELISM,
        per_target: int | None = None,
    ) -> None:
        self.state, self.pool, self.emit = state, pool, emit
        self.lock_timeout = lock_timeout
        self.parallelism = max(1, parallelism)
        self.per_target = max(1, per_target or self.parallelism)

    def provider(self, name: str) -> Provider:
        return self.pool.get(name)

    def requests(self) -> int:
        return self.pool.requests()

    def selected(self, patterns: Sequence[str], kinds: Sequence[str] = (), *, open_too: bool = True) -> list[Row]:
        """Tracked resources matching the patterns (all when none), optionally only some kinds.

        Without `open_too`, sessions and batches meant to stay open are left out: they finish only when closed.
        """
        rows = self.state.tracked()
        if patterns:
            chosen = set(addresses.select([r["address"] for r in rows], patterns))
            rows = [r for r in rows if r["address"] in chosen]
        if kinds:
            rows = [r for r in rows if r["kind"] in kinds]
        if not open_too:
            rows = [r for r in rows if not stays_open(r)]
        return rows

    def cycle(self, patterns: Sequence[str] = (), kinds: Sequence[str] = (), *, open_too: bool = True) -> Cycle:
        """Observe what can still change, fetch results of what finished, record it."""
        report = Cycle()
        before = self.requests()
        rows = self.selected(patterns, kinds, open_too=open_too)
        live = [r for r in rows if r["status"] not in TERMINAL]
        seen = self._observe(live, report)
        self._record(live, seen, report)
        missing = [
            r
            for r in rows
            if r["kind"] in RESULT_KINDS
            and not r["has_result"]
            and (seen.get(r["address"], Observation("", r["status"])).status == SUCCEEDED)
        ]
        self._results(missing, report)
        report.statuses = {
            r["address"]: seen[r["address"]].status if r["address"] in seen else r["status"] for r in rows
        }
        report.requests = self.requests() - before
        return report

    def _observe(self, rows: list[dict[str, Any]], report: Cycle) -> dict[str, Observation]:
        by_target: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_target.setdefault(row["target"], []).append(row)
        seen: dict[str, Observation] = {}
        for name, group in sorted(by_target.items()):
            refs = [RemoteRef(r["kind"], r["remote_id"], r["parent_remote_id"]) for r in group]
            try:
                observations = self.provider(name).observe(refs)
            except ProviderError as exc:
                report.errors.append(f"target {name}: {exc.message}")
                continue
            seen.update({r["address"]: o for r, o in zip(group, observations, strict=True)})
            report.observed += len(group)
        return seen

    def _results(self, rows: list[Row], report: Cycle) -> None:
        """Fetch results in parallel (at most `per_target` at once per target), recording them as they arrive."""
        if not rows:
            return
        providers = {name: self.provider(name) for name in sorted({r["target"] for r in rows})}  # built here
        limits = {name: threading.BoundedSemaphore(self.per_target) for name in providers}

        def fetch(row: Row) -> Result | None:
            with limits[row["target"]]:
                ref = RemoteRef(row["kind"], row["remote_id"], row["parent_remote_id"])
                return providers[row["target"]].result(ref)

        # Each target's first result is fetched here, on this thread: reading results may import what the
        # provider parses them with (Superstaq's reads the circuit with qiskit), and qiskit first imported on
        # a short-lived worker thread crashed the process (seen with qiskit 2.6 in `runner wait`).
        firsts = {row["target"]: row for row in reversed(rows)}
        arrived: list[tuple[Row, Result]] = []
        for row in firsts.values():
            self._take(row, functools.partial(fetch, row), arrived, report)
        rest = [row for row in rows if firsts[row["target"]] is not row]
        if not rest:
            self._keep(arrived)
            return
        oldest = time.monotonic()
        with ThreadPoolExecutor(min(self.parallelism, len(rest)), thread_name_prefix="runner-results") as workers:
            # each call runs in a copy of this context, so wait's deadline bounds the workers' requests too
            inflight: dict[Future[Result | None], Row] = {
                workers.submit(contextvars.copy_context().run, fetch, row): row for row in rest
            }
            while inflight:
                timeout = None if not arrived else max(0.0, oldest + FLUSH_EVERY_S - time.monotonic())
                done, _ = wait_for(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    row = inflight.pop(future)
                    oldest = oldest if arrived else time.monotonic()
                    self._take(row, future.result, arrived, report)
                if arrived and (not inflight or len(arrived) >= FLUSH_AT or time.monotonic() - oldest >= FLUSH_EVERY_S):
                    self._keep(arrived)
                    arrived = []

    @staticmethod
    def _take(row: Row, outcome: Callable[[], Result | None], arrived: list[tuple[Row, Result]], report: Cycle) -> None:
        """A fetched result into `arrived`, or its error into the report."""
        try:
            result = outcome()
        except ProviderError as exc:
            report.errors.append(f"{row['address']}: results: {exc.message}")
            return
        if result is not None:
            arrived.append((row, result))

    def _keep(self, arrived: list[tuple[Row, Result]]) -> None:
        if not arrived:
            return
        with self.state.lease("refresh", self.lock_timeout), self.state.transaction() as txn:
            for row, result in arrived:
                txn.record_result(row["address"], row["generation"], result)

    def _record(self, live: list[Row], seen: dict[str, Observation], report: Cycle) -> None:
        changes = [
            (r, seen[r["address"]]) for r in live if r["address"] in seen and seen[r["address"]].status != r["status"]
        ]
        if changes:
            with self.state.lease("refresh", self.lock_timeout), self.state.transaction() as txn:
                for row, obs in changes:
                    txn.observe(row["address"], obs)
        for row, obs in changes:
            report.changed.append(row["address"])
            self.emit(StatusChanged(row["address"], row["status"], obs.status, obs.raw_status, dict(obs.detail)))
        self._classify(live, seen, report)

    def _classify(self, live: list[dict[str, Any]], seen: dict[str, Observation], report: Cycle) -> None:
        for row in live:
            status = seen[row["address"]].status if row["address"] in seen else row["status"]
            if status == UNKNOWN:
                report.unknown.append(row["address"])
            elif status not in TERMINAL:
                report.pending.append(row["address"])


@dataclass(frozen=True)
class Backoff:
    """Poll intervals: start small, grow by `factor` up to `cap`, with jitter."""

    first: float = 0.5
    factor: float = 1.6
    cap: float = 15.0

    def delays(self, rng: random.Random) -> Any:
        delay = self.first
        while True:
            yield delay * rng.uniform(0.8, 1.2)
            delay = min(self.cap, delay * self.factor)


def wait(
    poller: Poller,
    patterns: Sequence[str],
    timeout: float,
    *,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    progress: Callable[[Cycle], None] | None = None,
) -> Cycle:
    """Cycle until nothing selected can still change, or the timeout passes (then TimedOutError).

    The timeout is a deadline for the whole wait: every request is cut to what is left of it. Without
    patterns it waits for everything applied, sessions and batches included, except those declared to
    stay open (keep_open, open: true), which finish only once closed: name them to wait for them.
    `progress` sees every cycle's report.
    """
    with http.deadline(timeout):
        return _wait(poller, patterns, timeout, backoff, clock, sleep, rng, progress)


def _wait(
    poller: Poller,
    patterns: Sequence[str],
    timeout: float,
    backoff: Backoff | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rng: random.Random | None,
    progress: Callable[[Cycle], None] | None,
) -> Cycle:
    deadline = clock() + timeout
    delays = (backoff or Backoff()).delays(rng or random.Random())
    warned: set[str] = set()
    while True:
        report = poller.cycle(patterns, open_too=bool(patterns))
        if progress is not None:
            progress(report)
        for addr in sorted(set(report.unknown) - warned):
            warned.add(addr)
            poller.emit(
                Notice(f"{addr}: the provider reports a status runner does not know; not waiting for it", "warning")
            )
        if not report.pending:
            return report
        remaining = deadline - clock()
        if remaining <= 0:
            more = f" and {len(report.pending) - 5} more" if len(report.pending) > 5 else ""
            shown = ", ".join(report.pending[:5]) + more
            raise TimedOutError(f"timed out after {timeout:g}s with {len(report.pending)} still running: {shown}")
        sleep(min(next(delays), remaining))


def cancel(
    poller: Poller, patterns: Sequence[str], *, index: int | None = None, allow_protected: bool = False
) -> list[tuple[str, Observation]]:
    """Cancel selected resources that can still run; protected ones only with allow_protected."""
    rows = poller.selected(patterns)
    if not rows:
        raise RunnerError(f"no recorded resource matches {' '.join(patterns)}")
    protected = [r["address"] for r in rows if r["protect"] and not allow_protected]
    if protected:
        raise RunnerError(f"refusing to cancel protected {', '.join(protected)}: name them with --allow-protected")
    done: list[tuple[str, Observation]] = []
    for row in rows:
        if row["status"] in TERMINAL:
            poller.emit(Notice(f"{row['address']}: already {row['status']}; nothing to cancel"))
            continue
        ref = RemoteRef(row["kind"], row["remote_id"], row["parent_remote_id"])
        provider = poller.provider(row["target"])
        if index is not None:
            if not isinstance(provider, CancelsIndex):
                raise RunnerError(f"{row['address']}: {row['target']} jobs have no sub-job index to cancel")
            obs = provider.cancel_index(ref, index)
        else:
            obs = provider.cancel(ref)
        done.append((row["address"], obs))
    if done:
        by_remote = {r["remote_id"]: r["address"] for r in poller.state.tracked()}
        with poller.state.lease("cancel", poller.lock_timeout), poller.state.transaction() as txn:
            for addr, obs in done:
                txn.observe(addr, obs)
                for child in obs.children:  # cancelling a batch cancels its jobs too
                    if child.remote_id in by_remote:
                        txn.observe(by_remote[child.remote_id], child)
    return done
