"""Moving a project's state between stores (`runner state migrate`), checked by a digest of its contents.

The copy keeps the lineage (client tokens are derived from it: a new lineage would make every
open intent unrecognisable), the serial, every generation, result, intent and run. The digest
is over the logical rows, so a file and a database holding the same state give the same one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import LockConflictError, StateError
from runner.state import exists, is_postgres, open_store, with_project
from runner.state.codec import dumps
from runner.state.location import parse
from runner.state.protocol import Store


def digest(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """sha256 of the canonical JSON of every table's rows, in key order."""
    return "sha256:" + hashlib.sha256(dumps({k: [dict(r) for r in v] for k, v in tables.items()}).encode()).hexdigest()


@dataclass(frozen=True)
class Moved:
    """What a migration copied and the digest both sides agree on."""

    source: str
    destination: str
    project: str | None
    counts: dict[str, int]
    digest: str

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "project": self.project,
            "rows": self.counts,
            "digest": self.digest,
        }


def migrate(source: str, destination: str) -> Moved:
    """Copy the state at `source` into a new state at `destination`; the source is only read."""
    with open_store(source) as src:
        holder = src.holder()
        if holder is not None and holder.expires_at > time.time():
            raise LockConflictError(
                f"{src.path} is locked: {holder.describe(time.time())}. Migrate once no run holds it"
            )
        tables = src.export()
        project, shown = src.project, src.path
    before = digest(tables)
    target = with_project(destination, project)
    if exists(target):
        raise StateError(f"{target} already holds a state; runner will not overwrite it (choose a new location)")
    named = parse(target).project if is_postgres(target) else None
    if project is not None and named not in (None, project):
        raise StateError(f"{shown} holds project '{project}': give the destination ?project={project} or none")
    with open_store(target, create=True) as dst:
        dst.restore(tables)
        after = digest(dst.export())
        where = dst.path
    if after != before:
        raise StateError(
            f"the copy at {where} does not match {shown} (digest {after} != {before}); do not use it, remove it"
        )
    return Moved(shown, where, project, {k: len(v) for k, v in tables.items() if k != "meta"}, before)


def verify(store: Store) -> str:
    """The digest of a store's logical contents (what migrate prints for both sides)."""
    return digest(store.export())
