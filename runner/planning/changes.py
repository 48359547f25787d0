"""The plan -> apply contract: a Plan is a sorted tuple of Changes, each one action on one address.

Everything apply needs to know about a change is a typed field here, so a misspelt flag is a type
error rather than a silently false `.get()`. `flags()` gives the documented JSON `details` object
(docs/plan-format.md), which keeps its keys from format_version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import ACTIONS, Action, Kind


@dataclass(frozen=True)
class Change:
    """One planned action on one address, with its reason and what it needs apply to do."""

    address: str
    kind: Kind
    action: Action
    reason: str
    desired: Desired | None = None
    recorded: Recorded | None = None
    update_attrs: bool = False  # an update that sends tags, metadata or name to the provider
    close: bool = False  # an update that closes the session or batch
    keep_open: bool = False  # an update that only records that the session or batch stays open
    add_jobs: tuple[str, ...] = ()  # an update of an open batch that takes these new jobs in place
    renew: bool = False  # a replace of a closed container: the new generation takes only new children
    cancel: bool = False  # a delete of something still running: cancel it first
    rerun: bool = False  # a replace that reruns a failed generation (`runner rerun`)
    blocked: bool = False  # reconciliation could not settle this address: no action until someone looks
    moved_from: str | None = None  # renamed by a `moved` entry: recorded under this address until apply moves it

    def flags(self) -> dict[str, Any]:
        """The JSON `details` of this change: only the flags that are set, under their documented names."""
        named: dict[str, Any] = {
            "attrs": self.update_attrs,
            "close": self.close,
            "lifecycle": self.keep_open,
            "add_jobs": list(self.add_jobs),
            "renew": self.renew,
            "cancel": self.cancel,
            "rerun": self.rerun,
            "blocked": self.blocked,
            "moved_from": self.moved_from,
        }
        return {k: v for k, v in named.items() if v}


@dataclass(frozen=True)
class Plan:
    """Sorted changes; a value that renders as text or JSON and that apply executes."""

    changes: tuple[Change, ...]
    untargeted: int = 0  # changes left out by --target/--exclude

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def pending(self) -> list[Change]:
        """Changes that do something."""
        return [c for c in self.changes if c.action != "noop"]

    def has_changes(self) -> bool:
        return any(c.action != "noop" for c in self.changes)

    def blocked(self) -> list[Change]:
        """Addresses reconciliation could not settle: no action until someone looks."""
        return [c for c in self.changes if c.blocked]
