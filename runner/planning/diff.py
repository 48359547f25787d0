"""Pure diff of desired against recorded resources: a sorted list of actions, each with a reason."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runner.domain.model import Attrs
from runner.domain.resources import Desired, Recorded
from runner.errors import PlanError
from runner.providers.base import SUBMIT_FAILED, SUBMITTING, TERMINAL

ACTIONS = ("create", "update", "replace", "delete", "noop")
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "noop": " "}


@dataclass(frozen=True)
class Change:
    """One planned action on one address."""

    address: str
    kind: str
    action: str
    reason: str
    desired: Desired | None = None
    recorded: Recorded | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Sorted changes; a value that renders as text or JSON and that apply executes."""

    changes: tuple[Change, ...]
    untargeted: int = 0  # changes left out by --target/--exclude

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def pending(self) -> list[Change]:
        """Changes that do something."""
        return [c for c in self.changes if c.action != "noop"]

    def has_changes(self) -> bool:
        return any(c.action != "noop" for c in self.changes)

    def blocked(self) -> list[Change]:
        """Addresses reconciliation could not settle: no action until someone looks."""
        return [c for c in self.changes if c.details.get("blocked")]


def diff(
    desired: Iterable[Desired],
    recorded: Mapping[str, Recorded],
    *,
    force_replace: Collection[str] = (),
    blocked: Mapping[str, str] | None = None,
) -> Plan:
    """Compare; refuse (PlanError) to delete or replace protected resources.

    `blocked` maps addresses reconciliation could not settle to why: they get no action.
    """
    wanted = {d.address: d for d in desired}
    changes = {a: _compare(d, recorded.get(a), a in force_replace) for a, d in wanted.items()}
    for addr, why in (blocked or {}).items():
        if addr in changes:
            changes[addr] = Change(
                addr,
                changes[addr].kind,
                "noop",
                f"blocked: {why}",
                changes[addr].desired,
                changes[addr].recorded,
                {"blocked": True},
            )
    for addr, rec in recorded.items():
        if addr not in wanted:
            changes[addr] = _delete(rec)
    _cascade(changes)
    _grow_containers(changes)
    _refuse_protected(changes.values())
    return Plan(tuple(changes[a] for a in sorted(changes)))


def _compare(d: Desired, rec: Recorded | None, forced: bool) -> Change:
    if rec is None:
        return Change(d.address, d.kind, "create", "not in state", d)
    if rec.status == SUBMITTING:
        return Change(d.address, d.kind, "create", "the last submission did not finish; submitting again", d, rec)
    if rec.status == SUBMIT_FAILED:
        error = rec.detail.get("error", "rejected")
        return Change(d.address, d.kind, "create", f"the last submission failed ({error}); submitting again", d, rec)
    if forced:
        return Change(d.address, d.kind, "replace", "forced by --replace", d, rec)
    if rec.fingerprint != d.fingerprint:
        return Change(d.address, d.kind, "replace", _spec_reason(rec.spec, d.spec), d, rec)
    lifecycle = _lifecycle(d, rec)
    if lifecycle is not None:
        return lifecycle
    if rec.attrs == d.attrs and rec.protect == d.protect:  # the common case, without building a reason
        return Change(d.address, d.kind, "noop", "unchanged", d, rec)
    attrs = _attrs_reason(rec.attrs, d.attrs)
    if rec.protect != d.protect:
        flag = f"protect turned {'on' if d.protect else 'off'}"
        attrs = f"{attrs}; {flag}" if attrs else flag
    if attrs:
        return Change(d.address, d.kind, "update", attrs, d, rec, {"attrs": True})
    return Change(d.address, d.kind, "noop", "unchanged", d, rec)


def _delete(rec: Recorded) -> Change:
    running = rec.status not in TERMINAL and rec.remote_id is not None
    reason = "not in the manifest" + ("; cancel it (still running)" if running else "")
    return Change(rec.address, rec.kind, "delete", reason, None, rec, {"cancel": running})


def _lifecycle(d: Desired, rec: Recorded) -> Change | None:
    """Open/close transitions of sessions and batches."""
    key = "keep_open" if d.kind == "session" else "open" if d.kind == "batch" else None
    if key is None:
        return None
    was, now = bool(rec.lifecycle.get(key)), bool(d.lifecycle.get(key))
    if was == now:
        return None
    closed = bool(rec.lifecycle.get("closed"))
    if now and closed:
        return Change(
            d.address, d.kind, "replace", f"{key} turned on, but the {d.kind} is closed and cannot reopen", d, rec
        )
    if not now:
        return Change(d.address, d.kind, "update", f"{key} turned off: close the {d.kind}", d, rec, {"close": True})
    return Change(d.address, d.kind, "update", f"{key} turned on: leave the {d.kind} open", d, rec, {"lifecycle": True})


def _cascade(changes: dict[str, Change]) -> None:
    """Children of a replaced session or batch are replaced with it (renewals keep their children)."""
    renewed = {
        a
        for a, c in changes.items()
        if c.action == "replace" and c.kind in ("session", "batch") and not c.details.get("renew")
    }
    for addr, change in list(changes.items()):
        parent = change.desired.parent if change.desired else None
        if parent in renewed and change.action in ("noop", "update"):
            changes[addr] = replace(change, action="replace", reason=f"replaced with its parent {parent}", details={})


def _grow_containers(changes: dict[str, Change]) -> None:
    """New children of an existing session or batch.

    An open batch takes them in place (add_jobs). A closed session or batch cannot: it is
    renewed, a new generation holding only the new children, while the existing children stay
    where they ran.
    """
    added: dict[str, list[str]] = {}
    for addr, change in changes.items():
        parent_addr = change.desired.parent if change.desired else None
        if change.action == "create" and parent_addr is not None and parent_addr in changes:
            added.setdefault(parent_addr, []).append(addr)
    for parent_addr, children in added.items():
        parent = changes[parent_addr]
        rec = parent.recorded
        if parent.action not in ("noop", "update") or rec is None:
            continue
        closed = bool(rec.lifecycle.get("closed")) or rec.status in TERMINAL
        if closed:
            why = "closed" if rec.lifecycle.get("closed") else rec.status
            changes[parent_addr] = replace(
                parent,
                action="replace",
                details={"renew": True},
                reason=f"{len(children)} new job(s), but the {parent.kind} is {why}: "
                f"a new {parent.kind} takes them (the others stay where they ran)",
            )
        elif parent.kind == "batch":
            reason = f"add {len(children)} job(s) to the open batch"
            if parent.action == "update":
                reason = f"{parent.reason}; {reason}"
            changes[parent_addr] = replace(
                parent, action="update", reason=reason, details={**parent.details, "add_jobs": sorted(children)}
            )


def _refuse_protected(changes: Iterable[Change]) -> None:
    refused = [
        f"{c.address} ({c.action}: {c.reason})"
        for c in changes
        if c.action in ("replace", "delete")
        and ((c.desired and c.desired.protect) or (c.recorded and c.recorded.protect))
    ]
    if refused:
        raise PlanError(
            "refusing to change protected resources: "
            + "; ".join(refused)
            + ". Set protect: false and apply that first if this is intended"
        )


def _spec_reason(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "shots" or key == "runs":
            parts.append(f"{key} {old} -> {new}")
        elif key == "target":
            parts.append(f"target {_target(old)} -> {_target(new)}")
        elif key == "params" or key == "variables":
            parts.append(f"{key} " + _dict_delta(old or {}, new or {}))
        elif key in ("programs", "sequence"):
            parts.append("program changed")
        elif key in ("session", "batch"):
            parts.append(f"{key} changed")
        else:
            parts.append(f"{key} changed")
    return "; ".join(parts) or "spec changed"


def _target(identity: Any) -> str:
    if isinstance(identity, Mapping):
        return f"{identity.get('provider')}:{identity.get('target')}"
    return str(identity)


def _dict_delta(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k, '(none)')} -> {new.get(k, '(none)')}" for k in keys if old.get(k) != new.get(k))


def _attrs_reason(old: Attrs, new: Attrs) -> str:
    parts = []
    added, removed = sorted(set(new.tags) - set(old.tags)), sorted(set(old.tags) - set(new.tags))
    if added or removed:
        parts.append("tags " + " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)]))
    if dict(old.metadata) != dict(new.metadata):
        keys = sorted(k for k in set(old.metadata) | set(new.metadata) if old.metadata.get(k) != new.metadata.get(k))
        parts.append("metadata " + ", ".join(keys))
    if old.name != new.name:
        parts.append(f"name {old.name or '(default)'} -> {new.name or '(default)'}")
    return "; ".join(parts)


def narrow(plan: Plan, include: Collection[str] = (), exclude: Collection[str] = ()) -> Plan:
    """Keep the changes --target selects and --exclude does not (patterns: addresses, globs, tag:NAME).

    A kept change brings the parent it needs (a session or batch being created), and a batch
    being created brings its new jobs. Asking for a change whose parent is excluded is an error.
    """
    if not include and not exclude:
        return plan
    by_address = {c.address: c for c in plan.changes}
    keep = {c.address for c in plan.changes if (not include or _chosen(c, include)) and not _chosen(c, exclude)}
    for addr in list(keep):
        wanted = by_address[addr].desired
        parent = wanted.parent if wanted else None
        needed = by_address.get(parent or "")
        if needed is not None and needed.action != "noop" and parent not in keep:
            if _chosen(needed, exclude):
                raise PlanError(f"{addr} needs {parent} ({needed.action}), which --exclude leaves out")
            keep.add(needed.address)
    for change in plan.changes:
        parent = change.desired.parent if change.desired else None
        creating = change.kind == "batch_job" and change.action in ("create", "replace")
        if creating and parent in keep and by_address[parent or ""].action in ("create", "replace"):
            keep.add(change.address)  # a new batch is created with its jobs in one call
    kept = tuple(c for c in plan.changes if c.address in keep)
    left_out = sum(1 for c in plan.changes if c.address not in keep and c.action != "noop")
    return Plan(kept, untargeted=left_out)


def _chosen(change: Change, patterns: Collection[str]) -> bool:
    from runner.domain import address

    holder = change.desired or change.recorded
    tags = set(holder.attrs.tags) if holder else set()
    return any(
        p.removeprefix("tag:") in tags if p.startswith("tag:") else address.matches(change.address, p) for p in patterns
    )
