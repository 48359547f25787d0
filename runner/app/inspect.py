"""Use cases that read the state and never write it: status, show, results, history, report data, state list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from runner.app.common import environment, opened, state_path
from runner.app.operate import Where
from runner.domain import address as addresses
from runner.errors import RunnerError
from runner.state import Store

_GENERATION_KEYS = (
    "generation",
    "status",
    "remote_id",
    "token",
    "fingerprint",
    "created_at",
    "submitted_at",
    "finished_at",
    "retired_at",
    "retired_reason",
    "apply_id",
)


def _open(manifest: str | None, state: str | None, env: Mapping[str, str] | None) -> AbstractContextManager[Store]:
    where = Where(manifest, state)
    return opened(where.path(environment(env)), project=where.project())


def status(
    patterns: Sequence[str] = (),
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Managed resources (those matching the patterns, or all): address, kind, status, generation, remote id."""
    with _open(manifest, state, env) as st:
        recorded = st.recorded()
    chosen = addresses.select(recorded, patterns) if patterns else sorted(recorded)
    return [
        {
            "address": a,
            "kind": recorded[a].kind,
            "status": recorded[a].status,
            "generation": recorded[a].generation,
            "remote_id": recorded[a].remote_id,
            "updated": recorded[a].updated_at,
        }
        for a in chosen
    ]


def addresses_in(
    *, manifest: str | None = None, state: str | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Every address the state manages (`runner state list`)."""
    with _open(manifest, state, env) as st:
        return sorted(st.recorded())


def show(
    address: str, *, manifest: str | None = None, state: str | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Everything recorded about one address: spec, attributes, generations with provenance and results."""
    with _open(manifest, state, env) as st:
        rec = st.resource(address)
        generations = st.generations(address)
        results = {r["generation"]: r for r in st.results(address)}
        provenance = [_provenance(st, g) for g in generations]
    if rec is None and not generations:
        raise RunnerError(f"{address} is not in the state; `runner status` lists what is")
    return {
        "address": address,
        "managed": rec is not None,
        "kind": rec.kind if rec else generations[-1]["kind"],
        "status": rec.status if rec else "forgotten",
        "target": rec.target if rec else None,
        "remote_id": rec.remote_id if rec else None,
        "generation": rec.generation if rec else None,
        "spec": dict(rec.spec) if rec else generations[-1]["spec"],
        "attrs": {"tags": list(rec.attrs.tags), "metadata": dict(rec.attrs.metadata), "name": rec.attrs.name}
        if rec
        else None,
        "lifecycle": dict(rec.lifecycle) if rec else None,
        "detail": dict(rec.detail) if rec else None,
        "generations": [
            {**_generation(g, results.get(g["generation"])), "provenance": p}
            for g, p in zip(generations, provenance, strict=True)
        ],
    }


def _provenance(st: Store, g: dict[str, Any]) -> dict[str, Any]:
    """Where a generation came from: the run's git commit, manifest, versions; the target as described then."""
    recorded = dict(g.get("provenance") or {})
    run = st.apply_row(recorded["apply"]) if recorded.get("apply") else None
    out: dict[str, Any] = {k: v for k, v in recorded.items() if k not in ("apply", "target_snapshot")}
    if run is not None:
        out["run"] = {
            "id": run["id"],
            "operation": run["operation"],
            "started_at": run["started_at"],
            "git_commit": run["git_commit"],
            "git_dirty": bool(run["git_dirty"]) if run["git_commit"] else None,
            "manifest_digest": run["manifest_digest"],
            "versions": run["versions"],
        }
    key = recorded.get("target_snapshot")
    if key:
        snap = st.snapshot_of(key)
        out["target_snapshot"] = {
            "digest": key,
            **({"captured_at": snap["captured_at"], "description": snap["body"]} if snap else {}),
        }
    return out


def _generation(g: dict[str, Any], result: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: g[k] for k in _GENERATION_KEYS}
    out["origin"], out["provenance"] = g["origin"], g["provenance"]
    if result:
        out["result"] = {
            "shots": result["shots"],
            "counts": result["counts"],
            "digest": result["digest"],
            "seed": result["data"].get("seed"),
            "engine": result["data"].get("engine"),
        }
    return out


def results(
    address: str | None = None,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Recorded results: of current generations, or of every generation of one address."""
    with opened(state_path(manifest, state, environment(env)), project=Where(manifest).project()) as st:
        return st.results(address)


def result_rows(
    patterns: Sequence[str] = (),
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    all_generations: bool = False,
) -> list[dict[str, Any]]:
    """Results of the addresses matching the patterns (all without); latest generation unless all_generations."""
    with _open(manifest, state, env) as st:
        if not patterns:
            if all_generations:
                return [r for a in st.addresses_with_history() for r in st.results(a)]
            return list(st.results())
        known = set(st.recorded()) | set(st.addresses_with_history())
        chosen = addresses.select(known, patterns)
        if not chosen:
            raise RunnerError(f"no recorded resource matches {' '.join(patterns)}")
        rows: list[dict[str, Any]] = []
        for a in chosen:
            found = st.results(a)
            rows.extend(found if all_generations else found[-1:])
    if not rows:
        raise RunnerError(f"no results recorded for {' '.join(patterns)} yet (jobs still running? try `runner wait`)")
    return rows


def history(
    *, manifest: str | None = None, state: str | None = None, env: Mapping[str, str] | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Past runs, oldest first: when, outcome, what changed, git commit, manifest digest, versions."""
    with _open(manifest, state, env) as st:
        return st.applies(limit)


def report_data(
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    project: str,
    runner_version: str,
    generated_at: str,
) -> Any:
    """What the HTML report shows (runner.render.report.collect over the state)."""
    from runner.render import report as pages

    with _open(manifest, state, env) as st:
        return pages.collect(st, project=project, runner_version=runner_version, generated_at=generated_at)
