"""Use cases that read the state and never write it: status, show, results, history, report data, state list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from runner.app import resultset, views
from runner.app.common import environment, opened
from runner.app.operate import Where
from runner.app.resultset import ResultSet
from runner.domain import address as addresses
from runner.domain.resources import Recorded
from runner.domain.vocabulary import CONTAINERS
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
    in_: str | None = None,
) -> list[dict[str, Any]]:
    """Managed resources (those matching the patterns, or all): address, kind, status beside the provider's
    own word (raw_status), the session or batch it belongs to (parent), generation, remote id.

    `in_` keeps the jobs of one session or batch (its address)."""
    with _open(manifest, state, env) as st:
        recorded = st.recorded()
    chosen = addresses.select(recorded, patterns) if patterns else sorted(recorded)
    if in_ is not None:
        if in_ not in recorded:
            raise RunnerError(f"{in_} is not in the state; `runner status` lists what is")
        chosen = [a for a in chosen if recorded[a].parent == in_]
    return [
        {
            "address": a,
            "kind": recorded[a].kind,
            "status": recorded[a].status,
            "raw_status": recorded[a].detail.get("raw_status"),
            "parent": recorded[a].parent,
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
    address: str,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    remote: bool = True,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Everything recorded about one address: spec, attributes, generations with provenance and results.

    A session or batch also lists its jobs (`jobs`); with `remote`, `remote` holds the object (and a
    container's jobs) as the service reports it now, asked within `timeout` seconds.
    """
    with _open(manifest, state, env) as st:
        rec = st.resource(address)
        generations = st.generations(address)
        results = {r["generation"]: r for r in st.results(address)}
        provenance = [_provenance(st, g) for g in generations]
        extra = _around(st, rec, environment(env), timeout) if rec is not None and remote else {}
        if rec is not None and rec.kind in CONTAINERS:
            extra["jobs"] = views.children(st.recorded(), address)
    if rec is None and not generations:
        raise RunnerError(f"{address} is not in the state; `runner status` lists what is")
    return {
        **extra,
        "address": address,
        "managed": rec is not None,
        "kind": rec.kind if rec else generations[-1]["kind"],
        "status": rec.status if rec else "forgotten",
        "raw_status": rec.detail.get("raw_status") if rec else None,
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


def _around(st: Store, rec: Recorded, env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    seen = views.remote(st, env, rec, timeout)
    return {"remote": seen} if seen is not None else {}


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
    patterns: str | Sequence[str] = (),
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    all_generations: bool = False,
) -> ResultSet:
    """Recorded results as a ResultSet: of the addresses matching the patterns (all without them),
    latest generation unless all_generations.

    `runner.results(manifest="m.yaml").to_pandas()` gives one row per measured outcome, with a
    typed column per parameter (sweep values included).
    """
    chosen_patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    with _open(manifest, state, env) as st:
        rows = _result_rows(st, chosen_patterns, all_generations)
    if chosen_patterns and not rows:
        raise RunnerError(
            f"no results recorded for {' '.join(chosen_patterns)} yet (jobs still running? try `runner wait`)"
        )
    return ResultSet(rows)


result_rows = results  # the name the CLI and older scripts use


def first_results(addresses: Sequence[str], *, state: str, limit: int = 20) -> tuple[list[dict[str, Any]], int]:
    """Of these addresses: the first `limit` current results (in address order) and how many have one.

    What apply prints after it ran: reads only the rows it shows, so a 10,000-job apply does not decode
    10,000 results to print 20 (0.35 s -> about 0.1 s).
    """
    wanted = set(addresses)
    with _open(None, state, None) as st:
        having = [a for a in st.addresses_with_results() if a in wanted]
        if not having:
            return [], 0
        recorded = st.recorded()
        shown = [row for a in having[:limit] for row in st.results(a)[-1:]]
        return resultset.current(shown, recorded), len(having)


def _result_rows(st: Store, patterns: tuple[str, ...], all_generations: bool) -> list[dict[str, Any]]:
    recorded = st.recorded()
    if not patterns and not all_generations:
        return resultset.current(st.results(), recorded)
    known = set(recorded) | set(st.addresses_with_history())
    chosen = addresses.select(known, patterns) if patterns else sorted(known)
    if patterns and not chosen:
        raise RunnerError(f"no recorded resource matches {' '.join(patterns)}")
    rows: list[dict[str, Any]] = []
    for a in chosen:
        found = st.results(a)
        if not all_generations:
            rows.extend(resultset.current(found[-1:], recorded))
            continue
        specs = {g["generation"]: g for g in st.generations(a)}
        rec = recorded.get(a)
        for row in found:
            gen = specs.get(row["generation"], {})
            spec = gen.get("spec") or {}
            device = resultset.device_of(spec, recorded, rec.parent if rec is not None else None)
            rows.append(resultset.enrich(row, spec, gen.get("remote_id"), device))
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
    """What the HTML report shows, read from the state in one go."""
    from runner.render import report as pages

    with _open(manifest, state, env) as st:
        recorded = st.recorded()
        rows = resultset.current(st.results(), recorded)
        return pages.ReportData(
            project, st.path, st.serial, runner_version, generated_at, recorded, rows, st.applies(1000)
        )
