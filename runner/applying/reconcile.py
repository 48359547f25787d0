"""Reconciliation: settle every intent whose outcome was never recorded, before planning.

An intent is written (and committed) before each call that creates something; its outcome is
committed after. If the process died in between, the next plan or apply asks the provider for
the intent's token:
  - found once        -> adopted: the remote id is recorded, nothing is submitted again;
  - not found         -> absent: the create is planned again, with the same token;
  - found several     -> ambiguous: reported with the candidates, nothing resubmitted;
  - provider unreachable -> unknown: not resubmitted this time (it might exist).
plan only reports this; apply records it under the lock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from runner.domain.model import Attrs, Program
from runner.domain.remote import Observation, RemoteRef
from runner.domain.resources import Recorded
from runner.errors import ProviderError, RunnerError
from runner.providers.base import Submission
from runner.providers.pool import ProviderPool
from runner.state import Store

ADOPTED, ABSENT, AMBIGUOUS, UNKNOWN = "adopted", "absent", "ambiguous", "unknown"


@dataclass(frozen=True)
class Finding:
    """What reconciliation learned about one unresolved intent."""

    address: str
    generation: int
    intent_id: int
    outcome: str
    message: str
    found: Observation | None = None
    candidates: tuple[str, ...] = field(default_factory=tuple)
    parent_remote_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "generation": self.generation,
            "outcome": self.outcome,
            "message": self.message,
            "remote_id": self.found.remote_id if self.found else None,
            "candidates": list(self.candidates),
        }


def findings(state: Store, pool: ProviderPool, programs: Mapping[str, Program] | None = None) -> list[Finding]:
    """Ask the providers about every open intent. Reads the state, writes nothing.

    Containers are settled first: a job created inside a batch in the same call learns its
    batch's id only from the batch's finding (absent batch, absent job).
    """
    intents = state.open_intents()
    if not intents:
        return []
    settled: dict[str, Finding] = {}
    for intent in sorted(intents, key=lambda i: (_rank(state, i["address"]), i["id"])):
        settled[intent["address"]] = _settle(state, pool, intent, programs or {}, settled)
    return sorted(settled.values(), key=lambda f: f.intent_id)


def _rank(state: Store, address: str) -> int:
    rec = state.resource(address)
    return 0 if rec is None or rec.kind in ("session", "batch") else 1


def _settle(
    state: Store,
    pool: ProviderPool,
    intent: Mapping[str, Any],
    programs: Mapping[str, Program],
    settled: Mapping[str, Finding],
) -> Finding:
    address, generation = intent["address"], intent["generation"]
    rec = state.resource(address)
    gen = next((g for g in state.generations(address) if g["generation"] == generation), None)
    base = {"address": address, "generation": generation, "intent_id": intent["id"]}
    if rec is None or gen is None:
        return Finding(**base, outcome=ABSENT, message="the resource is no longer recorded")
    parent = settled.get(rec.parent or "")
    if parent is not None and not gen.get("parent_remote_id"):
        if parent.outcome == ABSENT:
            return Finding(**base, outcome=ABSENT, message=f"{parent.address} was not created, so neither was this")
        if parent.outcome != ADOPTED or parent.found is None:
            return Finding(**base, outcome=UNKNOWN, message=f"waits for {parent.address} to be settled")
        gen = {**gen, "parent_remote_id": parent.found.remote_id}
    sub = submission_for(rec, gen, intent, programs)
    since = _epoch(intent["created_at"])
    try:
        provider = pool.get(rec.target)
        if rec.kind not in provider.spec.findable:
            return Finding(
                **base,
                outcome=UNKNOWN,
                message=f"{provider.spec.name} keeps nothing runner can find a {rec.kind} by, so whether the "
                "interrupted create happened is unknown; not submitting it again. Look in the provider's console, "
                "then `runner import` it or `runner state rm` it",
            )
        found = provider.find(sub, since=since)
    except (ProviderError, RunnerError) as exc:
        return Finding(
            **base,
            outcome=UNKNOWN,
            message=f"could not check whether it was created ({exc.message}); not submitting it again",
        )
    if len(found) == 1:
        return Finding(
            **base,
            outcome=ADOPTED,
            found=found[0],
            parent_remote_id=gen.get("parent_remote_id"),
            message=f"the interrupted create did happen: adopted {found[0].remote_id}",
        )
    if not found:
        return Finding(**base, outcome=ABSENT, message="the interrupted create did not happen: it will be submitted")
    ids = tuple(o.remote_id for o in found)
    if rec.kind != "batch_job":  # one token, one create: the others were sent again by a run that lost its lease
        kept = next((o for o in found if not o.terminal), found[0])
        others = tuple(i for i in ids if i != kept.remote_id)
        return Finding(
            **base,
            outcome=ADOPTED,
            found=kept,
            candidates=others,
            parent_remote_id=gen.get("parent_remote_id"),
            message=f"the interrupted create did happen, {len(ids)} times: adopted {kept.remote_id}; duplicate "
            f"remote object(s) {', '.join(others)}: will cancel",
        )
    return Finding(
        **base,
        outcome=AMBIGUOUS,
        candidates=ids,
        message=f"{len(ids)} remote candidates carry its token ({', '.join(ids)}); not submitting again. "
        "Keep one with `runner import` and cancel the others",
    )


def submission_for(
    rec: Recorded, gen: Mapping[str, Any], intent: Mapping[str, Any], programs: Mapping[str, Program]
) -> Submission:
    spec = gen["spec"]
    digests = [p["digest"] for p in spec.get("programs", ())]
    if "sequence" in spec:
        digests = [spec["sequence"]["digest"]]
    parent = (
        RemoteRef("batch" if rec.kind == "batch_job" else "session", gen["parent_remote_id"])
        if gen.get("parent_remote_id")
        else None
    )
    return Submission(
        address=rec.address,
        kind=rec.kind,
        generation=gen["generation"],
        token=intent["token"],
        fingerprint=intent["fingerprint"],
        spec=spec,
        attrs=rec.attrs or Attrs(),
        programs=tuple(programs[d] for d in digests if d in programs),
        parent=parent,
        # a job rerun by rebatch is found through its lineage, not through its (unknown) new batch
        lifecycle=gen["origin"] if (gen.get("origin") or {}).get("rebatch_of") else rec.lifecycle,
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def adjusted(recorded: Mapping[str, Recorded], found: list[Finding]) -> tuple[dict[str, Recorded], dict[str, str]]:
    """The recorded resources as they will be once the findings are written, plus blocked addresses."""
    out = dict(recorded)
    blocked: dict[str, str] = {}
    for f in found:
        rec = out.get(f.address)
        if rec is None or rec.generation != f.generation:
            continue
        if f.outcome == ADOPTED and f.found is not None:
            out[f.address] = replace(
                rec, status=f.found.status, remote_id=f.found.remote_id, detail=dict(f.found.detail)
            )
        elif f.outcome in (AMBIGUOUS, UNKNOWN):
            blocked[f.address] = f.message
    return out, blocked


def record(state: Store, found: list[Finding]) -> None:
    """Write the findings (apply does this under the lock, before executing its plan)."""
    if not found:
        return
    with state.transaction() as txn:
        for f in found:
            if f.outcome == ADOPTED and f.found is not None:
                txn.succeed(f.address, f.generation, f.found, f.intent_id, {"adopted": True}, f.parent_remote_id)
                rec = state.resource(f.address)
                if rec is not None and rec.kind == "batch":  # created closed unless declared open
                    txn.set_lifecycle(f.address, {**rec.lifecycle, "closed": not rec.lifecycle.get("open")})
            elif f.outcome == ABSENT:
                txn.settle_intent(f.intent_id, "absent", {"message": f.message})
            elif f.outcome == AMBIGUOUS:
                txn.settle_intent(f.intent_id, "ambiguous", {"candidates": list(f.candidates)}, keep_open=True)


def describe(found: list[Finding]) -> list[str]:
    """One line per finding, for plan and apply output."""
    return [f"{f.address}: {f.message}" for f in found]


def dumps(found: list[Finding]) -> str:
    return json.dumps([f.as_json() for f in found])
