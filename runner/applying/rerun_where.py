"""`rerun --where`: rerun the batch jobs a selection picks (Pasqal's RebatchFilters), keeping their lineage.

The selection is asked of the service first, as a job listing with the same filters, so that the
jobs to rerun are known before anything is sent: each gets its intent (a new generation whose
origin names the old one) written first, as every create does, and the rebatch call carries the
user's filters plus those job ids, so the new batch holds exactly the jobs whose intents exist.
Jobs that match but runner does not manage are left out and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runner.domain import address
from runner.domain.query import Query, Selection
from runner.domain.resources import Expansion, Recorded
from runner.errors import NoMatchError, UsageError
from runner.providers.base import Lists, Rebatches
from runner.providers.pool import ProviderPool
from runner.state import Store


@dataclass
class Picked:
    """What a selection picked: managed jobs per batch, and matching jobs runner does not manage."""

    jobs: list[Recorded] = field(default_factory=list)
    unmanaged: list[tuple[str, str]] = field(default_factory=list)  # (batch address, job remote id)
    batches: list[str] = field(default_factory=list)


def batches_of(state: Store, expansion: Expansion, patterns: Sequence[str]) -> list[Recorded]:
    """Recorded batches the patterns name (directly or through their jobs), that the manifest still declares."""
    recorded = state.recorded()
    chosen = address.select(recorded, patterns) if patterns else sorted(recorded)
    names = {recorded[a].parent if recorded[a].kind == "batch_job" else a for a in chosen}
    declared = expansion.by_address()
    return [
        recorded[n]
        for n in sorted(n for n in names if n)
        if n in recorded and recorded[n].kind == "batch" and n in declared and recorded[n].remote_id
    ]


def pick(
    state: Store, expansion: Expansion, pool: ProviderPool, patterns: Sequence[str], selection: Selection
) -> Picked:
    """Ask each selected batch's service which of its jobs the selection matches."""
    batches = batches_of(state, expansion, patterns)
    if not batches:
        raise UsageError(f"--where picks jobs of Pasqal batches: no recorded batch matches {' '.join(patterns)}")
    recorded = state.recorded()
    named = set(address.select(recorded, patterns)) if patterns else None
    found = Picked()
    for batch in batches:
        provider = pool.get(batch.target)
        if not isinstance(provider, Rebatches) or not isinstance(provider, Lists):
            raise UsageError(f"{batch.address}: target '{batch.target}' cannot rerun jobs by filter (no rebatch)")
        query = Query(
            "jobs",
            statuses=selection.statuses,
            ids=selection.ids,
            since=selection.since,
            until=selection.until,
            min_runs=selection.min_runs,
            max_runs=selection.max_runs,
            parent=batch.remote_id,
            limit=None,
        )
        jobs = {r.remote_id: r for r in recorded.values() if r.parent == batch.address and r.kind == "batch_job"}
        for item in provider.list_remote(query).items:
            rec = jobs.get(item.remote_id)
            if rec is None:
                found.unmanaged.append((batch.address, item.remote_id))
            elif named is None or rec.address in named or batch.address in named:
                found.jobs.append(rec)
        found.batches.append(batch.address)
    if not found.jobs:
        where = ", ".join(found.batches)
        more = f" ({len(found.unmanaged)} match but runner does not manage them)" if found.unmanaged else ""
        raise NoMatchError(f"no job of {where} runner manages matches --where {selection.text()}{more}: nothing sent")
    found.jobs.sort(key=lambda r: r.address)
    return found
