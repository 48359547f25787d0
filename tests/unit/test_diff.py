"""diff() is pure: literal desired and recorded resources in, a sorted plan out."""

from __future__ import annotations

from typing import Any

import pytest

from runner.domain.fingerprint import digest
from runner.domain.model import Attrs
from runner.domain.resources import Desired, Recorded
from runner.domain.vocabulary import Attribute, Kind
from runner.errors import PlanError
from runner.planning.diff import diff


def desired(
    address: str,
    *,
    shots: int = 100,
    tags: tuple[str, ...] = (),
    kind: Kind = "job",
    parent: str | None = None,
    protect: bool = False,
    lifecycle: dict[str, Any] | None = None,
) -> Desired:
    spec = {"kind": kind, "shots": shots, "target": {"provider": "local", "target": "local.aer"}}
    return Desired(
        address,
        kind,
        address,
        "sim",
        "local",
        parent,
        spec,
        Attrs(tags),
        digest(spec),
        protect=protect,
        lifecycle=lifecycle or {},
    )


def recorded(d: Desired, *, status: str = "succeeded", remote: str | None = "r-1", **kw: Any) -> Recorded:
    base: dict[str, Any] = dict(
        address=d.address,
        kind=d.kind,
        target=d.target,
        provider=d.provider,
        parent=d.parent,
        generation=1,
        fingerprint=d.fingerprint,
        spec=d.spec,
        attrs=d.attrs,
        status=status,
        remote_id=remote,
        protect=d.protect,
        lifecycle=dict(d.lifecycle),
    )
    base.update(kw)
    return Recorded(**base)


def actions(plan: Any) -> list[tuple[str, str, str]]:
    return [(c.address, c.action, c.reason) for c in plan.changes]


def test_every_action_with_its_reason() -> None:
    same, tagged, shots, gone, new = (desired(a) for a in ("job.a", "job.b", "job.c", "job.d", "job.e"))
    state = {
        "job.a": recorded(same),
        "job.b": recorded(tagged),
        "job.c": recorded(shots),
        "job.d": recorded(gone, status="running"),
    }
    plan = diff([same, desired("job.b", tags=("x",)), desired("job.c", shots=200), new], state)
    assert actions(plan) == [
        ("job.a", "noop", "unchanged"),
        ("job.b", "update", "tags +x"),
        ("job.c", "replace", "shots 100 -> 200"),
        ("job.d", "delete", "not in the manifest; cancel it (still running)"),
        ("job.e", "create", "not in state"),
    ]
    assert plan.summary() == {"create": 1, "update": 1, "record": 0, "replace": 1, "delete": 1, "move": 0, "noop": 1}


def test_unfinished_or_rejected_submissions_are_created_again() -> None:
    a, b = desired("job.a"), desired("job.b")
    state = {
        "job.a": recorded(a, status="submitting", remote=None),
        "job.b": recorded(b, status="submit_failed", remote=None, detail={"error": "quota"}),
    }
    assert [c.reason for c in diff([a, b], state).changes] == [
        "the last submission did not finish; submitting again",
        "the last submission failed (quota); submitting again",
    ]


def test_forced_replace_and_protected_resources() -> None:
    a = desired("job.a", protect=True)
    assert (
        diff([desired("job.a")], {"job.a": recorded(desired("job.a"))}, force_replace={"job.a"}).changes[0].action
        == "replace"
    )
    with pytest.raises(PlanError) as caught:
        diff([desired("job.a", shots=5, protect=True)], {"job.a": recorded(a)})
    assert caught.value.message == (
        "refusing to change protected resources: job.a (replace: shots 100 -> 5). "
        "Set protect: false and apply that first if this is intended"
    )
    with pytest.raises(PlanError):
        diff([], {"job.a": recorded(a)})


def test_children_of_a_replaced_session_are_replaced_with_it() -> None:
    s_old = desired("session.s", kind="session", shots=1)
    s_new = desired("session.s", kind="session", shots=2)
    j = desired("job.a", parent="session.s")
    plan = diff([s_new, j], {"session.s": recorded(s_old), "job.a": recorded(j)})
    assert actions(plan)[0] == ("job.a", "replace", "replaced with its parent session.s")


def test_new_jobs_in_an_open_batch_are_an_in_place_update() -> None:
    b = desired("batch.b", kind="batch", lifecycle={"open": True})
    j1 = desired("batch.b.job[w=1]", kind="batch_job", parent="batch.b")
    j2 = desired("batch.b.job[w=2]", kind="batch_job", parent="batch.b")
    state = {
        "batch.b": recorded(b, status="running", lifecycle={"open": True, "closed": False}),
        j1.address: recorded(j1),
    }
    plan = diff([b, j1, j2], state)
    assert actions(plan) == [
        ("batch.b", "update", "add 1 job(s) to the open batch"),
        ("batch.b.job[w=1]", "noop", "unchanged"),
        ("batch.b.job[w=2]", "create", "not in state"),
    ]
    assert plan.changes[0].add_jobs == ("batch.b.job[w=2]",)


def test_new_jobs_for_a_closed_batch_renew_it() -> None:
    b = desired("batch.b", kind="batch")
    j = desired("batch.b.job[w=2]", kind="batch_job", parent="batch.b")
    plan = diff([b, j], {"batch.b": recorded(b, lifecycle={"open": False, "closed": True})})
    assert actions(plan)[0] == (
        "batch.b",
        "replace",
        "1 new job(s), but the batch is closed: a new batch takes them (the others stay where they ran)",
    )


def test_renewing_a_finished_session_keeps_its_old_jobs() -> None:
    s = desired("session.s", kind="session")
    old = desired("job.a", parent="session.s")
    new = desired("job.b", parent="session.s")
    state = {
        "session.s": recorded(s, status="succeeded", lifecycle={"keep_open": False, "closed": True}),
        "job.a": recorded(old),
    }
    plan = diff([s, old, new], state)
    assert [(c.address, c.action) for c in plan.changes] == [
        ("job.a", "noop"),
        ("job.b", "create"),
        ("session.s", "replace"),
    ]
    assert plan.changes[2].flags() == {"renew": True}


def test_protect_flag_changes_are_recorded_not_sent() -> None:
    a = desired("job.a", protect=True)
    plan = diff([desired("job.a")], {"job.a": recorded(a)})
    assert actions(plan) == [("job.a", "record", "protect turned off (runner's own setting)")]


def only_tags_of_batches(provider: str, kind: Kind) -> frozenset[Attribute]:
    """A provider like Pasqal: batch tags change in place, nothing else does."""
    return frozenset({"tags"}) if kind == "batch" else frozenset()


def test_an_edit_the_provider_cannot_make_is_recorded_and_said_so() -> None:
    old = desired("job.a", tags=("x",))
    plan = diff([desired("job.a", tags=("x", "y"))], {"job.a": recorded(old)}, mutable=only_tags_of_batches)
    assert actions(plan) == [("job.a", "record", "tags +y (local cannot change tags in place: recorded locally only)")]
    assert plan.changes[0].flags() == {}  # nothing for apply to send


def test_unchangeable_replace_makes_a_new_generation_instead() -> None:
    old = desired("job.a", tags=("x",))
    plan = diff(
        [desired("job.a", tags=("y",))], {"job.a": recorded(old)}, mutable=only_tags_of_batches, unchangeable="replace"
    )
    assert actions(plan) == [
        (
            "job.a",
            "replace",
            "tags +y -x: the provider cannot change tags in place, so a new generation carries it "
            "(--unchangeable replace)",
        )
    ]


def test_closing_a_batch_and_retagging_it_does_both() -> None:
    """The bug: a tag edit applied with open: false was recorded and never sent (the close hid it)."""
    was = desired("batch.b", kind="batch", tags=("x",), lifecycle={"open": True})
    now = desired("batch.b", kind="batch", tags=("y",), lifecycle={"open": False})
    rec = recorded(was, lifecycle={"open": True, "closed": False})
    plan = diff([now], {"batch.b": rec}, mutable=only_tags_of_batches)
    assert actions(plan) == [("batch.b", "update", "open turned off: close the batch; tags +y -x")]
    assert plan.changes[0].flags() == {"attrs": True, "close": True}


def test_closing_an_open_session_is_an_update() -> None:
    s = desired("session.s", kind="session", lifecycle={"keep_open": False})
    plan = diff([s], {"session.s": recorded(s, lifecycle={"keep_open": True, "closed": False})})
    assert actions(plan) == [("session.s", "update", "keep_open turned off: close the session")]
    assert plan.changes[0].flags() == {"close": True}


def test_plan_is_sorted_by_address() -> None:
    plan = diff([desired("job.b"), desired("job.a"), desired("session.x", kind="session")], {})
    assert [c.address for c in plan.changes] == ["job.a", "job.b", "session.x"]
