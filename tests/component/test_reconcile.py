"""Unresolved intents are settled before planning: adopted, absent, ambiguous or unknown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fake_provider
import pytest

from runner import providers
from runner.applying import reconcile
from runner.domain.model import Attrs, Target
from runner.domain.remote import Observation
from runner.domain.resources import Desired
from runner.errors import TransientError
from runner.planning.diff import diff
from runner.providers.pool import ProviderPool
from runner.state import Store, open_store

D = Desired("job.a", "job", "a", "t", "fake", None, {"kind": "job", "shots": 1}, Attrs(), "f" * 64)


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(providers.REGISTRY, "fake", "fake_provider")
    fake_provider.FOUND.clear()
    fake_provider.FIND_ERROR.clear()
    fake_provider.CALLS.clear()
    yield


def interrupted(tmp_path: Path) -> Store:
    """A state where a create was recorded as intended, and the process died before its outcome."""
    st = open_store(str(tmp_path / "s.db"), create=True)
    with st.transaction() as txn:
        txn.save_targets({"t": Target("t", "fake", "fake", {}, {})}, str(tmp_path))
        txn.start(D, 1, "tok-a", None)
    return st


def plan_after(st: Store) -> tuple[list[reconcile.Finding], list[tuple[str, str, str]]]:
    found = reconcile.findings(st, ProviderPool(st.targets(), {}))
    recorded, blocked = reconcile.adjusted(st.recorded(), found)
    plan = diff([D], recorded, blocked=blocked)
    return found, [(c.address, c.action, c.reason) for c in plan.changes]


def test_found_once_is_adopted_and_nothing_is_resubmitted(tmp_path: Path) -> None:
    st = interrupted(tmp_path)
    fake_provider.FOUND["tok-a"] = [Observation("r-9", "running")]
    found, changes = plan_after(st)
    assert [(f.outcome, f.message) for f in found] == [("adopted", "the interrupted create did happen: adopted r-9")]
    assert changes == [("job.a", "noop", "unchanged")]
    rec = st.resource("job.a")
    assert rec is not None and rec.status == "submitting"  # plan wrote nothing
    reconcile.record(st, found)
    rec = st.resource("job.a")
    assert rec is not None and (rec.status, rec.remote_id) == ("running", "r-9")
    assert st.open_intents() == []


def test_not_found_is_submitted_again_with_the_same_generation(tmp_path: Path) -> None:
    st = interrupted(tmp_path)
    found, changes = plan_after(st)
    assert [f.outcome for f in found] == ["absent"]
    assert changes == [("job.a", "create", "the last submission did not finish; submitting again")]
    reconcile.record(st, found)
    rec = st.resource("job.a")
    assert st.open_intents() == [] and rec is not None and rec.generation == 1


def test_several_objects_under_one_token_keep_one_and_name_the_others_as_duplicates(tmp_path: Path) -> None:
    """One token is one create: a second object carrying it was sent again by a run that lost its lease."""
    from runner.applying import duplicates

    st = interrupted(tmp_path)
    fake_provider.FOUND["tok-a"] = [Observation("r-1", "succeeded"), Observation("r-2", "running")]
    found, changes = plan_after(st)
    assert [(f.outcome, f.found.remote_id if f.found else None, f.candidates) for f in found] == [
        ("adopted", "r-2", ("r-1",))  # the live one is kept
    ]
    assert found[0].message == (
        "the interrupted create did happen, 2 times: adopted r-2; duplicate remote object(s) r-1: will cancel"
    )
    assert changes == [("job.a", "noop", "unchanged")]
    dups = duplicates.from_findings(found, st)
    assert [(d.address, d.remote_id, d.token) for d in dups] == [("job.a", "r-1", "tok-a")]


def test_unreachable_provider_blocks_instead_of_resubmitting(tmp_path: Path) -> None:
    st = interrupted(tmp_path)
    fake_provider.FIND_ERROR.append(TransientError("fake: GET /jobs timed out"))
    _found, changes = plan_after(st)
    assert changes == [
        (
            "job.a",
            "noop",
            "blocked: could not check whether it was created (fake: GET /jobs timed out); not submitting it again",
        )
    ]
    assert fake_provider.CALLS == ["find tok-a"]
