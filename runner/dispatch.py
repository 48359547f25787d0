"""Parallel provider calls with write-ahead bookkeeping on the main thread.

Intents for a chunk of operations are committed in one transaction *before* any of those calls
starts; outcomes are committed as they arrive, several per transaction when they arrive
together. Provider calls run in worker threads; only the main thread touches the state file.
Operations in the same lane run one after another (jobs of an abort-policy session), and a
lane can be dropped when an earlier operation in it makes the rest pointless.
"""

from __future__ import annotations

import threading
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
) -> list[T]:
    """Run everything in lanes; returns the operations never started because stop was set."""
    inflight: dict[Future[Any], T] = {}
    while True:
        if not stop.is_set():
            chunk = lanes.take(window - len(inflight))
            if chunk:
                before(chunk)  # intents committed before any of these calls leave the process
                inflight.update({pool.submit(call, item): item for item in chunk})
        if not inflight:
            break
        done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in done:
            item = inflight.pop(future)
            lanes.release(item)
            error = future.exception()
            outcomes.append(Outcome(item, None if error else future.result(), error))
        if outcomes:
            after(outcomes)
        if lanes.empty() and not inflight:
            break
    return lanes.remaining()
