"""Waiting for one circuit of a multi-circuit job, as `wait_until_complete(index=...)` does.

Each poll is one request for the job (Superstaq returns every circuit's status with it); the wait
ends when circuit `index` has finished, and its counts come back then, while the job's other
circuits may still run. The state records jobs, not circuits: once the whole job has finished,
one ordinary refresh cycle records it with its results. The timeout is a deadline for every
request and sleep, like `wait`'s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import TERMINAL
from runner.errors import RunnerError, TimedOutError, UsageError
from runner.operate.poll import Backoff, Poller
from runner.providers import http
from runner.providers.base import CircuitResults

MIN_INTERVAL = 0.1  # seconds: a poll interval below this would only hammer the service


@dataclass(frozen=True)
class CircuitWait:
    """What waiting for one circuit found: its status, its counts when it completed, and the job's status."""

    address: str
    index: int
    status: str
    raw_status: str
    result: Result | None
    job_status: str
    statuses: tuple[str, ...]
    polls: int

    def as_json(self) -> dict[str, Any]:
        counts = dict(self.result.counts[0]) if self.result else None
        return {
            "address": self.address,
            "index": self.index,
            "status": self.status,
            "raw_status": self.raw_status,
            "counts": counts,
            "shots": self.result.shots if self.result else None,
            "job_status": self.job_status,
            "statuses": list(self.statuses),
            "polls": self.polls,
        }


class Fixed(Backoff):
    """A fixed poll interval (`--poll-interval`): no growth and no jitter, as the user set it."""

    def delays(self, rng: random.Random) -> Iterator[float]:
        while True:
            yield self.first


def interval(seconds: float | None) -> Backoff | None:
    """The back-off a `--poll-interval` asks for (None: wait's own growing one)."""
    if seconds is None:
        return None
    if seconds < MIN_INTERVAL:
        raise UsageError(f"--poll-interval must be at least {MIN_INTERVAL:g} s (got {seconds:g})")
    return Fixed(first=seconds, factor=1.0, cap=seconds)


def wait_circuit(
    poller: Poller,
    address: str,
    index: int,
    timeout: float,
    *,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> CircuitWait:
    """Poll the job until circuit `index` has finished (TimedOutError at the deadline)."""
    rows = [r for r in poller.state.tracked() if r["address"] == address]
    if not rows:
        raise RunnerError(f"{address} is not a submitted resource in the state; `runner status` lists them")
    row = rows[0]
    provider = poller.provider(row["target"])
    if row["kind"] != "job" or not isinstance(provider, CircuitResults):
        raise UsageError(f"{address}: --index waits for one circuit of a multi-circuit job (Superstaq jobs)")
    ref = RemoteRef("job", row["remote_id"], row["parent_remote_id"])
    with http.deadline(timeout):
        return _poll(poller, provider, ref, address, index, timeout, backoff or Backoff(), clock, sleep)


def _poll(
    poller: Poller,
    provider: CircuitResults,
    ref: RemoteRef,
    address: str,
    index: int,
    timeout: float,
    backoff: Backoff,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> CircuitWait:
    deadline, delays, polls = clock() + timeout, backoff.delays(random.Random()), 0
    while True:
        seen, counts = provider.circuit(ref, index)
        polls += 1
        if seen.detail.get("missing"):
            raise RunnerError(f"{address}: the service no longer knows job {ref.remote_id}")
        if seen.status in TERMINAL:
            return _finished(poller, address, index, seen, counts, polls)
        remaining = deadline - clock()
        if remaining <= 0:
            raise TimedOutError(f"timed out after {timeout:g}s: {address} circuit {index} is {seen.raw_status}")
        sleep(min(next(delays), remaining))


def _finished(
    poller: Poller, address: str, index: int, seen: Observation, counts: Result | None, polls: int
) -> CircuitWait:
    job = seen.detail.get("job") or {}
    if job.get("status") in TERMINAL:
        poller.cycle([address])  # the whole job has ended: record it and its results as refresh would
    statuses = tuple(str(s) for s in seen.detail.get("statuses") or ())
    return CircuitWait(
        address, index, seen.status, seen.raw_status, counts, str(job.get("status", "")), statuses, polls
    )
