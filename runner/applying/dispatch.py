"""Parallel provider calls with write-ahead bookkeeping on the main thread.

Intents for a chunk of operations are committed in one transaction *before* any of those calls
starts; outcomes are committed as they arrive, several per transaction when they arrive
together. Provider calls run in worker threads; only the main thread touches the state file.
Operations in the same lane run one after another (jobs of an abort-policy session), and a
lane can be dropped when an earlier operation in it makes the rest pointless.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """An operation and what its call returned or raised."""

    item: T
    value: Any = None
    error: BaseException | None = None


class Lanes(Generic[T]):
    """Work queues: the free lane runs in parallel, named lanes one operation at a time."""

    def __init__(self, items: Iterable[T], lane_of: Callable[[T], str | None]) -> None:
        self.free: deque[T] = deque()
        self.named: OrderedDict[str, deque[T]] = OrderedDict()
        self.busy: set[str] = set()
        self.lane_of = lane_of
        for item in items:
            lane = lane_of(item)
            if lane is None:
                self.free.append(item)
            else:
                self.named.setdefault(lane, deque()).append(item)

    def take(self, n: int) -> list[T]:
        taken: list[T] = []
        for lane, queue in self.named.items():
            if len(taken) >= n:
                break
            if lane not in self.busy and queue:
                taken.append(queue.popleft())
                self.busy.add(lane)
        while self.free and len(taken) < n:
            taken.append(self.free.popleft())
        return taken

    def ready(self) -> bool:
        """Whether a named lane has an operation waiting that could start now."""
        return any(queue and lane not in self.busy for lane, queue in self.named.items())

    def take_possible(self) -> bool:
        """Whether take() would return anything."""
        return bool(self.free) or self.ready()

    def release(self, item: T) -> None:
        lane = self.lane_of(item)
        if lane is not None:
            self.busy.discard(lane)

    def drop(self, lane: str) -> list[T]:
        """Remove what is still queued in a lane."""
        queue = self.named.get(lane, deque())
        dropped = list(queue)
        queue.clear()
        return dropped

    def remaining(self) -> list[T]:
        out = list(self.free)
        for queue in self.named.values():
            out.extend(queue)
        return out

    def empty(self) -> bool:
        return not self.free and not any(self.named.values())


def run(
    lanes: Lanes[T],
    call: Callable[[T], Any],
    before: Callable[[list[T]], None],
    after: Callable[[list[Outcome[T]]], None],
    *,
    pool: ThreadPoolExecutor,
    window: int,
    stop: threading.Event,
    linger: float = 0.05,
) -> list[T]:
    """Run everything in lanes; returns the operations never started because stop was set.

    The window refills only once it has drained to half (or a lane-bound operation is waiting),
    so each durable intent transaction covers many operations rather than one. Outcomes are
    committed together: before every refill, when nothing is left in flight, on stop, and at the
    latest `linger` seconds after the oldest uncommitted one arrived (an outcome not yet committed
    is still covered by its intent, which reconciliation resolves after a crash).
    """
    inflight: dict[Future[Any], T] = {}
    pending: list[Outcome[T]] = []
    oldest = 0.0
    low = window // 2

    def flush() -> None:
        if pending:
            after(list(pending))
            pending.clear()

    while True:
        if not stop.is_set() and (len(inflight) <= low or lanes.ready()):
            flush()  # what the outcomes decide (a dropped lane, say) holds before the next chunk
            chunk = [] if stop.is_set() else lanes.take(window - len(inflight))
            if chunk:
                before(chunk)  # intents committed before any of these calls leave the process
                inflight.update({pool.submit(call, item): item for item in chunk})
        if not inflight:
            flush()
            if lanes.empty() or stop.is_set() or not lanes.take_possible():
                break
            continue
        timeout = 0.5 if not pending else max(0.0, oldest + linger - time.monotonic())
        done, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            item = inflight.pop(future)
            lanes.release(item)
            error = future.exception()
            if not pending:
                oldest = time.monotonic()
            pending.append(Outcome(item, None if error else future.result(), error))
        if pending and (stop.is_set() or not inflight or time.monotonic() - oldest >= linger):
            flush()
    return lanes.remaining()
