"""Import: bring resources submitted by hand under management, by id or by tag.

The manifest must declare the address; the remote resource must exist. runner records it as a
new generation of that address with the manifest's fingerprint, so the next plan is a no-op for
it: runner trusts that what was submitted by hand is what the manifest declares. Importing a
Pasqal batch also imports its jobs, matched to the manifest's batch jobs by runs and variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner import providers
from runner.applying.provenance import run_info
from runner.domain import token
from runner.domain.events import Event, ResourceDone
from runner.domain.resources import Desired, Expansion
from runner.errors import RunnerError
from runner.expand.expansion import expand
from runner.manifest.loader import load
from runner.providers.base import Context, Observation, Provider, RemoteRef
from runner.state import Lease, State

ADDRESS_TAG = "address:"


@dataclass
class Imported:
    """What an import did."""

    imported: list[tuple[str, str]] = field(default_factory=list)  # (address, remote id)
    unmatched: list[str] = field(default_factory=list)  # remote ids found that no address claims


class Importer:
    """Records remote resources as generations of manifest addresses, under the state lock."""

    def __init__(self, manifest: str, state_file: str, env: Mapping[str, str], emit: Callable[[Event], None]) -> None:
        self.expansion: Expansion = expand(load(manifest))
        self.manifest, self.env, self.emit = manifest, env, emit
        self.state = State.open(state_file, create=True)
        self.report = Imported()
        self._providers: dict[str, Provider] = {}

    def close(self) -> None:
        for provider in self._providers.values():
            provider.shutdown()
        self.state.close()

    def provider(self, target: str) -> Provider:
        if target not in self._providers:
            base = os.path.dirname(os.path.abspath(self.manifest))
            self._providers[target] = providers.make(self.expansion.targets[target], Context(self.env, base))
        return self._providers[target]

    def by_id(self, address: str, remote_id: str, lock_timeout: float) -> Imported:
        desired = self._desired(address)
        with Lease(self.state, "import").acquire(lock_timeout):
            parent = self._parent_id(desired)
            (obs,) = self.provider(desired.target).observe([RemoteRef(desired.kind, remote_id, parent)])
            if obs.detail.get("missing"):
                raise RunnerError(f"{remote_id} was not found at target '{desired.target}'")
            self._record([(desired, obs, parent)])
        return self.report

    def by_tag(self, tag: str, lock_timeout: float) -> Imported:
        wanted = {d.address: d for d in self.expansion.resources if d.kind != "batch_job"}
        targets = sorted({d.target for d in wanted.values()})
        with Lease(self.state, "import").acquire(lock_timeout):
            for name in targets:
                lister = getattr(self.provider(name), "list_tagged", None)
                if lister is None:
                    raise RunnerError(f"target '{name}' ({self.expansion.targets[name].provider}) cannot list by tag")
                pending: list[tuple[Desired, Observation, str | None]] = []
                for obs in lister(tag):
                    match = _claim(obs, wanted, name)
                    if match is None:
                        self.report.unmatched.append(obs.remote_id)
                        continue
                    self._check_unmanaged(match)
                    pending.append((match, obs, self._parent_id(match)))
                    pending.extend(self._children(match, obs))
                self._record(pending)
        return self.report

    def _desired(self, address: str) -> Desired:
        desired = self.expansion.by_address().get(address)
        if desired is None:
            raise RunnerError(f"{address} is not declared in {self.manifest}; add it to the manifest first")
        self._check_unmanaged(desired)
        return desired

    def _check_unmanaged(self, desired: Desired) -> None:
        rec = self.state.resource(desired.address)
        if rec is not None and rec.remote_id is not None:
            raise RunnerError(
                f"{desired.address} is already managed as {rec.remote_id} (generation {rec.generation}); "
                "`runner state rm` it first to import another"
            )

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
        info = run_info(self.manifest, self.expansion.manifest_digest)
        with self.state.transaction(bump=False) as txn:
            run_id = txn.begin_run("import", info)
            txn.save_targets(self.expansion.targets, os.path.dirname(os.path.abspath(self.manifest)))
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
