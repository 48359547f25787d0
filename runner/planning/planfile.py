"""Plans as JSON: the `plan --json` document, and saved plan files that apply can execute later.

A saved plan holds the desired resources (with program texts) and the identity of the state it
was made against (lineage and serial). Applying it recomputes the diff against the current
state and refuses if the state moved on, naming what changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner import __version__
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Budget, Program
from runner.domain.resources import Desired, Expansion
from runner.errors import PlanError, StalePlanError
from runner.planning.changes import Change, Plan
from runner.state import Snapshot, Store
from runner.state.codec import target_from

if TYPE_CHECKING:
    from runner.applying.reconcile import Finding
    from runner.planning.drift import Drift

FORMAT_VERSION = "1"
MARKER = "runner-plan"


def change_json(c: Change) -> dict[str, Any]:
    before, after = c.recorded, c.desired
    either = after or before
    return {
        "address": c.address,
        "kind": c.kind,
        "action": c.action,
        "reason": c.reason,
        "target": either.target if either else None,
        "generation": {"before": before.generation if before else None},
        "fingerprint": {
            "before": before.fingerprint if before else None,
            "after": after.fingerprint if after else None,
        },
        "details": c.flags(),
    }


def plan_json(
    plan: Plan,
    expansion: Expansion | None,
    snap: Snapshot,
    findings: Sequence[Finding] = (),
    drift: Sequence[Drift] = (),
) -> dict[str, Any]:
    """The documented JSON form of a plan (format_version 1)."""
    return {
        "format_version": FORMAT_VERSION,
        "runner_version": __version__,
        "manifest": {
            "path": expansion.manifest_path,
            "digest": expansion.manifest_digest,
            "desired_digest": desired_digest(expansion),
        }
        if expansion
        else None,
        "state": {"path": snap.path, "lineage": snap.lineage, "serial": snap.serial},
        "reconciliation": [f.as_json() for f in findings],
        "drift": [d.as_json() for d in drift],
        "changes": [change_json(c) for c in plan.changes],
        "untargeted": plan.untargeted,
        "summary": plan.summary(),
    }


def _desired_json(d: Desired) -> dict[str, Any]:
    out = asdict(d)
    out["attrs"] = {"tags": list(d.attrs.tags), "metadata": dict(d.attrs.metadata), "name": d.attrs.name}
    return out


def save(path: str, planned: Any) -> None:
    """Write a plan file (from an api.Planned) that `runner apply PLANFILE` can execute."""
    expansion = planned.expansion
    document = planned.as_json()
    document[MARKER] = 1
    document["payload"] = {
        "project": expansion.project,
        "resources": [_desired_json(d) for d in expansion.resources],
        "programs": {k: asdict(p) for k, p in expansion.programs.items()},
        "targets": {k: asdict(t) for k, t in expansion.targets.items()},
        "options": planned.options.as_json(),
        "budget": _budget_json(expansion.budget),
        "moved": dict(expansion.moved),
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=1, sort_keys=True)
        fh.write("\n")


def is_plan_file(path: str) -> bool:
    """True when path holds a saved plan rather than a manifest."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
            if head != b"{":
                return False
            fh.seek(0)
            return bool(json.load(fh).get(MARKER))
    except (OSError, ValueError, AttributeError):
        return False


def load(path: str) -> tuple[dict[str, Any], Expansion]:
    """Read a plan file back into its document and the expansion it carries."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot read plan file {path}: {exc}") from None
    if doc.get("format_version") != FORMAT_VERSION or not doc.get(MARKER):
        raise PlanError(f"{path} is not a runner plan file of format {FORMAT_VERSION}")
    payload = doc["payload"]
    expansion = Expansion(
        project=payload["project"],
        manifest_path=doc["manifest"]["path"],
        manifest_digest=doc["manifest"]["digest"],
        resources=tuple(_desired(r) for r in payload["resources"]),
        programs={k: Program(**p) for k, p in payload["programs"].items()},
        targets={k: target_from(t) for k, t in payload["targets"].items()},
        budget=_budget(payload.get("budget")),
        moved=dict(payload.get("moved") or {}),
    )
    return doc, expansion


def _desired(raw: Mapping[str, Any]) -> Desired:
    attrs = Attrs(tuple(raw["attrs"]["tags"]), raw["attrs"]["metadata"], raw["attrs"]["name"])
    return Desired(**{**raw, "attrs": attrs})


def _budget_json(budget: Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {"limits": {k: str(v) for k, v in budget.limits.items()}, "allow_unknown": budget.allow_unknown}


def _budget(raw: Mapping[str, Any] | None) -> Budget | None:
    if raw is None:
        return None
    return Budget({k: Decimal(v) for k, v in raw["limits"].items()}, bool(raw["allow_unknown"]))


def check_fresh(doc: Mapping[str, Any], state: Store, path: str) -> None:
    """Refuse a plan made against another state, or before the state last changed."""
    made = doc["state"]
    if made["lineage"] is not None and made["lineage"] != state.lineage:
        raise StalePlanError(
            f"{path} was made against another state file (lineage {made['lineage']}), "
            f"not {state.path} (lineage {state.lineage}); run `runner plan` again"
        )
    if made["serial"] != state.serial:
        changed = state.changed_since(int(made["serial"]))
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        runs = state.applies_since(int(made["serial"]))
        by = f" by {runs[-1]['operation']} #{runs[-1]['id']} at {runs[-1]['started_at']}" if runs else ""
        then = "it did not exist then" if made["lineage"] is None else f"serial {made['serial']}"
        raise StalePlanError(
            f"{path} is stale: the state changed since it was saved ({then}, now serial {state.serial}"
            f"{by}; written: {shown or 'state metadata'}); run `runner plan` again"
        )


def same_changes(doc: Mapping[str, Any], plan: Plan) -> bool:
    """The recomputed plan must match what was reviewed."""
    saved = [(c["address"], c["action"]) for c in doc["changes"]]
    return saved == [(c.address, c.action) for c in plan.changes]


def desired_digest(expansion: Expansion) -> str:
    """One digest of everything the manifest asks for (programs' contents included): equal digests, equal plans
    against the same state."""
    return digest(
        sorted(
            [d.address, d.fingerprint, _desired_json(d)["attrs"], dict(d.lifecycle), d.protect]
            for d in expansion.resources
        )
    )


def document_digest(doc: Mapping[str, Any]) -> str:
    return digest(doc)
