"""Pure diff of desired against recorded resources: a sorted list of actions, each with a reason."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from runner.domain.model import Attrs
from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import CONTAINERS, SUBMIT_FAILED, SUBMITTING, TERMINAL
from runner.errors import PlanError
from runner.planning.changes import Change, Plan


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
            old = changes[addr]
            changes[addr] = Change(addr, old.kind, "noop", f"blocked: {why}", old.desired, old.recorded, blocked=True)
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
        return Change(d.address, d.kind, "update", attrs, d, rec, update_attrs=True)
    return Change(d.address, d.kind, "noop", "unchanged", d, rec)


def _delete(rec: Recorded) -> Change:
    running = rec.status not in TERMINAL and rec.remote_id is not None
    reason = "not in the manifest" + ("; cancel it (still running)" if running else "")
    return Change(rec.address, rec.kind, "delete", reason, None, rec, cancel=running)


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
        return Change(d.address, d.kind, "update", f"{key} turned off: close the {d.kind}", d, rec, close=True)
    return Change(d.address, d.kind, "update", f"{key} turned on: leave the {d.kind} open", d, rec, keep_open=True)


def _cascade(changes: dict[str, Change]) -> None:
    """Children of a replaced session or batch are replaced with it (renewals keep their children)."""
    renewed = {a for a, c in changes.items() if c.action == "replace" and c.kind in CONTAINERS and not c.renew}
    for addr, change in list(changes.items()):
        parent = change.desired.parent if change.desired else None
        if parent in renewed and change.action in ("noop", "update"):
            changes[addr] = Change(
                addr, change.kind, "replace", f"replaced with its parent {parent}", change.desired, change.recorded
            )


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
                renew=True,
                reason=f"{len(children)} new job(s), but the {parent.kind} is {why}: "
                f"a new {parent.kind} takes them (the others stay where they ran)",
            )
        elif parent.kind == "batch":
            reason = f"add {len(children)} job(s) to the open batch"
            if parent.action == "update":
                reason = f"{parent.reason}; {reason}"
            changes[parent_addr] = replace(parent, action="update", reason=reason, add_jobs=tuple(sorted(children)))


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
