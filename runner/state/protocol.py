"""What the rest of runner may ask of a state, whatever holds it: the `Store` protocol and its values.

A store keeps one project's lineage and serial, its resources by address (current generation),
every generation with its token and provenance, results, write-ahead intents, the history of runs,
the targets' settings and descriptions, and a lease. Readers get values; writers go through one
`Txn` per transaction, which bumps the serial once and stamps every row it touches.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from runner.domain.model import Target
from runner.domain.resources import Recorded
from runner.state.txn import Txn


@dataclass(frozen=True)
class Snapshot:
    """What plan needs from the state: identity, serial and the recorded resources."""

    path: str
    exists: bool
    lineage: str | None
    serial: int
    resources: Mapping[str, Recorded]
    project: str | None = None


@dataclass(frozen=True)
class Holder:
    """Who holds a state's lease, and until when."""

    owner: str
    host: str
    pid: int
    ns: str
    operation: str
    acquired_at: str
    heartbeat_at: str
    expires_at: float
    fence: int

    def describe(self, now: float) -> str:
        left = self.expires_at - now
        expiry = f"lease expires in {left:.0f}s" if left > 0 else "lease expired"
        return f"{self.operation} by {self.owner} (pid {self.pid} on {self.host}, since {self.acquired_at}, {expiry})"


class Held(Protocol):
    """A lease this process holds: released on exit, and checked before anything is sent."""

    owner: str  # who holds it, as the lock conflict message names it: user@host:pid:nonce
    fence: int | None
    took_over: Holder | None
    stale: Holder | None  # the holder taken over, when it may still be alive (its open intents became stale sends)

    def release(self) -> None:
        """Let go (only if it is still ours)."""
        ...

    def holds(self, margin: float | None = None) -> bool:
        """Whether this process can still prove the lease is its own, `margin` seconds ahead.

        Checked right before every provider call that creates or changes something: a process that
        was frozen past its lease (SIGSTOP, a closed laptop, a stalled VM) stops sending.
        """
        ...

    def __enter__(self) -> Held: ...

    def __exit__(self, *exc: object) -> None: ...


class Store(Protocol):
    """One project's state, open for reading and, under its lease, for writing."""

    path: str  # where it lives, as shown to people (a file path, or a URL without its password)
    lineage: str
    writes: dict[str, float]  # transactions, durable ones and seconds spent: for history and benchmarks

    @property
    def project(self) -> str | None:
        """The project this state belongs to (set by its first apply)."""
        ...

    @property
    def serial(self) -> int:
        """Bumped by every transaction that changes what a plan would see."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...

    # reading
    def recorded(self) -> dict[str, Recorded]: ...

    def snapshot(self) -> Snapshot:
        """A consistent read of identity, serial and resources."""
        ...

    def resource(self, address: str) -> Recorded | None: ...

    def changed_since(self, serial: int) -> list[str]:
        """Addresses written after a serial: what made a saved plan stale."""
        ...

    def applies_since(self, serial: int) -> list[dict[str, Any]]: ...

    def generations(self, address: str) -> list[dict[str, Any]]: ...

    def addresses_with_history(self) -> list[str]: ...

    def results(self, address: str | None = None) -> list[dict[str, Any]]:
        """Results of current generations (or of every generation of one address)."""
        ...

    def addresses_with_results(self) -> list[str]:
        """Addresses whose current generation has a result, sorted, without reading the results."""
        ...

    def applies(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent runs, oldest first."""
        ...

    def apply_row(self, run_id: int) -> dict[str, Any] | None: ...

    def targets(self) -> dict[str, tuple[Target, str]]:
        """Recorded target settings and the manifest folder they were declared in."""
        ...

    def snapshot_of(self, key: str) -> dict[str, Any] | None:
        """A stored target description by digest."""
        ...

    def latest_snapshot(self, target: str) -> dict[str, Any] | None:
        """The most recent stored description of a target (what `targets --describe --offline` shows)."""
        ...

    def tracked(self, *, skip_statuses: Collection[str] = ()) -> list[dict[str, Any]]:
        """Current generations with a remote id: what refresh and wait look at."""
        ...

    def open_intents(self) -> list[dict[str, Any]]: ...

    def stale_sends(self) -> list[dict[str, Any]]:
        """Creates a holder that lost its lease alive may still send: tokens the next runs look for."""
        ...

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of the logical contents (not the lease), table by table in key order: what migrate copies."""
        ...

    # writing
    def restore(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Fill a new, empty state with what another one exported (same lineage, serial, history, results)."""
        ...

    def transaction(self, *, bump: bool = True, durable: bool = False) -> AbstractContextManager[Txn]:
        """One write transaction; `durable` ones survive a power cut, not only a killed process."""
        ...

    def checkpoint(self) -> None:
        """Leave storage settled after a run (readers never change its bytes)."""
        ...

    # the lease
    def lease(self, operation: str, timeout: float = 0.0) -> Held:
        """Take the lease, waiting up to `timeout` seconds for a live holder; LockConflictError names it."""
        ...

    def holder(self) -> Holder | None:
        """Who holds the lease now, if anyone."""
        ...

    def force_unlock(self) -> Holder | None:
        """Remove whatever lease is recorded; returns who held it."""
        ...
