"""Renaming in the state, on every backend: a moved resource takes every row it owns to its new address."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from backends import Locations

from runner.domain.model import Attrs
from runner.domain.remote import Observation, Result
from runner.domain.resources import Desired
from runner.state import open_store

JOB = Desired("job.a", "job", "a", "sim", "local", None, {"kind": "job", "shots": 1}, Attrs(), "a" * 64)
BYSTANDER = Desired("job.ab", "job", "ab", "sim", "local", None, {"kind": "job", "shots": 2}, Attrs(), "b" * 64)


def addresses(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[str, Any]]]:
    """Per table, (address, generation) of every row that has an address."""
    out = {}
    for table, rows in tables.items():
        if rows and "address" in rows[0]:
            out[table] = sorted((r["address"], r["generation"]) for r in rows)
    return out


def test_relocate_moves_generations_results_intents_and_stale_sends(locations: Locations) -> None:
    with open_store(locations(), create=True) as src:
        with src.transaction() as txn:
            first = txn.start(JOB, 1, "tok-1", None)
            txn.start(BYSTANDER, 1, "tok-b", None)
        with src.transaction() as txn:
            txn.succeed("job.a", 1, Observation("r-1", "succeeded", result=Result(({"0": 3},), 3, {})), first)
        with src.transaction() as txn:
            txn.start(JOB, 2, "tok-2", None)  # an open intent: reconciliation must find it under the new name
        tables = src.export()
    tables["stale_sends"] = [
        {
            "id": 1,
            "token": "tok-2",
            "address": "job.a",
            "generation": 2,
            "intent_id": None,
            "stale_owner": "ada@lab:1:x",
            "stale_host": "lab",
            "stale_pid": 1,
            "stale_ns": "x",
            "noted_at": "2026-01-01T00:00:00Z",
            "noted_epoch": 1.0,
            "closed_at": None,
            "closed_reason": None,
        }
    ]
    with open_store(locations(), create=True) as st:
        st.restore(tables)
        serial = st.serial
        rec = st.resource("job.a")
        assert rec is not None
        with st.transaction() as txn:
            txn.relocate("job.a", replace(rec, address="job.z"))
        moved = addresses(st.export())
        assert moved == {
            "generations": [("job.ab", 1), ("job.z", 1), ("job.z", 2)],
            "intents": [("job.ab", 1), ("job.z", 1), ("job.z", 2)],
            "resources": [("job.ab", 1), ("job.z", 2)],
            "results": [("job.z", 1)],
            "stale_sends": [("job.z", 2)],
        }
        now = st.resource("job.z")
        assert now is not None and (now.generation, now.fingerprint, now.status) == (2, "a" * 64, "submitting")
        assert [g["remote_id"] for g in st.generations("job.z")] == ["r-1", None]
        assert [r["counts"] for r in st.results("job.z")] == [[{"0": 3}]]
        assert sorted(i["address"] for i in st.open_intents()) == ["job.ab", "job.z"]
        assert st.serial == serial + 1 and st.changed_since(serial) == ["job.z"]
