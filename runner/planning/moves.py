"""Renames (the manifest's `moved` entries, `runner state mv`): which recorded addresses move, and how they read after.

Pure: plan uses it to compare each renamed record with what the manifest declares under the new
name; apply and `state mv` use the very same answer to rewrite the state. A rename keeps a
resource's generations, remote ids and results. Moving a session or batch moves what belongs to
it: a batch's jobs (their addresses start with the batch's), and a session's jobs learn their
session's new address (it is part of their spec, so their fingerprint follows it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from runner.domain.fingerprint import digest
from runner.domain.resources import Recorded
from runner.errors import PlanError


def members(addresses: Iterable[str], source: str, dest: str) -> dict[str, str]:
    """Old -> new for the addresses a rename names: the resource itself, its sweep points, its batch jobs."""
    out = {}
    for addr in addresses:
        if addr == source or addr.startswith((source + "[", source + ".")):
            out[addr] = dest + addr[len(source) :]
    return out


def renames(
    recorded: Mapping[str, Recorded], moved: Mapping[str, str], wanted: Collection[str], occupied: Collection[str] = ()
) -> dict[str, str]:
    """What the manifest's `moved` entries rename now: recorded members whose new address is declared.

    An entry already carried out (nothing recorded under the old name) renames nothing. A member the
    manifest no longer declares under the new name is not moved: it is deleted under its old one.
    `occupied` holds the addresses with history in the state: a rename onto one of them is refused.
    """
    out: dict[str, str] = {}
    for source, dest in sorted(moved.items()):
        for old, new in members(recorded, source, dest).items():
            if new not in wanted:
                continue
            if new in recorded:
                raise PlanError(
                    f"moved: {old} -> {new}, but the state records both: `runner state rm` the one to forget, "
                    "or remove the moved entry"
                )
            if new in occupied:
                raise PlanError(
                    f"moved: {old} -> {new}, but the state keeps the history of an earlier {new} (deleted or "
                    "forgotten): move it to a name that never ran, or remove the moved entry"
                )
            out[old] = new
    return out


def readdressed(recorded: Mapping[str, Recorded], renamed: Mapping[str, str]) -> dict[str, tuple[str, Recorded]]:
    """New address -> (old address, the record as the state will hold it) for every record a rename touches.

    That is each renamed record, and the children of a renamed session or batch: their parent, and a
    session job's spec (which names its session), change with it.
    """
    out: dict[str, tuple[str, Recorded]] = {}
    for old, rec in recorded.items():
        new = renamed.get(old, old)
        parent = renamed.get(rec.parent, rec.parent) if rec.parent else rec.parent
        spec, fingerprint = _respec(rec, renamed)
        if (new, parent, fingerprint) != (old, rec.parent, rec.fingerprint):
            out[new] = (old, replace(rec, address=new, parent=parent, spec=spec, fingerprint=fingerprint))
    return out


def _respec(rec: Recorded, renamed: Mapping[str, str]) -> tuple[Mapping[str, Any], str]:
    """A job's spec names its session (address and fingerprint): a renamed session renames it there too."""
    session = rec.spec.get("session") if rec.kind == "job" else None
    if not isinstance(session, Mapping) or session.get("address") not in renamed:
        return rec.spec, rec.fingerprint
    spec = {**rec.spec, "session": {**session, "address": renamed[session["address"]]}}
    return spec, digest(spec)
