"""Use cases that talk to providers about what was applied: refresh, wait, cancel, import."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from runner.app.common import environment, opened, pool_for, settle_intents, state_path, unsettled
from runner.app.pipeline import _quiet, load
from runner.applying.adopt import Imported, Importer
from runner.domain import address as addresses
from runner.domain.events import Emit
from runner.domain.remote import Observation
from runner.domain.vocabulary import SUBMIT_FAILED, SUBMITTING
from runner.errors import RunnerError, UsageError
from runner.expand.expansion import expand
from runner.manifest.peek import project_of
from runner.operate import poll
from runner.operate.poll import Cycle
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
) -> Cycle:
    """Wait until the selected resources (default: everything that produces results) have finished."""
    env, where, emit = environment(env), Where(manifest, state), emit or _quiet
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        doubtful = unsettled(settle_intents(st, pool, {}, emit, lock_timeout))
        poller = poll.Poller(st, pool, emit=emit, lock_timeout=lock_timeout)
        cycle = poll.wait(poller, patterns, timeout, progress=progress)
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
    env, where, emit = environment(env), Where(manifest, state), emit or _quiet
    with opened(where.path(env), project=where.project()) as st, pool_for(st, env) as pool:
        settle_intents(st, pool, {}, emit, lock_timeout)  # an adopted create is then cancellable too
        poller = poll.Poller(st, pool, emit=emit, lock_timeout=lock_timeout)
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
