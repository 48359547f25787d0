"""The `Store` protocol's contract, on every backend: each method, and the same rows from the same calls.

A scenario drives every Txn writer with a fixed clock; the readers must then give the same
values on SQLite and on PostgreSQL, and the logical contents (`export`) must be identical but
for the lineage and creation time. `restore` and the digest are what `state migrate` relies on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from backends import Locations, needs_postgres

from runner.domain.model import Attrs, Target
from runner.domain.remote import Observation, Result
from runner.domain.resources import Desired
from runner.errors import LockConflictError, StateError
from runner.state import Store, open_store, snapshot
from runner.state.transfer import digest

JOB = Desired("job.a", "job", "a", "sim", "local", None, {"kind": "job", "shots": 1}, Attrs(("t",)), "a" * 64)
OTHER = Desired("job.b", "job", "b", "sim", "local", None, {"kind": "job", "shots": 2}, Attrs(), "b" * 64)
TARGET = Target("sim", "local", "local.aer", {}, {"endpoint": None})


def scenario(st: Store) -> None:
    """Every writer of Txn once, in the order an apply, a refresh and a replace would call them."""
    st.clock = lambda: 1_700_000_000.0  # type: ignore[attr-defined]  # same timestamps on every backend
    with st.transaction(bump=False) as txn:
        txn.claim_project("contract")
        run = txn.begin_run("apply", {"manifest": "m.yaml", "git_dirty": False, "user": "ada", "versions": {"x": 1}})
    with st.transaction(durable=True) as txn:
        txn.save_targets({"sim": TARGET}, "/work")
        snap = txn.save_snapshot("sim", "local", {"qubits": 20})
        first = txn.start(JOB, 1, "tok-a1", run, origin={"why": "create"})
        second = txn.start(OTHER, 1, "tok-b1", run)
    with st.transaction() as txn:
        txn.succeed("job.a", 1, Observation("r-a1", "running"), first, {"apply": run, "target_snapshot": snap})
        txn.fail("job.b", 1, "refused", second)
    with st.transaction() as txn:
        txn.observe("job.a", Observation("r-a1", "succeeded", result=Result(({"0": 2},), 2, {"seed": 7})))
        third = txn.start(JOB, 2, "tok-a2", run)
        txn.set_attrs(Desired(**{**JOB.__dict__, "attrs": Attrs(("t", "u"))}))
        txn.set_lifecycle("job.a", {"keep_open": True})
        txn.settle_intent(third, "unknown", {"why": "unreachable"}, keep_open=True)
    with st.transaction() as txn:
        txn.observe_generation("job.a", 1, Observation("r-a1", "cancelled"))
        txn.retire("job.a", 1, "replaced")
        txn.record_result("job.a", 1, Result(({"1": 1},), 1, {}))
        txn.forget("job.b", "removed")
    with st.transaction(bump=False) as txn:
        txn.finish_run(run, "ok", {"created": 1}, st.serial)


def test_every_reader_after_every_writer(location: str) -> None:
    st = open_store(location, create=True)
    with st as entered:
        assert entered is st
        scenario(st)
        assert (st.project, st.serial, st.path) == ("contract", 4, snapshot(location).path)
        assert sorted(st.recorded()) == ["job.a"]
        rec = st.resource("job.a")
        assert rec is not None and (rec.generation, rec.status, rec.remote_id) == (2, "submitting", None)
        assert rec.attrs.tags == ("t", "u") and dict(rec.lifecycle) == {"keep_open": True}
        assert st.resource("job.b") is None
        snap = st.snapshot()
        assert (snap.exists, snap.lineage, snap.serial, sorted(snap.resources), snap.project) == (
            True, st.lineage, 4, ["job.a"], "contract",
        )  # fmt: skip
        assert st.changed_since(2) == ["job.a", "job.b"] and st.changed_since(4) == []
        assert [g["generation"] for g in st.generations("job.a")] == [1, 2]
        assert st.generations("job.a")[0]["retired_reason"] == "replaced"
        assert st.generations("job.a")[0]["status"] == "cancelled"
        assert st.addresses_with_history() == ["job.a", "job.b"]
        assert st.results() == []  # the current generation (2) has none yet
        assert [r["counts"] for r in st.results("job.a")] == [[{"1": 1}]]
        (run,) = st.applies()
        assert (run["operation"], run["outcome"], run["summary"], run["versions"]) == (
            "apply",
            "ok",
            {"created": 1},
            {"x": 1},
        )
        assert st.apply_row(run["id"]) == run and st.apply_row(999) is None
        assert [r["id"] for r in st.applies_since(0)] == [run["id"]]
        assert st.applies_since(run["serial_after"]) == []
        assert {name: (t.provider, folder) for name, (t, folder) in st.targets().items()} == {"sim": ("local", "/work")}
        key = st.generations("job.a")[0]["provenance"]["target_snapshot"]
        described = st.snapshot_of(key)
        assert described is not None and described["body"] == {"qubits": 20}
        assert st.snapshot_of("nope") is None
        assert st.latest_snapshot("sim") == described and st.latest_snapshot("nope") is None
        assert st.tracked() == []  # generation 2 has no remote id yet
        (intent,) = st.open_intents()
        assert (intent["token"], intent["detail"]) == ("tok-a2", {"why": "unreachable", "verdict": "unknown"})
        assert st.writes["transactions"] == 6 and st.writes["durable"] == 1
        st.checkpoint()
        assert st.holder() is None
        with st.lease("apply", 0) as held:
            assert held.owner and held.fence and held.took_over is None and held.holds()
            holder = st.holder()
            assert holder is not None and holder.owner == held.owner and holder.fence == held.fence
            assert holder.expires_at > time.time() and holder.operation == "apply"
        assert st.holder() is None and not held.holds()
        st.lease("refresh", 0)
        forced = st.force_unlock()
        assert forced is not None and forced.operation == "refresh" and st.holder() is None


def test_writes_under_a_lost_lease_are_refused(location: str) -> None:
    with open_store(location, create=True) as st, st.lease("apply") as held:
        st.force_unlock()
        with pytest.raises(LockConflictError, match="lost the state lock"), st.transaction() as txn:
            txn.start(JOB, 1, "tok", None)
        assert held.fence is not None
    with open_store(location) as st:
        assert st.resource("job.a") is None


def test_export_and_restore_keep_everything_but_the_lease(locations: Locations) -> None:
    source, copy = locations(), locations()
    with open_store(source, create=True) as st:
        scenario(st)
        st.lease("apply", 0)  # a lease is not part of what moves
        exported = st.export()
    with open_store(copy, create=True) as dst:
        dst.restore(exported)
        assert digest(dst.export()) == digest(exported)
        assert (dst.lineage, dst.serial, dst.project, dst.holder()) == (st.lineage, 4, "contract", None)
        with dst.transaction(bump=False) as txn:  # ids continue after the copied ones
            assert txn.begin_run("apply", {}) == max(r["id"] for r in exported["applies"]) + 1
        with pytest.raises(StateError, match="already holds a state"):
            dst.restore(exported)


def _normalised(export: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    varying = {"lineage", "created_at"}
    return {**export, "meta": [m for m in export["meta"] if m["key"] not in varying]}


def test_both_backends_store_the_same_rows(tmp_path: Any) -> None:
    url = needs_postgres()
    from backends import drop

    exports = []
    for location in (str(tmp_path / "s.db"), f"{url}?project=contract-parity"):
        with open_store(location, create=True) as st:
            scenario(st)
            exports.append(_normalised(st.export()))
    drop(url, "contract-parity")
    assert exports[0] == exports[1]
    assert digest(exports[0]) == digest(exports[1])


def test_both_backends_have_the_same_tables_and_columns(tmp_path: Any) -> None:
    url = needs_postgres()
    from backends import drop

    columns = []
    for location in (str(tmp_path / "s.db"), f"{url}?project=contract-columns"):
        with open_store(location, create=True) as st:
            columns.append({t: sorted(rows[0]) if rows else None for t, rows in _one_of_each(st).items()})
    drop(url, "contract-columns")
    assert columns[0] == columns[1]


def _one_of_each(st: Store) -> dict[str, list[dict[str, Any]]]:
    scenario(st)
    return st.export()
