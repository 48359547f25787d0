"""Pure diff of desired against recorded resources: a sorted list of actions, each with a reason.

An edit of tags, metadata or name is an `update` only for the attributes the resource's provider
changes in place (its ProviderSpec.mutable, passed in as `mutable`); any other edit is a `record`
(kept in the state only, said so in the reason), or a `replace` when the caller asks for that.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any, Literal

from runner.domain.model import Attrs
from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import (
    ATTRIBUTES,
    CONTAINERS,
    SUBMIT_FAILED,
    SUBMITTING,
    TERMINAL,
    Action,
    Attribute,
    Kind,
)
from runner.errors import PlanError
from runner.planning import moves
from runner.planning.changes import Change, Plan

Mutable = Callable[[str, Kind], frozenset[Attribute]]  # (provider, kind) -> attributes changed in place
Unchangeable = Literal["record", "replace"]


def everything(provider: str, kind: Kind) -> frozenset[Attribute]:
    """A `mutable` for tests of the diff alone: every attribute changes in place."""
    return frozenset(ATTRIBUTES)


def diff(
    desired: Iterable[Desired],
    recorded: Mapping[str, Recorded],
    *,
    force_replace: Collection[str] = (),
    blocked: Mapping[str, str] | None = None,
    mutable: Mutable = everything,
    unchangeable: Unchangeable = "record",
    renamed: Mapping[str, str] | None = None,
) -> Plan:
    """Compare; refuse (PlanError) to delete or replace protected resources.

    `blocked` maps addresses reconciliation could not settle to why: they get no action.
    `unchangeable` says what an edit the provider cannot make becomes: a `record`, or a `replace`.
    `renamed` (old -> new, from runner.planning.moves.renames) compares each renamed record under its
    new address: a `move`, or whatever else its edits need, carried out after the move.
    """
    wanted = {d.address: d for d in desired}
    recorded, moved_from = _moved(recorded, renamed or {})
    changes = {a: _compare(d, recorded.get(a), a in force_replace, mutable, unchangeable) for a, d in wanted.items()}
    for addr, was in moved_from.items():
        changes[addr] = _as_move(changes[addr], was)
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


def _moved(recorded: Mapping[str, Recorded], renamed: Mapping[str, str]) -> tuple[dict[str, Recorded], dict[str, str]]:
    """The records as they will read once the renames are made, and new -> old for the renamed ones."""
    view = dict(recorded)
    moved_from = {}
    for new, (old, rec) in moves.readdressed(recorded, renamed).items():
        del view[old]
        view[new] = rec
        if new != old:
            moved_from[new] = old
    return view, moved_from


def _as_move(change: Change, old: str) -> Change:
    if change.action == "noop" and not change.blocked:
        return replace(change, action="move", reason=f"moved from {old}", moved_from=old)
    return replace(change, reason=f"moved from {old}; {change.reason}", moved_from=old)


def _compare(d: Desired, rec: Recorded | None, forced: bool, mutable: Mutable, unchangeable: Unchangeable) -> Change:
    if rec is None:
        return Change(d.address, d.kind, "create", "not in state", d)
    if rec.status == SUBMITTING:
        return Change(d.address, d.kind, "create", "the last submission did not finish; submitting again", d, rec)
    if rec.status == SUBMIT_FAILED:
        error = rec.detail.get("error", "rejected")
        return Change(d.address, d.kind, "create", f"the last submission failed ({error}); submitting again", d, rec)
    if forced:
        return Change(d.address, d.kind, "replace", "forced by --replace", d, rec)
    if rec.service and d.service and rec.service != d.service:
        return Change(
            d.address,
            d.kind,
            "replace",
            f"the recorded generation lives on another service ({rec.service}) than target '{d.target}' now "
            f"points at ({d.service}): a new generation is submitted there, the old one is left untouched where it "
            "is (`runner state rm` forgets it instead)",
            d,
            rec,
        )
    if rec.fingerprint != d.fingerprint:
        return Change(d.address, d.kind, "replace", _spec_reason(rec.spec, d.spec), d, rec)
    if rec.attrs == d.attrs and rec.protect == d.protect and rec.lifecycle == d.lifecycle:
        return Change(d.address, d.kind, "noop", "unchanged", d, rec)  # the common case, without building a reason
    return _in_place(d, rec, mutable, unchangeable)


def _in_place(d: Desired, rec: Recorded, mutable: Mutable, unchangeable: Unchangeable) -> Change:
    """What changes without a new generation: open/close, attributes, protect; every part said in the reason."""
    key = "keep_open" if d.kind == "session" else "open" if d.kind == "batch" else None
    was, now = (bool(rec.lifecycle.get(key)), bool(d.lifecycle.get(key))) if key else (False, False)
    if now and not was and rec.lifecycle.get("closed"):
        return Change(
            d.address, d.kind, "replace", f"{key} turned on, but the {d.kind} is closed and cannot reopen", d, rec
        )
    changed = {a for a in ATTRIBUTES if _attribute(rec.attrs, a) != _attribute(d.attrs, a)}
    remote = changed & mutable(d.provider, d.kind)
    local = changed - remote
    if local and unchangeable == "replace":
        why = _attrs_reason(rec.attrs, d.attrs, local)
        return Change(
            d.address,
            d.kind,
            "replace",
            f"{why}: the provider cannot change {_names(local)} in place, so a new generation carries it "
            "(--unchangeable replace)",
            d,
            rec,
        )
    parts = []
    if was and not now:
        parts.append(f"{key} turned off: close the {d.kind}")
    if now and not was:
        parts.append(f"{key} turned on: leave the {d.kind} open")
    if remote:
        parts.append(_attrs_reason(rec.attrs, d.attrs, remote))
    if local:
        where = f"{d.provider} cannot change {_names(local)} in place: recorded locally only"
        parts.append(f"{_attrs_reason(rec.attrs, d.attrs, local)} ({where})")
    if rec.protect != d.protect:
        parts.append(f"protect turned {'on' if d.protect else 'off'} (runner's own setting)")
    if not parts:
        return Change(d.address, d.kind, "noop", "unchanged", d, rec)
    closing = bool(was and not now)
    action: Action = "update" if closing or remote else "record"
    return Change(
        d.address,
        d.kind,
        action,
        "; ".join(parts),
        d,
        rec,
        update_attrs=bool(remote),
        close=closing,
        keep_open=bool(now and not was),
    )


def _attribute(attrs: Attrs, name: Attribute) -> Any:
    if name == "tags":
        return sorted(attrs.tags)
    if name == "metadata":
        return dict(attrs.metadata)
    return attrs.name


def _names(attrs: Collection[Attribute]) -> str:
    return " or ".join(a for a in ATTRIBUTES if a in attrs)


def _delete(rec: Recorded) -> Change:
    running = rec.status not in TERMINAL and rec.remote_id is not None
    reason = "not in the manifest" + ("; cancel it (still running)" if running else "")
    return Change(rec.address, rec.kind, "delete", reason, None, rec, cancel=running)


def _cascade(changes: dict[str, Change]) -> None:
    """Children of a replaced session or batch are replaced with it (renewals keep their children)."""
    renewed = {a for a, c in changes.items() if c.action == "replace" and c.kind in CONTAINERS and not c.renew}
    for addr, change in list(changes.items()):
        parent = change.desired.parent if change.desired else None
        if parent in renewed and change.action in ("noop", "update", "record"):
            changes[addr] = Change(
                addr, change.kind, "replace", f"replaced with its parent {parent}", change.desired, change.recorded
            )


def _grow_containers(changes: dict[str, Change]) -> None:
    """New children (and new generations of children) of an existing session or batch.

    An open batch takes them in place (add_jobs; a replaced job's old generation is cancelled). A
    closed session or batch cannot: it is renewed, a new generation holding only the new children,
    while the existing children stay where they ran.
    """
    added: dict[str, list[str]] = {}
    for addr, change in changes.items():
        parent_addr = change.desired.parent if change.desired else None
        if change.action in ("create", "replace") and parent_addr is not None and parent_addr in changes:
            added.setdefault(parent_addr, []).append(addr)
    for parent_addr, children in added.items():
        parent = changes[parent_addr]
        rec = parent.recorded
        if parent.action not in ("noop", "update", "record") or rec is None:
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
            if parent.action in ("update", "record"):
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


def _attrs_reason(old: Attrs, new: Attrs, which: Collection[Attribute] = ATTRIBUTES) -> str:
    parts = []
    added, removed = sorted(set(new.tags) - set(old.tags)), sorted(set(old.tags) - set(new.tags))
    if "tags" in which and (added or removed):
        parts.append("tags " + " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)]))
    if "metadata" in which and dict(old.metadata) != dict(new.metadata):
        keys = sorted(k for k in set(old.metadata) | set(new.metadata) if old.metadata.get(k) != new.metadata.get(k))
        parts.append("metadata " + ", ".join(keys))
    if "name" in which and old.name != new.name:
        parts.append(f"name {old.name or '(default)'} -> {new.name or '(default)'}")
    return "; ".join(parts)
