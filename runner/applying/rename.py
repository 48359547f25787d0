"""The first phase of an apply: renames from the manifest's `moved` entries, made in the state alone.

A rename calls no provider: the resource keeps its generation, remote id and results under its new
address (runner.planning.moves says which rows change, the same answer plan showed). Every later
phase then finds the moved resources where the plan's changes name them.
"""

from __future__ import annotations

from runner.applying.run import Run
from runner.domain.events import ResourceDone
from runner.planning import moves


def moves_phase(run: Run) -> None:
    """Rename, in one transaction, every resource the plan moves (and re-parent what belongs to it)."""
    renamed = {c.moved_from: c.address for c in run.changes if c.moved_from}
    if not renamed:
        return
    touched = moves.readdressed(run.store.recorded(), renamed)
    with run.store.transaction() as txn:
        for old, rec in touched.values():
            txn.relocate(old, rec)
    for change in run.changes:
        if change.moved_from and change.action == "move":
            run.counts["move"] += 1
            run.touched.append(change.address)
            run.emit(ResourceDone(change.address, "move", "no provider call", detail={"moved_from": change.moved_from}))
