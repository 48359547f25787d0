"""Use cases that talk to providers about what was applied: refresh, wait, cancel, import."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from runner.app.common import environment, opened, pool_for, state_path
from runner.app.pipeline import _quiet, load
from runner.applying.adopt import Imported, Importer
from runner.domain.events import Emit
from runner.domain.remote import Observation
from runner.errors import UsageError
from runner.expand.expansion import expand
from runner.manifest.peek import project_of
from runner.operate import poll
from runner.operate.poll import Cycle


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
    env, where = environment(env), Where(manifest, state)
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        return poll.Poller(st, pool, emit=emit or _quiet, lock_timeout=lock_timeout).cycle()


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
) -> Cycle:
    """Wait until the selected resources (default: everything that produces results) have finished."""
    env, where = environment(env), Where(manifest, state)
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        poller = poll.Poller(st, pool, emit=emit or _quiet, lock_timeout=lock_timeout)
        return poll.wait(poller, patterns, timeout, progress=progress)


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
    """Cancel running jobs, sessions or batches; returns what each cancel reported."""
    env, where = environment(env), Where(manifest, state)
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        poller = poll.Poller(st, pool, emit=emit or _quiet, lock_timeout=lock_timeout)
        return poll.cancel(poller, patterns, index=index, allow_protected=allow_protected)


def import_(
    manifest: str,
    address: str | None = None,
    remote_id: str | None = None,
    *,
    tag: str | None = None,
    state: str | None = None,
    env: Mapping[str, str] | None = None,
    emit: Emit | None = None,
    lock_timeout: float = 0.0,
) -> Imported:
    """Bring resources submitted by hand under management: one by ADDRESS and REMOTE_ID, or all carrying TAG."""
    if bool(tag) == bool(address and remote_id) or (address and not remote_id):
        raise UsageError("give either ADDRESS REMOTE_ID or --tag TAG")
    env = environment(env)
    expansion = expand(load(manifest, env))
    path = state_path(manifest, state, env)
    with opened(path, project=expansion.project, create=True) as st, pool_for(st, env, expansion) as pool:
        importer = Importer(expansion, st, pool, emit or _quiet)
        if tag:
            return importer.by_tag(tag, lock_timeout)
        return importer.by_id(str(address), str(remote_id), lock_timeout)
