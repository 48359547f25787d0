"""Selection: --target and --exclude narrow a plan to some addresses (and what those need)."""

from __future__ import annotations

from collections.abc import Collection

from runner.domain import address
from runner.errors import PlanError
from runner.planning.changes import Change, Plan


def narrow(plan: Plan, include: Collection[str] = (), exclude: Collection[str] = ()) -> Plan:
    """Keep the changes --target selects and --exclude does not (patterns: addresses, globs, tag:NAME).

    A kept change brings the parent it needs (a session or batch being created), and a batch
    being created brings its new jobs. Asking for a change whose parent is excluded is an error.
    """
    if not include and not exclude:
        return plan
    by_address = {c.address: c for c in plan.changes}
    keep = {c.address for c in plan.changes if (not include or _chosen(c, include)) and not _chosen(c, exclude)}
    for addr in list(keep):
        wanted = by_address[addr].desired
        parent = wanted.parent if wanted else None
        needed = by_address.get(parent or "")
        if needed is not None and needed.action != "noop" and parent not in keep:
            if _chosen(needed, exclude):
                raise PlanError(f"{addr} needs {parent} ({needed.action}), which --exclude leaves out")
            keep.add(needed.address)
    for change in plan.changes:
        parent = change.desired.parent if change.desired else None
        creating = change.kind == "batch_job" and change.action in ("create", "replace")
        if creating and parent in keep and by_address[parent or ""].action in ("create", "replace"):
            keep.add(change.address)  # a new batch is created with its jobs in one call
    kept = tuple(c for c in plan.changes if c.address in keep)
    left_out = sum(1 for c in plan.changes if c.address not in keep and c.action != "noop")
    return Plan(kept, untargeted=left_out)


def _chosen(change: Change, patterns: Collection[str]) -> bool:
    holder = change.desired or change.recorded
    tags = set(holder.attrs.tags) if holder else set()
    return any(
        p.removeprefix("tag:") in tags if p.startswith("tag:") else address.matches(change.address, p) for p in patterns
    )
