"""Operations on what a filter picks: `cancel ADDRESS --where ...` and `rerun --where ...`.

`where` is a `Selection`, `--where` clauses (`["status=ERROR,DONE", "min_runs=10"]`), or a mapping
(`{"status": ["ERROR", "DONE"], "min_runs": 10}`); its keys are Pasqal's CancelJobFilters and
RebatchFilters (id, status, min_runs, max_runs, since, until). A filter that matches nothing raises
NoMatchError (exit 8) and sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.app.common import environment, opened, pool_for, state_path
from runner.app.operate import Where
from runner.app.pipeline import _quiet, load
from runner.applying import reruns
from runner.applying.provenance import run_info
from runner.applying.rerun_where import Picked, pick
from runner.domain.events import Emit
from runner.domain.query import Selection
from runner.errors import UsageError
from runner.expand.expansion import expand
from runner.operate import filtered, poll
from runner.operate.filtered import BatchCancel

WhereArg = Selection | Sequence[str] | Mapping[str, Any]
__all__ = ["Picked", "cancel_where", "rerun_where"]


class Picking(reruns.Rebatcher):
    """A rebatch of the jobs a filter picked (any status).

    The service was asked with the filters which jobs match; the rebatch names exactly those ids, so
    a job that changes status in between cannot leave an intent without its rerun.
    """

    what = "job(s) picked by --where"


def cancel_where(
    patterns: Sequence[str],
    where: WhereArg,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    allow_protected: bool = False,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> list[BatchCancel]:
    """Cancel the jobs of the selected batches that `where` picks: one call per batch (Pasqal cancel_jobs)."""
    selection = filtered.selection_of(where)
    if selection.empty():
        raise UsageError("--where needs at least one filter (e.g. status=PENDING or max_runs=100)")
    env, at = environment(env), Where(manifest, state)
    with opened(at.path(env), project=at.project()) as st, pool_for(st, env) as pool:
        poller = poll.Poller(st, pool, emit=emit or _quiet, lock_timeout=lock_timeout)
        return filtered.cancel_where(poller, patterns, selection, allow_protected=allow_protected)


def rerun_where(
    manifest: str,
    where: WhereArg,
    patterns: Sequence[str] = (),
    *,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    confirm: Callable[[Picked], bool] | None = None,
    lock_timeout: float = 0.0,
) -> list[str]:
    """Rerun the batch jobs `where` picks as new batches (Pasqal rebatch with RebatchFilters); returns failures.

    Each rerun is a new generation of its address whose origin names the old one, as with `--failed`.
    """
    selection = filtered.selection_of(where)
    if selection.empty():
        raise UsageError("--where needs at least one filter (e.g. status=ERROR,DONE or min_runs=10)")
    env, emit = environment(env), emit or _quiet
    expansion = expand(load(manifest, env))
    with (
        opened(state_path(manifest, state, env), project=expansion.project) as st,
        pool_for(st, env, expansion) as pool,
    ):
        picked = pick(st, expansion, pool, patterns, selection)
        if confirm is not None and not confirm(picked):
            return []
        with st.lease("rerun", lock_timeout) as held:
            files = sorted({p.label for p in expansion.programs.values() if os.path.isfile(p.label)})
            info = run_info(manifest, expansion.manifest_digest, files=files)
            with st.transaction(bump=False) as txn:
                run_id = txn.begin_run("rerun", info)
            rebatcher = Picking(st, pool, emit, run_id, held)
            rebatcher.run(picked.jobs)
            with st.transaction(bump=False) as txn:
                outcome = "failed" if rebatcher.failures else "ok"
                txn.finish_run(run_id, outcome, {"rerun": rebatcher.count}, st.serial)
            st.checkpoint()
        return rebatcher.failures
