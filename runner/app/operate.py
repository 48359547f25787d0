"""Use cases that talk to providers about what was applied: refresh, wait, cancel, import."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from runner.app.common import environment, opened, pool_for, settle_intents, state_path, unsettled
from runner.app.pipeline import _quiet, load
from runner.applying.adopt import Imported, Importer
from runner.domain import address as addresses
from runner.domain.events import Emit
from runner.domain.query import Query, parse_when
from runner.domain.remote import Observation
from runner.domain.resources import Expansion
from runner.domain.vocabulary import SUBMIT_FAILED, SUBMITTING
from runner.errors import RunnerError, UsageError
from runner.expand.expansion import expand
from runner.manifest.peek import project_of
from runner.operate import circuits, filtered, poll
from runner.operate.poll import Cycle
from runner.providers.base import Lists
from runner.state import Store


@dataclass(frozen=True)
class Where:
    """Which state a command acts on: beside a manifest, or named, and the manifest's project if any."""

    manifest: str | None = None
    state: str | None = None

    def path(self, env: Mapping[str, str]) -> str:
        return state_path(self.manifest, self.state, env)

    def project(self) -> str | None:
        """The manifest's project, read without checking its programs (None without a manifest)."""
        return project_of(self.manifest) if self.manifest else None


def refresh(
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> Cycle:
    """Ask the providers about everything that can still change; record what did."""
    env, where, emit = environment(env), Where(manifest, state), emit or _quiet
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        doubtful = unsettled(settle_intents(st, pool, {}, emit, lock_timeout))
        cycle = poll.Poller(st, pool, emit=emit, lock_timeout=lock_timeout).cycle()
        cycle.errors.extend(doubtful)
        return cycle


def wait(
    patterns: Sequence[str] = (),
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    emit: Emit | None = None,
    progress: Callable[[Cycle], None] | None = None,
    lock_timeout: float = 0.0,
    poll_interval: float | None = None,
) -> Cycle:
    """Wait until the selected resources (default: everything that produces results) have finished.

    `poll_interval` fixes the time between polls (at least 0.1 s; default: growing back-off with jitter);
    no sleep or request goes past `timeout`. For one circuit of a multi-circuit job, see wait_circuit.
    A selected resource that never reached its service (a failed or interrupted create) is an error.
    """
    backoff = circuits.interval(poll_interval)
    env, where, emit = environment(env), Where(manifest, state), emit or _quiet
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        doubtful = unsettled(settle_intents(st, pool, {}, emit, lock_timeout))
        poller = poll.Poller(st, pool, emit=emit, lock_timeout=lock_timeout)
        cycle = poll.wait(poller, patterns, timeout, backoff=backoff, progress=progress)
        never = _never_sent(st, patterns)
    if doubtful or never:
        lines = doubtful + [
            f"{a}: never sent ({why}); `runner apply` (or `runner rerun --failed`) sends it" for a, why in never
        ]
        raise RunnerError(f"{len(lines)} selected resource(s) did not run: " + "; ".join(lines[:5]) + _more(lines))
    return cycle


def _never_sent(st: Store, patterns: Sequence[str]) -> list[tuple[str, str]]:
    """Selected resources with no remote object: a create that failed, or an interrupted run's, found absent."""
    recorded = st.recorded()
    chosen = addresses.select(recorded, patterns) if patterns else sorted(recorded)
    unsent = (SUBMITTING, SUBMIT_FAILED)
    return [(a, str(recorded[a].detail.get("error") or "interrupted")) for a in chosen if recorded[a].status in unsent]


def _more(lines: list[str]) -> str:
    return f" and {len(lines) - 5} more" if len(lines) > 5 else ""


def wait_circuit(
    address: str,
    index: int,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    poll_interval: float | None = None,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> circuits.CircuitWait:
    """Wait until circuit `index` of a multi-circuit job has finished; its counts come back at once, while
    the job's other circuits may still run (Superstaq's wait_until_complete(index=...))."""
    backoff = circuits.interval(poll_interval)
    env, where = environment(env), Where(manifest, state)
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        poller = poll.Poller(st, pool, emit=emit or _quiet, lock_timeout=lock_timeout)
        return circuits.wait_circuit(poller, address, index, timeout, backoff=backoff)


def cancel(
    patterns: Sequence[str],
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    index: int | None = None,
    allow_protected: bool = False,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> list[tuple[str, Observation]]:
    """Cancel running jobs, sessions or batches; returns what each cancel reported.

    Several batches on a target whose service cancels many in one call (Pasqal) go in that one call.
    To cancel the jobs of a batch that a filter picks, see cancel_where.
    """
    env, where, emit = environment(env), Where(manifest, state), emit or _quiet
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        settle_intents(st, pool, {}, emit, lock_timeout)  # an adopted create is then cancellable too
        poller = poll.Poller(st, pool, emit=emit, lock_timeout=lock_timeout)
        if index is not None:
            return poll.cancel(poller, patterns, index=index, allow_protected=allow_protected)
        rows = poller.selected(patterns)
        filtered.refuse_protected(rows, allow_protected)
        done, handled = filtered.cancel_many(poller, rows)
        rest = [r["address"] for r in rows if r["address"] not in handled]
        if rest or not handled:
            done += poll.cancel(poller, rest if handled else patterns, allow_protected=allow_protected)
        return done


def import_(
    manifest: str,
    address: str | None = None,
    remote_id: str | None = None,
    *,
    tag: str | Sequence[str] | None = None,
    status: Sequence[str] = (),
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    name: str | None = None,
    targets: Sequence[str] = (),
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> Imported:
    """Bring resources submitted by hand under management: one by ADDRESS and REMOTE_ID, or every remote
    object matching filters (tags, status, dates, name prefix; the services apply them) that a manifest
    address claims by its name or an `address:` tag. Already managed ones are skipped."""
    tags = (tag,) if isinstance(tag, str) else tuple(tag or ())
    by_filter = bool(tags or status or since or until or name or targets)
    if by_filter == bool(address and remote_id) or (address and not remote_id):
        raise UsageError("give either ADDRESS REMOTE_ID, or filters (--tag, --status, --since, --until, --name)")
    env = environment(env)
    expansion = expand(load(manifest, env))
    unknown = sorted(set(targets) - set(expansion.targets))
    if unknown:
        raise UsageError(f"--target {', '.join(unknown)}: not a target of {manifest}")
    path = state_path(manifest, state, env)
    with opened(path, project=expansion.project, create=True) as st, pool_for(st, env, expansion) as pool:
        importer = Importer(expansion, st, pool, emit or _quiet)
        if not by_filter:
            return importer.by_id(str(address), str(remote_id), lock_timeout)
        if tags and len(tags) == 1 and not (status or since or until or name or targets):
            chosen = _declared_targets(expansion)
            if not all(isinstance(pool.get(t), Lists) for t in chosen):
                return importer.by_tag(tags[0], lock_timeout)  # a provider that lists by tag only
        query = Query(
            "jobs",
            statuses=tuple(status),
            tags=tags,
            since=parse_when(since, "since") if isinstance(since, str) else since,
            until=parse_when(until, "until", end=True) if isinstance(until, str) else until,
            name=name,
            limit=None,
        )
        return importer.by_query(query, list(targets) or _declared_targets(expansion), lock_timeout)


def _declared_targets(expansion: Expansion) -> list[str]:
    return sorted({d.target for d in expansion.resources if d.kind != "batch_job"})
