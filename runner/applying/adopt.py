"""Import: bring resources submitted by hand under management, by id or by tag.

The manifest must declare the address; the remote resource must exist. runner records it as a
new generation of that address with the manifest's fingerprint, so the next plan is a no-op for
it: runner trusts that what was submitted by hand is what the manifest declares. Importing a
Pasqal batch also imports its jobs, matched to the manifest's batch jobs by runs and variables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runner.applying.execute import base_dir
from runner.applying.provenance import run_info
from runner.domain import token
from runner.domain.events import Emit, ResourceDone
from runner.domain.query import Listable, Query, RemoteItem
from runner.domain.remote import Observation, RemoteRef
from runner.domain.resources import Desired, Expansion
from runner.errors import RunnerError, UsageError
from runner.providers.base import Lists, ListsTagged, Provider
from runner.providers.pool import ProviderPool
from runner.state import Store

ADDRESS_TAG = "address:"


@dataclass
class Imported:
    """What an import did."""

    imported: list[tuple[str, str]] = field(default_factory=list)  # (address, remote id)
    unmatched: list[str] = field(default_factory=list)  # remote ids found that no address claims
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (address, remote id, managed as)
    notes: list[str] = field(default_factory=list)  # what could not be looked for, and why


class Importer:
    """Records remote resources as generations of manifest addresses, under the state lock."""

    def __init__(self, expansion: Expansion, store: Store, pool: ProviderPool, emit: Emit) -> None:
        self.expansion, self.state, self.pool, self.emit = expansion, store, pool, emit
        self.report = Imported()

    def provider(self, target: str) -> Provider:
        return self.pool.get(target)

    def by_id(self, address: str, remote_id: str, lock_timeout: float) -> Imported:
        desired = self._desired(address)
        with self.state.lease("import", lock_timeout):
            parent = self._parent_id(desired)
            (obs,) = self.provider(desired.target).observe([RemoteRef(desired.kind, remote_id, parent)])
            if obs.detail.get("missing"):
                raise RunnerError(f"{remote_id} was not found at target '{desired.target}'")
            self._record([(desired, obs, parent)])
        return self.report

    def by_tag(self, tag: str, lock_timeout: float) -> Imported:
        wanted = {d.address: d for d in self.expansion.resources if d.kind != "batch_job"}
        targets = sorted({d.target for d in wanted.values()})
        with self.state.lease("import", lock_timeout):
            for name in targets:
                lister = self.provider(name)
                if not isinstance(lister, ListsTagged):
                    raise RunnerError(f"target '{name}' ({self.expansion.targets[name].provider}) cannot list by tag")
                pending: list[tuple[Desired, Observation, str | None]] = []
                for obs in lister.list_tagged(tag):
                    match = _claim(obs, wanted, name)
                    if match is None:
                        self.report.unmatched.append(obs.remote_id)
                        continue
                    managed = self._managed_as(match)
                    if managed is not None:
                        self.report.skipped.append((match.address, obs.remote_id, managed))
                        continue
                    pending.append((match, obs, self._parent_id(match)))
                    pending.extend(self._children(match, obs))
                self._record(pending)
        return self.report

    def by_query(self, query: Query, targets: Sequence[str], lock_timeout: float) -> Imported:
        """Import what the targets' listings match (every page), claimed by name or `address:` tag.

        Each target is asked for the kinds the manifest declares on it (jobs, sessions, batches with
        their jobs); `query.what` is ignored. What no address claims is reported, what is managed skipped.
        """
        wanted = {d.address: d for d in self.expansion.resources if d.kind != "batch_job"}
        with self.state.lease("import", lock_timeout):
            for name in targets:
                lister = self.provider(name)
                if not isinstance(lister, Lists):
                    raise RunnerError(f"target '{name}' ({self.expansion.targets[name].provider}) cannot list")
                pending: list[tuple[Desired, Observation, str | None]] = []
                for what in _kinds(wanted.values(), name):
                    for obs in self._listed(lister, replace(query, what=what, offset=0, limit=None), name):
                        pending += self._claimed(obs, wanted, name, lister)
                self._record(pending)
        return self.report

    def _listed(self, lister: Lists, query: Query, target: str) -> list[Observation]:
        try:
            return [as_observation(i) for i in lister.list_remote(query).items]
        except UsageError as exc:  # a filter this kind cannot take on this service (e.g. tags on Azure sessions)
            self.report.notes.append(f"target '{target}': {query.what} not looked for: {exc.message}")
            return []

    def _claimed(
        self, obs: Observation, wanted: Mapping[str, Desired], target: str, lister: Lists
    ) -> list[tuple[Desired, Observation, str | None]]:
        match = _claim(obs, wanted, target)
        if match is None:
            self.report.unmatched.append(obs.remote_id)
            return []
        managed = self._managed_as(match)
        if managed is not None:
            self.report.skipped.append((match.address, obs.remote_id, managed))
            return []
        if match.kind == "batch":  # its jobs, with their runs and variables, to match the manifest's
            jobs = lister.list_remote(Query("jobs", parent=obs.remote_id, limit=None)).items
            obs = replace(obs, children=tuple(as_observation(j) for j in reversed(jobs)))
        return [(match, obs, self._parent_id(match)), *self._children(match, obs)]

    def _desired(self, address: str) -> Desired:
        desired = self.expansion.by_address().get(address)
        if desired is None:
            raise RunnerError(
                f"{address} is not declared in {self.expansion.manifest_path}; add it to the manifest first"
            )
        self._check_unmanaged(desired)
        return desired

    def _check_unmanaged(self, desired: Desired) -> None:
        managed = self._managed_as(desired)
        if managed is not None:
            raise RunnerError(
                f"{desired.address} is already managed as {managed}; `runner state rm` it first to import another"
            )

    def _managed_as(self, desired: Desired) -> str | None:
        """The remote id (and generation) a manifest address is already managed as, if it is."""
        rec = self.state.resource(desired.address)
        if rec is None or rec.remote_id is None:
            return None
        return f"{rec.remote_id} (generation {rec.generation})"

    def _parent_id(self, desired: Desired) -> str | None:
        if desired.parent is None:
            return None
        rec = self.state.resource(desired.parent)
        return rec.remote_id if rec is not None else None

    def _children(self, batch: Desired, obs: Observation) -> list[tuple[Desired, Observation, str | None]]:
        """A Pasqal batch's jobs, matched to the manifest's batch jobs by runs and variables."""
        free = list(obs.children)
        found: list[tuple[Desired, Observation, str | None]] = []
        for d in self.expansion.resources:
            if d.parent != batch.address:
                continue
            for child in free:
                if (
                    child.detail.get("variables") == dict(d.spec["variables"])
                    and child.detail.get("runs") == d.spec["runs"]
                ):
                    found.append((d, child, obs.remote_id))
                    free.remove(child)
                    break
        return found

    def _record(self, items: Sequence[tuple[Desired, Observation, str | None]]) -> None:
        if not items:
            return
        info = run_info(self.expansion.manifest_path, self.expansion.manifest_digest)
        with self.state.transaction(bump=False) as txn:
            run_id = txn.begin_run("import", info)
            txn.save_targets(self.expansion.targets, base_dir(self.expansion))
        with self.state.transaction() as txn:
            for desired, obs, parent in items:
                generation = max((g["generation"] for g in self.state.generations(desired.address)), default=0) + 1
                tok = token.make(self.state.lineage, desired.address, desired.fingerprint, generation)
                intent = txn.start(
                    desired, generation, tok, run_id, parent, operation="import", origin={"imported": obs.remote_id}
                )
                txn.succeed(desired.address, generation, obs, intent, {"imported": True, "apply": run_id}, parent)
                if desired.kind == "batch":
                    txn.set_lifecycle(desired.address, {**desired.lifecycle, "closed": not obs.detail.get("open")})
                self.report.imported.append((desired.address, obs.remote_id))
        with self.state.transaction(bump=False) as txn:
            txn.finish_run(run_id, "ok", {"imported": len(items)}, self.state.serial)
        self.state.checkpoint()
        for desired, obs, _ in items:
            self.emit(ResourceDone(desired.address, "import", obs.status, obs.remote_id))


KIND_LISTS: dict[str, Listable] = {"job": "jobs", "session": "sessions", "batch": "batches"}


def _kinds(wanted: Iterable[Desired], target: str) -> list[Listable]:
    """What to list on a target: the kinds the manifest declares there, in a fixed order."""
    declared = {KIND_LISTS[d.kind] for d in wanted if d.target == target and d.kind in KIND_LISTS}
    return [w for w in ("sessions", "batches", "jobs") if w in declared]


def as_observation(item: RemoteItem) -> Observation:
    """A listed object as what import records: its name and tags where claims look for them."""
    detail = {**item.detail, "name": item.name, "tags": list(item.tags)}
    return Observation(item.remote_id, item.status, item.raw_status, detail)


def _claim(obs: Observation, wanted: Mapping[str, Desired], target: str) -> Desired | None:
    """The address a remote resource belongs to: its name is the address, or it carries `address:<address>`."""
    names: list[Any] = [obs.detail.get("name")]
    names += [t.removeprefix(ADDRESS_TAG) for t in obs.detail.get("tags") or [] if str(t).startswith(ADDRESS_TAG)]
    for name in names:
        desired = wanted.get(str(name)) if name else None
        if desired is not None and desired.target == target:
            return desired
    by_display = [
        d for d in wanted.values() if d.attrs.name and d.attrs.name == obs.detail.get("name") and d.target == target
    ]
    return by_display[0] if len(by_display) == 1 else None
