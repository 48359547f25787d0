"""What runner knows of a remote resource: where it lives, how it was last seen, what it measured.

These values cross the provider interface and are recorded in the state, so they belong to
neither side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.domain.vocabulary import TERMINAL, Kind, Status


@dataclass(frozen=True)
class RemoteRef:
    """Where a resource lives remotely: its id and, for jobs in a container, the parent's id."""

    kind: Kind
    remote_id: str
    parent_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


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
    status: Status
    raw_status: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    result: Result | None = None
    children: tuple[Observation, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL
