"""The provider interface: what every provider does, the optional capabilities, and what a call carries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from runner.domain.model import Attrs, Program, Target
from runner.domain.query import Listing, Query, RemoteItem, Selection
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import Attribute, Kind


@dataclass(frozen=True)
class ProviderSpec:
    """What a provider supports, used by validation without touching the network."""

    name: str
    kinds: frozenset[Kind]
    default_target: str | None
    required: tuple[str, ...] = ()
    allowed: frozenset[str] = frozenset()
    credentials: tuple[frozenset[str], ...] = ()
    multi_program: bool = False
    description: str = ""
    # per kind, the attributes update() really changes and observe() reads back; any other edit is recorded only
    mutable: Mapping[Kind, frozenset[Attribute]] = field(default_factory=dict)
    # kinds whose find() answers truthfully after a crash; for the others an interrupted create stays unknown
    findable: frozenset[Kind] = frozenset()
    capacity: Callable[[Target], int | None] = lambda target: None
    """Most qubits a program may use on a target (the simulator's limit, a device's published size);
    None where runner knows no limit. Checked by validate, before anything is sent or simulated."""

    def can_change(self, kind: Kind) -> frozenset[Attribute]:
        """The attributes of a `kind` this provider changes in place."""
        return self.mutable.get(kind, frozenset())


@dataclass(frozen=True)
class Submission:
    """One create call: everything a provider needs, nothing it must look up."""

    address: str
    kind: Kind
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
class Context:
    """What a provider instance may use: environment and manifest folder."""

    env: Mapping[str, str]
    base_dir: str


class Provider(Protocol):
    """What every provider does; kinds it does not support raise RejectedError.

    Optional abilities are the capability protocols below: apply, plan and the operations check
    them with isinstance, so a provider that lacks one is never asked for it.
    """

    spec: ProviderSpec

    def create(self, sub: Submission) -> Observation:
        """Create the resource (with its children) and return what the provider reports."""
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

    def requests(self) -> int:
        """How many requests this instance has sent to its service (0 for an in-process provider)."""
        ...

    def shutdown(self) -> None:
        """Release clients and worker pools."""
        ...


@runtime_checkable
class CreatesMany(Protocol):
    """Creates many jobs in one call, cheaper than one call each (the local simulator batches its circuits)."""

    def create_many(self, subs: Sequence[Submission]) -> list[Observation]:
        """One observation per submission, in order; a job that cannot run comes back FAILED, never raised."""
        ...


@runtime_checkable
class Updates(Protocol):
    """Changes in-place attributes (tags, metadata, name) of resources it holds."""

    def update(self, ref: RemoteRef, attrs: Attrs) -> None:
        """Send the new attributes."""
        ...


@runtime_checkable
class Closes(Protocol):
    """Has containers (sessions, batches) that can be closed to further jobs."""

    def close(self, ref: RemoteRef) -> Observation:
        """Close a session or batch so it accepts no more jobs."""
        ...


@runtime_checkable
class AddsJobs(Protocol):
    """Takes new jobs into an open batch."""

    def add_jobs(self, batch: RemoteRef, subs: Sequence[Submission]) -> list[Observation]:
        """Add jobs to an open batch; one observation per submission, in order."""
        ...


@runtime_checkable
class Describes(Protocol):
    """Publishes a description of its target (device specs, availability), kept as provenance."""

    def describe(self) -> dict[str, Any]:
        """What the service says about the target now."""
        ...


@runtime_checkable
class ListsTagged(Protocol):
    """Lists the resources on its target that carry a tag (what `runner import --tag` needs)."""

    def list_tagged(self, tag: str) -> list[Observation]:
        """Observations with detail["name"] set where the service keeps a name."""
        ...


@runtime_checkable
class CancelsIndex(Protocol):
    """Cancels one circuit of a multi-circuit job."""

    def cancel_index(self, ref: RemoteRef, index: int | None) -> Observation:
        """Cancel circuit `index` (all of them with None) and report the job."""
        ...


@runtime_checkable
class Rebatches(Protocol):
    """Reruns jobs of a batch as a new batch that keeps their lineage."""

    def rebatch(self, batch: RemoteRef, filters: Mapping[str, Any]) -> Observation:
        """The new batch, its jobs as children with detail["parent_id"] naming the jobs they rerun."""
        ...


@runtime_checkable
class Lists(Protocol):
    """Lists what the service holds on its target with the service's own filters and pagination."""

    def list_remote(self, query: Query) -> Listing:
        """The newest matches in the query's window; a filter the service lacks is applied here and named in
        Listing.local, one the provider cannot honour at all is a UsageError that says so."""
        ...

    def get_remote(self, ref: RemoteRef) -> RemoteItem | None:
        """One object as the service reports it (cost, usage, creator, times, per-circuit detail), or None."""
        ...


@dataclass(frozen=True)
class Cancelled:
    """What a cancel of many objects in one call did: the ones it cancelled, and why others were not."""

    cancelled: tuple[Observation, ...]
    errors: Mapping[str, str]


@runtime_checkable
class CancelsWhere(Protocol):
    """Cancels the jobs of a batch that match a selection, in one call."""

    def cancel_where(self, batch: RemoteRef, selection: Selection) -> Cancelled:
        """Cancel the batch's jobs the selection picks (the service cancels only those not yet running)."""
        ...


@runtime_checkable
class CancelsMany(Protocol):
    """Cancels many batches in one call."""

    def cancel_many(self, refs: Sequence[RemoteRef]) -> Cancelled:
        """Cancel every batch named; the answer says which could not be and why."""
        ...


@runtime_checkable
class CircuitResults(Protocol):
    """Reports one circuit of a multi-circuit job, with its counts as soon as that circuit has them."""

    def circuit(self, ref: RemoteRef, index: int) -> tuple[Observation, Result | None]:
        """Circuit `index` now (its status; the whole job's in detail["job"]), and its counts once it completed."""
        ...


def first_observation(observations: Sequence[Observation], remote_id: str) -> Observation | None:
    """The observation for one id, if present."""
    return next((o for o in observations if o.remote_id == remote_id), None)
