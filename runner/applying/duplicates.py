"""Duplicates a paused holder may have sent: find them by token, keep the recorded one, cancel the others.

A holder checks its lease right before every create, but a process frozen between that check and the
send (SIGSTOP, a closed laptop, a stalled VM) sends once it thaws, after another run took its lease
over and submitted the same work again. The window cannot be closed against providers with no
idempotency key, so the run that took over noted the stale holder's open intents as stale sends
(runner.state.lock), and every later plan and apply looks for remote objects carrying their tokens:
the one the state records is kept, any other is a duplicate that apply cancels and reports.

Where a provider keeps nothing runner can find by (ProviderSpec.findable), the plan says so. A stale
send is closed (no longer looked for) once its holder is provably gone, or after LOOK_FOR seconds.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.applying.reconcile import ADOPTED, Finding, submission_for
from runner.domain.events import Emit, Notice
from runner.domain.model import Program
from runner.domain.remote import RemoteRef
from runner.domain.vocabulary import Kind
from runner.errors import ProviderError, RunnerError
from runner.providers.pool import ProviderPool
from runner.state import Held, Store

LOOK_FOR = 7 * 24 * 3600.0  # a holder frozen longer than a week is assumed never to wake up


@dataclass(frozen=True)
class Duplicate:
    """A remote object carrying a stale send's token that the state does not record: to cancel."""

    address: str
    kind: Kind
    target: str
    remote_id: str
    token: str
    stale_owner: str

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "remote_id": self.remote_id,
            "token": self.token,
            "sent_by": self.stale_owner,
            "action": "cancel",
        }

    def describe(self) -> str:
        return f"{self.address}: duplicate remote object {self.remote_id} (sent by {self.stale_owner}): will cancel"


@dataclass(frozen=True)
class Sweep:
    """What looking for stale sends found: duplicates, sends that cannot be checked, and sends to close."""

    duplicates: tuple[Duplicate, ...] = ()
    unchecked: tuple[str, ...] = ()  # one sentence per stale send the provider keeps nothing findable for
    closable: tuple[tuple[int, str], ...] = ()  # (stale send id, why it is no longer looked for)


def sweep(
    store: Store,
    pool: ProviderPool,
    programs: Mapping[str, Program],
    adopted: Collection[str] = (),
    now: float | None = None,
) -> Sweep:
    """Look for duplicates of every open stale send. Reads the state, writes nothing.

    `adopted`: remote ids reconciliation is about to record (a plan records nothing): never duplicates.
    """
    now = time.time() if now is None else now
    duplicates: list[Duplicate] = []
    unchecked: list[str] = []
    closable: list[tuple[int, str]] = []
    for stale in store.stale_sends():
        found = _check(store, pool, programs, stale, adopted)
        if isinstance(found, str):
            unchecked.append(found)
        else:
            duplicates.extend(found)
        gone = _gone(stale)
        if gone or now - float(stale["noted_epoch"]) > LOOK_FOR:
            closable.append((int(stale["id"]), "its holder is gone" if gone else "looked for long enough"))
    return Sweep(tuple(duplicates), tuple(unchecked), tuple(closable))


def _check(
    store: Store,
    pool: ProviderPool,
    programs: Mapping[str, Program],
    stale: Mapping[str, Any],
    adopted: Collection[str],
) -> list[Duplicate] | str:
    address, generation = str(stale["address"]), int(stale["generation"])
    gens = store.generations(address)
    gen = next((g for g in gens if g["generation"] == generation), None)
    rec = store.resource(address)
    if gen is None or rec is None:
        return []  # forgotten since: nothing of it is managed any more
    provider = pool.get(rec.target)
    if rec.kind not in provider.spec.findable:
        return (
            f"{address}: {provider.spec.name} keeps nothing runner can find a {rec.kind} by, so a duplicate sent by "
            f"{stale['stale_owner']} after it lost its lease cannot be found; check the provider's console"
        )
    intent = {"token": stale["token"], "fingerprint": gen["fingerprint"], "created_at": stale["noted_at"]}
    sub = submission_for(rec, gen, intent, programs)
    try:
        found = provider.find(sub, since=float(stale["noted_epoch"]) - 3600)
    except (ProviderError, RunnerError):
        return []  # unreachable now: looked for again next time
    known = {g["remote_id"] for g in gens if g.get("remote_id")} | set(adopted)
    return [
        Duplicate(address, rec.kind, rec.target, o.remote_id, str(stale["token"]), str(stale["stale_owner"]))
        for o in found
        if o.remote_id not in known and not o.terminal
    ]


def _gone(stale: Mapping[str, Any]) -> bool:
    """The stale holder was a process on this machine that no longer exists: it can send nothing more."""
    if stale["stale_host"] != socket.gethostname():
        return False
    try:
        if str(os.stat("/proc/self/ns/pid").st_ino) != stale["stale_ns"]:
            return False
        os.kill(int(stale["stale_pid"]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def settle(store: Store, pool: ProviderPool, found: Sweep, emit: Emit, lease: Held | None) -> list[str]:
    """Under the lease: cancel every duplicate, report it, close what needs no more looking. Returns failures."""
    failures: list[str] = []
    for dup in found.duplicates:
        if lease is not None and not lease.holds():
            failures.append(f"{dup.address}: duplicate {dup.remote_id} not cancelled: the lease cannot be proven")
            break
        try:
            obs = pool.get(dup.target).cancel(RemoteRef(dup.kind, dup.remote_id))
        except (ProviderError, RunnerError) as exc:
            failures.append(f"{dup.address}: could not cancel duplicate {dup.remote_id}: {exc.message}")
            continue
        said = f"{dup.address}: cancelled duplicate remote object {dup.remote_id} ({obs.status})"
        emit(Notice(f"{said}, sent by {dup.stale_owner}", "warning"))
    for line in found.unchecked:
        emit(Notice(line, "warning"))
    if found.closable:
        with store.transaction(bump=False) as txn:
            for stale_id, why in found.closable:
                txn.close_stale_send(stale_id, why)
    return failures


def from_findings(findings: Sequence[Finding], store: Store) -> list[Duplicate]:
    """The extra remote objects reconciliation found carrying an adopted intent's token."""
    out = []
    for f in findings:
        if f.outcome != ADOPTED or not f.candidates:
            continue
        rec = store.resource(f.address)
        if rec is None:
            continue
        token = next((g["token"] for g in store.generations(f.address) if g["generation"] == f.generation), "")
        out += [
            Duplicate(f.address, rec.kind, rec.target, c, token, "a run that lost the state lock") for c in f.candidates
        ]
    return out
