"""The one provider interface and the value objects that cross it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from runner.domain.model import Attrs, Program, Target

# Our own status vocabulary; providers map theirs onto it and keep the raw text too.
PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED = "pending", "running", "succeeded", "failed", "cancelled"
TIMED_OUT, UNKNOWN, SUBMITTING, SUBMIT_FAILED = "timed_out", "unknown", "submitting", "submit_failed"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})


@dataclass(frozen=True)
class ProviderSpec:
    """What a provider supports, used by validation without touching the network."""

    name: str
    kinds: frozenset[str]
    default_target: str | None
    required: tuple[str, ...] = ()
    allowed: frozenset[str] = frozenset()
    credentials: tuple[frozenset[str], ...] = ()
    multi_program: bool = False
    description: str = ""
    capacity: Callable[[Target], int | None] = lambda target: None
    """Most qubits a program may use on a target (the simulator's limit, a device's published size);
    None where runner knows no limit. Checked by validate, before anything is sent or simulated."""


@dataclass(frozen=True)
class RemoteRef:
    """Where a resource lives remotely: its id and, for jobs in a container, the parent's id."""

    kind: str
    remote_id: str
    parent_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """One create call: everything a provider needs, nothing it must look up."""

    address: str
    kind: str
    generation: int
    token: str
    fingerprint: str
    spec: Mapping[str, Any]
    attrs: Attrs
    programs: tuple[Program, ...] = ()
    parent: RemoteRef | None = None
    children: tuple[Submission, ...] = ()
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"open": True} for a batch


@dataclass(frozen=True)
class Result:
    """Measured outcome: counts per circuit plus how they were produced."""

    counts: tuple[Mapping[str, int], ...]
    shots: int
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """A resource's remote state as last seen."""

    remote_id: str
    status: str
    raw_status: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    result: Result | None = None
    children: tuple[Observation, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Context:
    """What a provider instance may use: environment and manifest folder."""

    env: Mapping[str, str]
    base_dir: str


class Provider(Protocol):
    """Every provider implements these; kinds it does not support raise RejectedError."""

    spec: ProviderSpec

    def create(self, sub: Submission) -> Observation:
        """Create the resource (with its children) and return what the provider reports."""
        ...

    def add_jobs(self, batch: RemoteRef, subs: Sequence[Submission]) -> list[Observation]:
        """Add jobs to an open batch; one observation per submission, in order."""
        ...

    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        """Current state of many resources, with as few calls as the API allows.

        One observation per ref, in the same order; a resource the provider no longer knows
        comes back with status UNKNOWN and detail {"missing": True}, never as an exception.
        """
        ...

    def result(self, ref: RemoteRef) -> Result | None:
        """Counts of a finished job (None while it has none)."""
        ...

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        """Remote resources created for this submission's token (for reconciliation).

        `since` is when the intent was written (epoch seconds), for providers that can only
        match by submission time.
        """
        ...

    def cancel(self, ref: RemoteRef) -> Observation:
        """Cancel a resource that may still be running."""
        ...

    def update(self, ref: RemoteRef, attrs: Attrs) -> None:
        """Change in-place attributes (tags, metadata, name)."""
        ...

    def close(self, ref: RemoteRef) -> Observation:
        """Close a session or batch so it accepts no more jobs."""
        ...

    def shutdown(self) -> None:
        """Release clients and worker pools."""
        ...


def first_observation(observations: Sequence[Observation], remote_id: str) -> Observation | None:
    """The observation for one id, if present."""
    return next((o for o in observations if o.remote_id == remote_id), None)
