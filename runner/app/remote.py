"""What the providers hold, beyond runner's own state: remote listings and target descriptions.

`remote_jobs`, `remote_batches` and `remote_sessions` ask one target's service, with its own
filters and pagination (see each provider's listing module), and mark every row with the address
that manages it, or none. `describe_targets` shows what a service publishes about its targets
(device specs, availability, queue times), from the service or from the last snapshot an apply
kept in the state. Both only read: nothing is written to the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from runner.app.common import environment, state_path
from runner.domain.query import DEFAULT_LIMIT, Listable, Listing, Query, RemoteItem, parse_when
from runner.domain.resources import Recorded
from runner.errors import ProviderError, RunnerError, UsageError
from runner.providers.base import Describes, Lists, Provider
from runner.providers.pool import ProviderPool, Reach
from runner.state import Store, exists, open_store, with_project

When = str | dt.datetime | None


@dataclass(frozen=True)
class Scope:
    """What a read-only command may use: the targets it can reach and what the state manages."""

    targets: Mapping[str, Reach]
    recorded: Mapping[str, Recorded]
    path: str
    env: Mapping[str, str]

    def managed_as(self) -> dict[str, str]:
        """Remote id -> the address whose current generation it is."""
        return {r.remote_id: r.address for r in self.recorded.values() if r.remote_id}

    def remote_id(self, reference: str) -> str:
        """A container named by its address (session.x, batch.y) or by its remote id."""
        rec = self.recorded.get(reference)
        if rec is None and reference.startswith(("session.", "batch.")):
            raise RunnerError(f"{reference} is not in the state: give the session's or batch's remote id instead")
        if rec is None:
            return reference
        if rec.remote_id is None:
            raise RunnerError(f"{reference} has no remote id yet (never submitted)")
        return rec.remote_id


@contextmanager
def scope(manifest: str | None, state: str | None, env: Mapping[str, str] | None) -> Iterator[Scope]:
    """The manifest's targets over the state's, and the state's resources (none when there is no state)."""
    from runner.manifest import loader

    env = environment(env)
    loaded = loader.load(manifest, check_programs=False, env=env) if manifest else None
    path = with_project(state_path(manifest, state, env), loaded.project if loaded else None)
    targets: dict[str, Reach] = {}
    recorded: dict[str, Recorded] = {}
    if exists(path):
        store: Store = open_store(path)
        try:
            targets, recorded = dict(store.targets()), store.recorded()
        finally:
            store.close()
    if loaded is not None:
        targets.update({name: (t, loaded.base_dir) for name, t in loaded.targets.items()})
    yield Scope(targets, recorded, path, env)


def provider_for(sc: Scope, pool: ProviderPool, target: str) -> Provider:
    if target not in sc.targets:
        known = ", ".join(sorted(sc.targets)) or "none"
        raise RunnerError(f"target '{target}' is not in the manifest or the state (targets: {known})")
    return pool.get(target)


@dataclass(frozen=True)
class Row:
    """One remote object, and the address managing it (None when runner does not manage it)."""

    item: RemoteItem
    managed_as: str | None

    def as_json(self) -> dict[str, Any]:
        return {**self.item.as_json(), "managed_as": self.managed_as}


@dataclass(frozen=True)
class RemoteList:
    """What `runner remote jobs|batches|sessions` found on one target."""

    target: str
    provider: str
    what: Listable
    query: Query
    rows: tuple[Row, ...]
    total: int | None = None
    more: bool = False
    local: tuple[str, ...] = ()
    requests: int = 0

    @property
    def next_offset(self) -> int | None:
        """Where the next window starts, when there is more."""
        return self.query.offset + len(self.rows) if self.more else None

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "provider": self.provider,
            "what": self.what,
            "filters": self.query.filters(),
            "offset": self.query.offset,
            "limit": self.query.limit,
            "total": self.total,
            "more": self.more,
            "next_offset": self.next_offset,
            "filtered_locally": list(self.local),
            "requests": self.requests,
            "items": [r.as_json() for r in self.rows],
        }


def remote_list(
    what: Listable,
    target: str,
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    status: Sequence[str] = (),
    tag: Sequence[str] = (),
    since: When = None,
    until: When = None,
    name: str | None = None,
    in_: str | None = None,
    ids: Sequence[str] = (),
    min_runs: int | None = None,
    max_runs: int | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    all_: bool = False,
) -> RemoteList:
    """Objects a target's service holds, filtered and paged by the service, each marked managed or not.

    `status` takes runner's words (failed, running...) or the service's (ERROR, Failure(s)...); every
    `tag` must be carried; `in_` names a session or batch (address or remote id) whose jobs to list;
    `min_runs`/`max_runs` bound a Pasqal job's runs; `all_` pages through every match (limit ignored).
    """
    if all_ and offset:
        raise UsageError("--all lists every match from the first: drop --offset, or use --limit with --offset")
    with scope(manifest, state, env) as sc, ProviderPool(sc.targets, sc.env) as pool:
        query = Query(
            what,
            statuses=tuple(status),
            tags=tuple(tag),
            since=_when(since, "since"),
            until=_when(until, "until", end=True),
            name=name,
            parent=sc.remote_id(in_) if in_ else None,
            ids=tuple(ids),
            min_runs=min_runs,
            max_runs=max_runs,
            offset=offset,
            limit=None if all_ else limit,
        )
        provider = provider_for(sc, pool, target)
        if not isinstance(provider, Lists):
            raise RunnerError(f"target '{target}' ({provider.spec.name}) cannot list what its service holds")
        found = provider.list_remote(query)
        return _marked(target, provider.spec.name, query, found, sc.managed_as())


def _when(value: When, option: str, *, end: bool = False) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return parse_when(value, option, end=end)


def _marked(target: str, provider: str, query: Query, found: Listing, managed: Mapping[str, str]) -> RemoteList:
    rows = tuple(Row(i, managed.get(i.remote_id)) for i in found.items)
    return RemoteList(target, provider, query.what, query, rows, found.total, found.more, found.local, found.requests)


def remote_jobs(target: str, **options: Any) -> RemoteList:
    """Jobs the target's service holds (Azure jobs, Pasqal batch jobs, Superstaq jobs); see remote_list."""
    return remote_list("jobs", target, **options)


def remote_batches(target: str, **options: Any) -> RemoteList:
    """Batches the target's service holds (Pasqal); see remote_list."""
    return remote_list("batches", target, **options)


def remote_sessions(target: str, **options: Any) -> RemoteList:
    """Sessions the target's service holds (Azure); see remote_list."""
    return remote_list("sessions", target, **options)


@dataclass(frozen=True)
class Description:
    """What a service publishes about one target, and where runner read it."""

    target: str
    provider: str
    name: str
    source: str  # "service", "snapshot" (the state's last), or "none"
    description: Mapping[str, Any] = field(default_factory=dict)
    captured_at: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "provider": self.provider,
            "name": self.name,
            "source": self.source,
            "captured_at": self.captured_at,
            "description": dict(self.description),
            "error": self.error,
        }


def describe_targets(
    names: Sequence[str] = (),
    *,
    manifest: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
) -> list[Description]:
    """Each target's description (all of them, or those named): from its service, or offline from the state.

    A service that cannot be asked is reported in `error` with the state's last snapshot, if any, beside it.
    """
    with scope(manifest, state, env) as sc:
        unknown = sorted(set(names) - set(sc.targets))
        if unknown:
            raise RunnerError(f"no target named {', '.join(unknown)} (targets: {', '.join(sorted(sc.targets))})")
        chosen = sorted(names or sc.targets)
        snapshots = _snapshots(sc, chosen)
        if offline:
            return [_offline(sc, name, snapshots.get(name)) for name in chosen]
        with ProviderPool(sc.targets, sc.env) as pool:
            return [_online(sc, pool, name, snapshots.get(name)) for name in chosen]


def _snapshots(sc: Scope, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not exists(sc.path):
        return {}
    store = open_store(sc.path)
    try:
        return {n: snap for n in names if (snap := store.latest_snapshot(n)) is not None}
    finally:
        store.close()


def _offline(sc: Scope, name: str, snap: Mapping[str, Any] | None, error: str | None = None) -> Description:
    target = sc.targets[name][0]
    if snap is None:
        why = error or "no snapshot in the state (an apply records one when it submits to this target)"
        return Description(name, target.provider, target.target, "none", error=why)
    return Description(name, target.provider, target.target, "snapshot", snap["body"], snap["captured_at"], error)


def _online(sc: Scope, pool: ProviderPool, name: str, snap: Mapping[str, Any] | None) -> Description:
    target = sc.targets[name][0]
    try:
        provider = pool.get(name)
        if not isinstance(provider, Describes):
            return Description(name, target.provider, target.target, "none", error="its provider publishes nothing")
        body = provider.describe()
    except ProviderError as exc:
        return _offline(sc, name, snap, f"the service could not be asked: {exc.message}")
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return Description(name, target.provider, target.target, "service", body, now)


def targets(manifest: str, *, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """A manifest's targets: name, provider, the provider's target name, endpoint (what `runner targets` lists)."""
    from runner.manifest import loader

    loaded = loader.load(manifest, check_programs=False, env=environment(env))
    return [
        {
            "name": t.name,
            "provider": t.provider,
            "target": t.target,
            "endpoint": t.config.get("endpoint", "(default)" if t.provider != "local" else "-"),
        }
        for t in sorted(loaded.targets.values(), key=lambda t: t.name)
    ]
