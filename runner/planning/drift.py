"""Drift: what changed at the providers without runner, seen by an in-memory refresh before planning.

Only resources that can still change are asked about (finished jobs never change, so a state of
finished jobs costs no request). A provider that cannot be reached, or that no longer knows a
resource, is reported as such: runner never reads an auth error or a 404 as "deleted".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.domain.remote import Observation, RemoteRef
from runner.domain.resources import Recorded
from runner.domain.vocabulary import TERMINAL
from runner.errors import ProviderError, RunnerError
from runner.providers.pool import ProviderPool
from runner.state import Store


@dataclass(frozen=True)
class Drift:
    """One difference between the state and the provider."""

    address: str
    what: str  # status | tags | closed | missing | unreachable
    before: Any
    after: Any
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "what": self.what,
            "before": self.before,
            "after": self.after,
            "message": self.message,
        }


@dataclass(frozen=True)
class Refreshed:
    """What an in-memory refresh saw: the drift, and observations to fold into the plan."""

    drift: tuple[Drift, ...]
    observed: Mapping[str, Observation]


def detect(state: Store, pool: ProviderPool) -> Refreshed:
    """Observe every live tracked resource; read-only."""
    rows = state.tracked(skip_statuses=TERMINAL)
    if not rows:
        return Refreshed((), {})
    recorded = state.recorded()
    drift: list[Drift] = []
    observed: dict[str, Observation] = {}
    for target, every in _by_target(rows).items():
        here = pool.targets[target][0].service() if target in pool.targets else ""
        group = [r for r in every if not (r["service"] and here and r["service"] != here)]  # moved: plan replaces
        if not group:
            continue
        refs = [RemoteRef(r["kind"], r["remote_id"], r["parent_remote_id"]) for r in group]
        try:
            seen = pool.get(target).observe(refs)
        except (ProviderError, RunnerError) as exc:
            drift.extend(
                Drift(
                    r["address"],
                    "unreachable",
                    r["status"],
                    None,
                    f"could not refresh target {target} ({exc.message}); drift unknown, nothing is assumed deleted",
                )
                for r in group
            )
            continue
        for row, obs in zip(group, seen, strict=True):
            observed[row["address"]] = obs
            drift.extend(_compare(recorded[row["address"]], obs))
    return Refreshed(tuple(drift), observed)


def _by_target(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["target"], []).append(row)
    return dict(sorted(grouped.items()))


def _compare(rec: Recorded, obs: Observation) -> list[Drift]:
    if obs.detail.get("missing"):
        return [
            Drift(
                rec.address,
                "missing",
                rec.remote_id,
                None,
                f"the provider no longer knows {rec.remote_id}; not treated as deleted "
                "(`runner state rm` forgets it; `runner apply --replace ADDRESS` submits it again)",
            )
        ]
    found: list[Drift] = []
    if obs.status != rec.status:
        found.append(
            Drift(
                rec.address,
                "status",
                rec.status,
                obs.status,
                f"{rec.status} -> {obs.status}" + (f" ({obs.raw_status})" if obs.raw_status else ""),
            )
        )
    tags = obs.detail.get("tags")
    if isinstance(tags, list) and sorted(tags) != sorted(rec.attrs.tags):
        found.append(
            Drift(
                rec.address,
                "tags",
                sorted(rec.attrs.tags),
                sorted(tags),
                f"tags edited outside runner: {', '.join(sorted(tags)) or '(none)'}",
            )
        )
    if rec.kind == "batch" and obs.detail.get("open") is False and not rec.lifecycle.get("closed"):
        found.append(Drift(rec.address, "closed", "open", "closed", "the batch was closed outside runner"))
    return found


def fold(recorded: Mapping[str, Recorded], refreshed: Refreshed) -> dict[str, Recorded]:
    """The recorded resources as the refresh saw them (for planning; nothing is written)."""
    out = dict(recorded)
    for address, obs in refreshed.observed.items():
        rec = out.get(address)
        if rec is None or obs.detail.get("missing"):
            continue
        attrs = rec.attrs
        if isinstance(obs.detail.get("tags"), list):
            attrs = replace(attrs, tags=tuple(sorted(obs.detail["tags"])))
        lifecycle = dict(rec.lifecycle)
        if rec.kind == "batch" and obs.detail.get("open") is False:
            lifecycle["closed"] = True
        out[address] = replace(rec, status=obs.status, attrs=attrs, lifecycle=lifecycle, detail=dict(obs.detail))
    return out


def record(state: Store, refreshed: Refreshed) -> None:
    """Write what the refresh saw (apply does this under its lock before executing)."""
    changed = {d.address for d in refreshed.drift if d.what in ("status", "closed")}
    if not changed:
        return
    recorded = state.recorded()
    with state.transaction() as txn:
        for address in sorted(changed):
            txn.observe(address, refreshed.observed[address])
            if any(d.address == address and d.what == "closed" for d in refreshed.drift):
                txn.set_lifecycle(address, {**recorded[address].lifecycle, "closed": True})
