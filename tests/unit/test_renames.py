"""Renames, pure: which recorded addresses a `moved` entry renames, how they read after, and what plan shows."""

from __future__ import annotations

from typing import Any

import pytest

from runner.domain.fingerprint import digest
from runner.domain.model import Attrs
from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import Kind
from runner.errors import PlanError
from runner.planning import moves
from runner.planning.diff import diff


def desired(
    address: str, *, shots: int = 100, tags: tuple[str, ...] = (), kind: Kind = "job", parent: str | None = None
) -> Desired:
    spec = {"kind": kind, "shots": shots}
    return Desired(address, kind, address, "sim", "local", parent, spec, Attrs(tags), digest(spec))


def recorded(d: Desired) -> Recorded:
    return Recorded(
        d.address, d.kind, d.target, d.provider, d.parent, 1, d.fingerprint, d.spec, d.attrs, "succeeded", "r-1"
    )


def actions(plan: Any) -> list[tuple[str, str, str]]:
    return [(c.address, c.action, c.reason) for c in plan.changes]


def test_members_are_the_resource_its_sweep_points_and_its_batch_jobs() -> None:
    recorded_ = [
        "job.bell",
        "job.bell_pair",
        "job.rabi[a=1]",
        "job.rabi[a=2]",
        "batch.s",
        "batch.s.job[w=1]",
        "batch.st",
    ]
    assert moves.members(recorded_, "job.bell", "job.b") == {"job.bell": "job.b"}
    assert moves.members(recorded_, "job.rabi", "job.r") == {
        "job.rabi[a=1]": "job.r[a=1]",
        "job.rabi[a=2]": "job.r[a=2]",
    }
    assert moves.members(recorded_, "batch.s", "batch.t") == {
        "batch.s": "batch.t",
        "batch.s.job[w=1]": "batch.t.job[w=1]",
    }


def sweep(name: str, values: list[float], **kw: Any) -> list[Desired]:
    return [desired(f"job.{name}[theta={v}]", **kw) for v in values]


def test_a_renamed_sweep_plans_only_moves() -> None:
    old = sweep("rabi", [0.1, 0.2])
    state = {d.address: recorded(d) for d in old}
    new = sweep("rabi_fine", [0.1, 0.2])
    renamed = moves.renames(state, {"job.rabi": "job.rabi_fine"}, {d.address for d in new})
    plan = diff(new, state, renamed=renamed)
    assert actions(plan) == [
        ("job.rabi_fine[theta=0.1]", "move", "moved from job.rabi[theta=0.1]"),
        ("job.rabi_fine[theta=0.2]", "move", "moved from job.rabi[theta=0.2]"),
    ]
    assert plan.summary()["create"] == plan.summary()["delete"] == 0
    assert [c.flags() for c in plan.changes] == [
        {"moved_from": "job.rabi[theta=0.1]"},
        {"moved_from": "job.rabi[theta=0.2]"},
    ]
    assert all(c.recorded is not None and c.recorded.remote_id == "r-1" for c in plan.changes)


def test_a_moved_resource_with_edits_says_both() -> None:
    state = {"job.a": recorded(desired("job.a"))}
    plan = diff([desired("job.b", shots=200)], state, renamed=moves.renames(state, {"job.a": "job.b"}, {"job.b"}))
    assert actions(plan) == [("job.b", "replace", "moved from job.a; shots 100 -> 200")]
    assert plan.changes[0].moved_from == "job.a"
    plan = diff([desired("job.b", tags=("x",))], state, renamed={"job.a": "job.b"})
    assert actions(plan) == [("job.b", "update", "moved from job.a; tags +x")]


def test_points_no_longer_declared_are_deleted_under_their_old_address() -> None:
    state = {d.address: recorded(d) for d in sweep("rabi", [0.1, 0.2])}
    new = sweep("fine", [0.1, 0.3])
    renamed = moves.renames(state, {"job.rabi": "job.fine"}, {d.address for d in new})
    assert renamed == {"job.rabi[theta=0.1]": "job.fine[theta=0.1]"}
    assert [(a, act) for a, act, _ in actions(diff(new, state, renamed=renamed))] == [
        ("job.fine[theta=0.1]", "move"),
        ("job.fine[theta=0.3]", "create"),
        ("job.rabi[theta=0.2]", "delete"),
    ]


def test_a_carried_out_rename_renames_nothing() -> None:
    state = {"job.b": recorded(desired("job.b"))}
    assert moves.renames(state, {"job.a": "job.b"}, {"job.b"}) == {}


def test_a_rename_onto_a_recorded_or_used_address_is_refused() -> None:
    state = {"job.a": recorded(desired("job.a")), "job.b": recorded(desired("job.b"))}
    with pytest.raises(PlanError, match=r"moved: job.a -> job.b, but the state records both"):
        moves.renames(state, {"job.a": "job.b"}, {"job.b"})
    with pytest.raises(PlanError, match=r"keeps the history of an earlier job.c"):
        moves.renames(state, {"job.a": "job.c"}, {"job.c"}, occupied={"job.c"})


def session_job(session: str) -> Desired:
    spec = {"kind": "job", "shots": 1, "session": {"address": session, "fingerprint": "f" * 64}}
    return Desired("job.j", "job", "j", "sim", "local", session, spec, Attrs(), digest(spec))


def test_a_renamed_session_takes_its_jobs_parent_and_spec_along() -> None:
    state = {"session.s": recorded(desired("session.s", kind="session")), "job.j": recorded(session_job("session.s"))}
    after = [desired("session.t", kind="session"), session_job("session.t")]
    renamed = moves.renames(state, {"session.s": "session.t"}, {"session.t", "job.j"})
    plan = diff(after, state, renamed=renamed)
    assert actions(plan) == [("job.j", "noop", "unchanged"), ("session.t", "move", "moved from session.s")]
    touched = moves.readdressed(state, renamed)
    assert sorted(touched) == ["job.j", "session.t"]
    old, job = touched["job.j"]
    assert (old, job.parent, job.spec["session"]["address"], job.fingerprint) == (
        "job.j",
        "session.t",
        "session.t",
        session_job("session.t").fingerprint,
    )


def test_a_renamed_batch_takes_its_jobs_along() -> None:
    head = desired("batch.s", kind="batch")
    child = desired("batch.s.job[w=1]", kind="batch_job", parent="batch.s")
    state: dict[str, Recorded] = {d.address: recorded(d) for d in (head, child)}
    after = [desired("batch.t", kind="batch"), desired("batch.t.job[w=1]", kind="batch_job", parent="batch.t")]
    plan = diff(after, state, renamed=moves.renames(state, {"batch.s": "batch.t"}, {d.address for d in after}))
    assert actions(plan) == [
        ("batch.t", "move", "moved from batch.s"),
        ("batch.t.job[w=1]", "move", "moved from batch.s.job[w=1]"),
    ]
    assert plan.changes[1].recorded is not None and plan.changes[1].recorded.parent == "batch.t"
