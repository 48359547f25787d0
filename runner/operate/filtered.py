"""Cancels that one call does for many objects: a batch's jobs picked by a filter, or many batches at once.

`cancel ADDRESS --where ...` sends one Pasqal `cancel_jobs` per batch with the selection as its
CancelJobFilters; `cancel` of several batches on one Pasqal target sends one `cancel_batches`.
What the service reports is recorded for every managed object it names; a filter that matched
nothing raises NoMatchError (exit 8) and records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.domain.events import Notice
from runner.domain.query import Selection
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import TERMINAL
from runner.errors import NoMatchError, RunnerError, UsageError
from runner.operate.poll import Poller, Row
from runner.providers.base import Cancelled, CancelsMany, CancelsWhere


@dataclass
class BatchCancel:
    """What a filtered cancel did to one batch's jobs."""

    batch: str
    cancelled: list[tuple[str | None, Observation]] = field(default_factory=list)  # (managing address, job)
    refused: dict[str, str] = field(default_factory=dict)  # job id -> why the service did not cancel it

    def as_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "cancelled": [
                {"address": a, "remote_id": o.remote_id, "status": o.status, "raw_status": o.raw_status}
                for a, o in self.cancelled
            ],
            "refused": dict(self.refused),
        }


def refuse_protected(rows: Sequence[Row], allow_protected: bool) -> None:
    protected = [r["address"] for r in rows if r["protect"] and not allow_protected]
    if protected:
        raise RunnerError(f"refusing to cancel protected {', '.join(protected)}: name them with --allow-protected")


def cancel_where(
    poller: Poller, patterns: Sequence[str], selection: Selection, *, allow_protected: bool = False
) -> list[BatchCancel]:
    """Cancel the jobs the selection picks in each selected batch, one call per batch."""
    rows = [r for r in poller.selected(patterns) if r["kind"] == "batch"]
    if not rows:
        raise RunnerError(f"--where picks jobs of batches: no recorded batch matches {' '.join(patterns)}")
    refuse_protected(rows, allow_protected)
    managed = {r["remote_id"]: r["address"] for r in poller.state.tracked()}
    pending_only = selection.statuses == ("PENDING",)
    done: list[BatchCancel] = []
    for row in rows:
        provider = poller.provider(row["target"])
        if not isinstance(provider, CancelsWhere):
            raise UsageError(f"{row['address']}: target '{row['target']}' cannot cancel a batch's jobs by filter")
        answer = provider.cancel_where(RemoteRef("batch", row["remote_id"]), selection)
        refused = {} if pending_only else dict(answer.errors)  # status=PENDING: the others did not match
        done.append(BatchCancel(row["address"], [(managed.get(o.remote_id), o) for o in answer.cancelled], refused))
    if not any(b.cancelled or b.refused for b in done):
        batches = ", ".join(r["address"] for r in rows)
        raise NoMatchError(f"no job of {batches} matches --where {selection.text()}: nothing was cancelled")
    _record(poller, [(a, o) for b in done for a, o in b.cancelled if a is not None])
    return done


def cancel_many(poller: Poller, rows: Sequence[Row]) -> tuple[list[tuple[str, Observation]], set[str]]:
    """Cancel live batches in one call per target that has the call; (what each reported, addresses handled).

    A target with a single live batch is left to the ordinary cancel. The handled addresses include the
    batches' jobs, which the service reports with them.
    """
    by_target: dict[str, list[Row]] = {}
    for row in rows:
        if row["kind"] == "batch" and row["status"] not in TERMINAL:
            by_target.setdefault(row["target"], []).append(row)
    done: list[tuple[str, Observation]] = []
    handled: set[str] = set()
    for target, group in sorted(by_target.items()):
        provider = poller.provider(target)
        if len(group) < 2 or not isinstance(provider, CancelsMany):
            continue
        answer = provider.cancel_many([RemoteRef("batch", r["remote_id"]) for r in group])
        done += _report(poller, group, answer)
        handled |= {r["address"] for r in group}
    children = {r["address"] for r in rows if any(r["address"].startswith(b + ".") for b in handled)}
    return done, handled | children


def _report(poller: Poller, group: Sequence[Row], answer: Cancelled) -> list[tuple[str, Observation]]:
    by_id = {r["remote_id"]: r["address"] for r in group}
    done = [(by_id[o.remote_id], o) for o in answer.cancelled if o.remote_id in by_id]
    for remote_id, why in sorted(answer.errors.items()):
        poller.emit(Notice(f"{by_id.get(remote_id, remote_id)}: not cancelled: {why}"))
    managed = {r["remote_id"]: r["address"] for r in poller.state.tracked()}
    jobs = [(managed[c.remote_id], c) for _, o in done for c in o.children if c.remote_id in managed]
    _record(poller, [*done, *jobs])
    return done


def _record(poller: Poller, seen: Sequence[tuple[str, Observation]]) -> None:
    if not seen:
        return
    with poller.state.lease("cancel", poller.lock_timeout), poller.state.transaction() as txn:
        for address, obs in seen:
            txn.observe(address, obs)


def selection_of(where: Selection | Sequence[str] | Mapping[str, Any]) -> Selection:
    """A selection from the Python API's forms: a Selection, `--where` clauses, or a mapping of them."""
    from runner.domain.query import parse_where

    if isinstance(where, Selection):
        return where
    if isinstance(where, Mapping):
        clauses = [f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in where.items()]
        return parse_where(clauses)
    return parse_where([where] if isinstance(where, str) else list(where))
