"""Reruns of failed jobs, and destroy.

`rerun --failed`: Pasqal batch jobs go through the provider's rebatch (a new batch whose jobs keep
their parent lineage); everything else becomes a new generation of its address through an
ordinary apply. Either way each rerun is a new generation whose origin names the failed one,
with its intent written before the call, so a crash mid-rerun is reconciled like any create.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.applying.execute import Report, execute
from runner.domain import address, token
from runner.domain.events import Emit, Notice, ResourceDone, ResourceFailed
from runner.domain.remote import RemoteRef
from runner.domain.resources import Desired, Expansion, Recorded
from runner.domain.vocabulary import FAILED, SUBMIT_FAILED, SUBMITTING
from runner.errors import LeaseLostError, ProviderError, RunnerError
from runner.planning.changes import Change, Plan
from runner.providers.base import Rebatches
from runner.providers.pool import ProviderPool
from runner.state import Held, Store

RERUNNABLE = ("job", "batch_job", "workload")
UNSENT = (SUBMITTING, SUBMIT_FAILED)


def failed(state: Store, expansion: Expansion, patterns: Sequence[str]) -> list[Recorded]:
    """What to rerun (matching the patterns, still declared): failed resources, and reruns an earlier run left
    unfinished (killed after their intents, and found absent by reconciliation), which are sent again as they were.
    """
    recorded = state.recorded()
    chosen = address.select(recorded, patterns) if patterns else sorted(recorded)
    desired = expansion.by_address()
    out = []
    for a in chosen:
        rec = recorded[a]
        if rec.kind not in RERUNNABLE or a not in desired:
            continue
        if rec.status == FAILED or (rec.status in UNSENT and interrupted_rerun(state, rec)):
            out.append(rec)
    return out


def interrupted_rerun(state: Store, rec: Recorded) -> dict[str, Any] | None:
    """The origin of a rerun generation that was never sent (or whose sending was refused), if `rec` is one."""
    gen = next((g for g in state.generations(rec.address) if g["generation"] == rec.generation), None)
    origin = (gen or {}).get("origin") or {}
    return dict(origin) if origin.get("rerun_of") is not None else None


def split(items: list[Recorded], pool: ProviderPool) -> tuple[list[Recorded], list[Recorded]]:
    """(batch jobs whose provider rebatches them; the rest, rerun as new generations)."""
    rebatched = [r for r in items if r.kind == "batch_job" and isinstance(pool.get(r.target), Rebatches)]
    return rebatched, [r for r in items if r not in rebatched]


def as_plan(items: list[Recorded], expansion: Expansion) -> Plan:
    desired = expansion.by_address()
    return Plan(tuple(_change(r, desired[r.address]) for r in items))


def _change(rec: Recorded, desired: Desired) -> Change:
    if rec.status in UNSENT:  # the same generation and token: nothing of it reached the provider
        why = f"the interrupted rerun (generation {rec.generation}) was never sent: sending it now"
        return Change(rec.address, rec.kind, "create", why, desired, rec, rerun=True)
    return Change(
        rec.address, rec.kind, "replace", f"rerun of failed generation {rec.generation}", desired, rec, rerun=True
    )


class Rebatcher:
    """Reruns failed batch jobs through their provider's rebatch, one call per batch."""

    what = "failed job(s)"  # how the notice names the jobs rerun

    def __init__(self, state: Store, pool: ProviderPool, emit: Emit, run_id: int, lease: Held | None = None) -> None:
        self.state, self.pool, self.emit, self.run_id, self.lease = state, pool, emit, run_id, lease
        self.count = 0
        self.failures: list[str] = []

    def run(self, items: list[Recorded]) -> None:
        by_batch: dict[str, list[Recorded]] = {}
        for rec in items:
            by_batch.setdefault(rec.parent or "", []).append(rec)
        for batch_address, jobs in sorted(by_batch.items()):
            self._one(batch_address, jobs)

    def _one(self, batch_address: str, jobs: list[Recorded]) -> None:
        batch = self.state.resource(batch_address)
        if batch is None or batch.remote_id is None:
            raise RunnerError(f"{batch_address} has no remote id: cannot rebatch its jobs")
        batch_token = next(
            g["token"] for g in self.state.generations(batch_address) if g["generation"] == batch.generation
        )
        planned = self._intents(batch, batch_token, jobs)
        provider = self.pool.get(batch.target)
        if not isinstance(provider, Rebatches):
            raise RunnerError(f"{batch_address}: target '{batch.target}' cannot rebatch")
        if self.lease is not None and not self.lease.holds():
            raise LeaseLostError(f"{batch_address}: this process can no longer prove it holds the state lock; not sent")
        try:
            new = provider.rebatch(RemoteRef("batch", batch.remote_id), {"id": [source for _, _, _, source in planned]})
        except ProviderError as exc:
            self.failures.append(f"{batch_address}: rebatch failed: {exc.message}")
            self.emit(ResourceFailed(batch_address, "rerun", exc.message))
            return  # intents stay open: the next plan reconciles them by lineage
        copies = {c.detail.get("parent_id"): c for c in new.children}
        with self.state.transaction() as txn:
            for rec, generation, intent, source in planned:
                copy = copies.get(source)
                if copy is None:
                    continue
                txn.succeed(rec.address, generation, copy, intent, {"apply": self.run_id}, new.remote_id)
                self.count += 1
        for rec, _, _, source in planned:
            copy = copies.get(source)
            self.emit(
                ResourceDone(rec.address, "rerun", copy.status if copy else "missing", copy.remote_id if copy else None)
            )
        self.emit(
            Notice(
                f"{batch_address}: rebatched {len(copies)} {self.what} as batch {new.remote_id} "
                f"(parent {batch.remote_id})"
            )
        )

    def _intents(
        self, batch: Recorded, batch_token: str, jobs: list[Recorded]
    ) -> list[tuple[Recorded, int, int, str | None]]:
        """Intents for the rerun of each job: (job, generation, intent id, the failed job's remote id)."""
        planned = []
        with self.state.transaction() as txn:
            for rec in jobs:
                unsent = interrupted_rerun(self.state, rec) if rec.status in UNSENT else None
                if unsent is not None:  # sent again as it was: same generation, same token, same failed job
                    generation, source, failed_gen = rec.generation, unsent.get("parent_job"), unsent["rerun_of"]
                else:
                    generation, source, failed_gen = rec.generation + 1, rec.remote_id, rec.generation
                desired = Desired(
                    rec.address,
                    rec.kind,
                    rec.address,
                    rec.target,
                    rec.provider,
                    rec.parent,
                    rec.spec,
                    rec.attrs,
                    rec.fingerprint,
                    rec.protect,
                    rec.lifecycle,
                    service=rec.service,
                )
                origin = {
                    "rerun_of": failed_gen,
                    "rebatch_of": batch.remote_id,
                    "parent_job": source,
                    "batch_tag": f"runner-token:{batch_token}",
                }
                tok = token.make(self.state.lineage, rec.address, rec.fingerprint, generation)
                intent = txn.start(desired, generation, tok, self.run_id, None, operation="rebatch", origin=origin)
                if unsent is None:
                    txn.retire(rec.address, rec.generation, f"rerun as generation {generation} (rebatch)")
                planned.append((rec, generation, intent, source))
        return planned


def rerun_new_generations(
    items: list[Recorded],
    expansion: Expansion,
    state: Store,
    pool: ProviderPool,
    *,
    emit: Emit,
    info: Mapping[str, Any],
    parallelism: int,
    lease: Held | None = None,
) -> Report:
    return execute(
        as_plan(items, expansion),
        expansion,
        state,
        pool,
        emit=emit,
        info=info,
        parallelism=parallelism,
        operation="rerun",
        lease=lease,
    )
