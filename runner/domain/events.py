"""What apply (and wait, cancel, refresh) report while they work; runner.render.output renders these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of every event."""

    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class RunStarted(Event):
    operation: str
    changes: int
    state: str


@dataclass(frozen=True)
class ResourceDone(Event):
    """One action on one address finished."""

    address: str
    action: str
    status: str
    remote_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceFailed(Event):
    address: str
    action: str
    error: str


@dataclass(frozen=True)
class ResourceSkipped(Event):
    address: str
    action: str
    reason: str


@dataclass(frozen=True)
class StatusChanged(Event):
    """refresh or wait saw a new status."""

    address: str
    before: str
    after: str
    raw: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice(Event):
    """A sentence the user must read (a failed session, reconciliation findings, ...)."""

    message: str
    level: str = "info"


@dataclass(frozen=True)
class RunFinished(Event):
    operation: str
    outcome: str
    summary: Mapping[str, Any]
    seconds: float


Emit = Callable[[Event], None]  # where a running operation sends its events
