"""What flows between the stages: desired resources (from expand) and recorded ones (from state)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.domain.model import Attrs, Budget, Program, Target
from runner.domain.vocabulary import Kind, Status


@dataclass(frozen=True)
class Desired:
    """One resource as the manifest wants it.

    `spec` is its identity (fingerprinted: a change means a new generation); `attrs` and
    `lifecycle` can change in place.
    """

    address: str
    kind: Kind
    name: str
    target: str
    provider: str
    parent: str | None
    spec: Mapping[str, Any]
    attrs: Attrs
    fingerprint: str
    protect: bool = False
    lifecycle: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    service: str = ""  # where it lives (Target.service()): part of its identity


@dataclass(frozen=True)
class Expansion:
    """Everything expand produces from a manifest: resources plus the programs and targets they use."""

    project: str
    manifest_path: str
    manifest_digest: str
    resources: tuple[Desired, ...]
    programs: Mapping[str, Program]
    targets: Mapping[str, Target]
    budget: Budget | None = None
    moved: Mapping[str, str] = field(default_factory=dict)  # the manifest's `moved` entries: old address -> new

    def by_address(self) -> dict[str, Desired]:
        return {r.address: r for r in self.resources}


@dataclass(frozen=True)
class Recorded:
    """One resource as the state file last recorded it (its current generation)."""

    address: str
    kind: Kind
    target: str
    provider: str
    parent: str | None
    generation: int
    fingerprint: str
    spec: Mapping[str, Any]
    attrs: Attrs
    status: Status
    remote_id: str | None
    protect: bool = False
    lifecycle: Mapping[str, Any] = field(default_factory=dict)
    updated_at: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    service: str = ""  # where it was created ("" when recorded before runner kept this)
