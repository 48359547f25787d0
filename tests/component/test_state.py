"""The state: creation, identity checks, serial, intents, lease, migrations.

Every test that is not about the SQLite file itself runs on both backends (the `location`
fixture, tests/backends.py); the file's own properties (permissions, WAL, headers, pages) are
SQLite's alone.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from runner.domain.model import Attrs
from runner.domain.remote import Observation, Result
from runner.domain.resources import Desired
from runner.errors import LockConflictError, StateError
from runner.state import is_postgres, open_store, snapshot
from runner.state.location import parse
from runner.state.migrations import LATEST
from runner.state.sqlite import SqliteStore

D = Desired("job.a", "job", "a", "sim", "local", None, {"kind": "job", "shots": 1}, Attrs(("t",)), "f" * 64)


def test_new_state_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "deep" / ".runner" / "state.db"
    st = SqliteStore.open(str(path), create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert st._meta("format_version") == str(LATEST)
    assert len(st.lineage) == 36 and st.serial == 0
    st.close()


def test_missing_state_file_is_not_created(tmp_path: Path) -> None:
    assert not snapshot(str(tmp_path / "none.db")).exists
    assert not (tmp_path / "none.db").exists()


def test_foreign_and_corrupt_files_are_refused_and_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello, not a database\n" * 10)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE people (name TEXT)").connection.commit()
    for path, message in [
        (text, f"{text} is not a runner state file (not an SQLite database); runner will not modify it"),
        (other, f"{other} is not a runner state file (it holds tables people)"),
    ]:
        before = path.read_bytes()
        with pytest.raises(StateError) as caught:
            SqliteStore.open(str(path), create=True)
        assert caught.value.message == message
        assert path.read_bytes() == before


def test_corrupt_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    st = SqliteStore.open(str(path), create=True)
    with st.transaction() as txn:
        for i in range(300):
            txn.start(_d(i), 1, "tok", None)
    st.checkpoint()
    st.close()
    raw = bytearray(path.read_bytes())
    raw[4096 * 3 : 4096 * 3 + 200] = b"\xff" * 200  # scribble over a b-tree page
    path.write_bytes(bytes(raw))
    with pytest.raises(StateError) as caught:
        SqliteStore.open(str(path), create=True)
    assert "is corrupt" in caught.value.message
    assert path.read_bytes() == bytes(raw)


def _d(i: int) -> Desired:
    return Desired(f"job.{i}", "job", "a", "sim", "local", None, {"kind": "job", "i": i}, Attrs(), f"{i:064d}")


def test_new_state_is_versioned_with_a_lineage(location: str) -> None:
    with open_store(location, create=True) as st:
        meta = {m["key"]: m["value"] for m in st.export()["meta"]}
        assert set(meta) == {"application", "created_at", "lineage", "serial"}
        assert (meta["application"], meta["lineage"], meta["serial"]) == ("runner-state", st.lineage, "0")
        version = st.conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0]  # type: ignore[attr-defined]
        assert version == str(LATEST)
        assert len(st.lineage) == 36 and st.serial == 0
        # a file belongs to no project before its first apply; a database's state to the one its URL names
        assert st.project == (parse(location).project if is_postgres(location) else None)


def test_a_state_that_does_not_exist_is_not_created_by_reading(location: str) -> None:
    snap = snapshot(location)
    assert (snap.exists, snap.lineage, snap.serial, dict(snap.resources)) == (False, None, 0, {})
    with pytest.raises(StateError, match="nothing has been applied with it yet"):
        open_store(location)
    assert not snapshot(location).exists


def test_newer_format_is_refused(location: str) -> None:
    with open_store(location, create=True) as st:
        st.conn.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")  # type: ignore[attr-defined]
    for create in (False, True):
        with pytest.raises(StateError, match=r"written by a newer runner \(state format 99\); upgrade runner"):
            open_store(location, create=create)


def test_a_non_numeric_format_version_is_refused_not_guessed(location: str) -> None:
    with open_store(location, create=True) as st:
        st.conn.execute("UPDATE meta SET value = 'two' WHERE key = 'format_version'")  # type: ignore[attr-defined]
    with pytest.raises(StateError) as caught:
        open_store(location)
    assert caught.value.message.endswith(
        "has a damaged format_version ('two'); restore it from a backup, runner will not modify it"
    )


def test_intent_then_outcome_and_serial(location: str) -> None:
    st = open_store(location, create=True)
    with st.transaction(durable=True) as txn:
        intent = txn.start(D, 1, "tok-1", None)
    assert st.serial == 1 and st.writes["durable"] == 1
    assert [(i["address"], i["token"], i["state"]) for i in st.open_intents()] == [("job.a", "tok-1", "open")]
    rec = st.resource("job.a")
    assert rec is not None and rec.status == "submitting"
    result = Result(({"0": 3},), 3, {"seed": 1})
    with st.transaction() as txn:
        txn.succeed("job.a", 1, Observation("r-1", "succeeded", result=result), intent)
    assert st.serial == 2 and st.open_intents() == []
    rec = st.resource("job.a")
    assert rec is not None and (rec.status, rec.remote_id, rec.attrs.tags) == ("succeeded", "r-1", ("t",))
    assert st.results("job.a")[0]["counts"] == [{"0": 3}]
    assert st.changed_since(1) == ["job.a"] and st.changed_since(2) == []
    with st.transaction(bump=False) as txn:
        txn.begin_run("apply", {"user": "ada", "git_dirty": True})
    assert st.serial == 2  # history rows never make a saved plan stale
    assert [(a["user"], a["git_dirty"]) for a in st.applies()] == [("ada", 1)]
    st.close()


def test_tracked_can_leave_finished_resources_out(location: str) -> None:
    st = open_store(location, create=True)
    b = Desired("job.b", "job", "b", "sim", "local", None, {"kind": "job", "shots": 2}, Attrs(()), "e" * 64)
    with st.transaction() as txn:
        first, second = txn.start(D, 1, "tok-1", None), txn.start(b, 1, "tok-2", None)
    with st.transaction() as txn:
        txn.succeed("job.a", 1, Observation("r-1", "succeeded", result=Result(({"0": 1},), 1, {})), first)
        txn.succeed("job.b", 1, Observation("r-2", "running"), second)
    assert [(r["address"], r["status"], r["has_result"]) for r in st.tracked()] == [
        ("job.a", "succeeded", 1),
        ("job.b", "running", 0),
    ]
    assert [r["address"] for r in st.tracked(skip_statuses={"succeeded", "failed"})] == ["job.b"]
    st.close()


def test_failed_transaction_rolls_back(location: str) -> None:
    st = open_store(location, create=True)
    with pytest.raises(RuntimeError), st.transaction() as txn:
        txn.start(D, 1, "tok", None)
        raise RuntimeError("boom")
    assert st.serial == 0 and st.resource("job.a") is None
    with st.transaction() as txn:  # and the store is usable afterwards
        txn.start(D, 1, "tok", None)
    assert st.serial == 1
    st.close()


def test_lease_conflict_names_the_holder_and_takeover(location: str) -> None:
    holder = open_store(location, create=True)
    lease = holder.lease("apply")
    other = open_store(location, create=True)
    started = time.monotonic()
    with pytest.raises(LockConflictError) as caught:
        other.lease("apply", 0.6)
    assert time.monotonic() - started >= 0.6  # it waited for its --lock-timeout
    assert f"the state is locked: apply by {lease.owner} (pid {os.getpid()}" in caught.value.message
    assert "run `runner state unlock` if that process is gone" in caught.value.message
    # an expired lease is taken over, and the old holder can no longer write
    other.conn.execute("UPDATE lock SET expires_at = expires_at - 10000")  # type: ignore[attr-defined]
    late = other.lease("apply")
    assert late.took_over is not None and late.took_over.owner == lease.owner
    assert late.fence is not None and lease.fence is not None and late.fence > lease.fence
    with pytest.raises(LockConflictError, match="lost the state lock"), holder.transaction():
        pass
    late.release()
    assert other.force_unlock() is None
    lease.release()
    holder.close()
    other.close()


def test_a_holder_that_already_wrote_is_stopped_too_and_told_who_took_over(location: str) -> None:
    holder = open_store(location, create=True)
    lease = holder.lease("apply")
    with holder.transaction() as txn:  # a write under the lease, as an apply makes many
        txn.start(D, 1, "tok", None)
    other = open_store(location)
    other.force_unlock()
    taker = other.lease("apply")
    with pytest.raises(LockConflictError) as caught, holder.transaction() as txn:
        txn.start(D, 2, "tok-2", None)
    assert caught.value.message == (
        f"this process lost the state lock (taken over by {taker.owner}); stopping without writing"
    )
    with taker, other.transaction() as txn:  # the new holder writes on, from the serial it reads
        txn.start(D, 3, "tok-3", None)
    assert other.serial == 2 and [g["generation"] for g in other.generations("job.a")] == [1, 3]
    lease.release()
    holder.close()
    other.close()


def test_dead_local_holder_is_taken_over_at_once(location: str) -> None:
    st = open_store(location, create=True)
    lease = st.lease("apply")
    lease._stop.set()  # type: ignore[attr-defined]
    st.conn.execute("UPDATE lock SET pid = 999999999")  # type: ignore[attr-defined]  # a pid that cannot exist
    with open_store(location) as other:
        taken = other.lease("apply", 0)
        assert taken.took_over is not None and taken.took_over.pid == 999999999
        taken.release()
    st.close()


def test_fencing_numbers_only_grow_across_releases_and_unlocks(location: str) -> None:
    st = open_store(location, create=True)
    fences = []
    for _ in range(3):
        with st.lease("apply") as held:
            fences.append(held.fence)
        st.force_unlock()
    assert fences == sorted(set(fences)) and len(fences) == 3  # type: ignore[type-var]
    st.close()


def test_an_older_state_is_migrated_atomically_on_the_next_write(location: str) -> None:
    with open_store(location, create=True) as st:  # make it a version 1 state: undo migrations 4, 3 and 2
        st.conn.execute("DROP TABLE stale_sends")  # type: ignore[attr-defined]
        st.conn.execute("ALTER TABLE resources DROP COLUMN service")  # type: ignore[attr-defined]
        st.conn.execute("ALTER TABLE generations DROP COLUMN service")  # type: ignore[attr-defined]
        st.conn.execute("DROP TABLE target_snapshots")  # type: ignore[attr-defined]
        st.conn.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")  # type: ignore[attr-defined]
    reader = open_store(location)  # reading never migrates
    assert reader.conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0] == "1"  # type: ignore[attr-defined]
    assert reader.snapshot_of("x") is None and reader.export()["target_snapshots"] == []
    assert reader.stale_sends() == [] and reader.tracked() == []  # what older formats lack reads as empty
    reader.close()
    st = open_store(location, create=True)
    assert st.conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0] == str(LATEST)  # type: ignore[attr-defined]
    assert st.conn.execute("SELECT count(*) FROM target_snapshots").fetchone()[0] == 0  # type: ignore[attr-defined]
    st.close()


def test_a_holder_knows_when_it_can_no_longer_prove_its_lease(location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.state import lock

    monkeypatch.setenv("RUNNER_LOCK_TTL", "15")
    st = open_store(location, create=True)
    lease = st.lease("apply")
    assert lease.holds()
    frozen_at = lock.uptime()
    monkeypatch.setattr(lock, "uptime", lambda: frozen_at + 12.5)  # paused 12.5 s: within the ttl, not the margin
    assert not lease.holds()
    assert lease.holds(margin=0)
    monkeypatch.setattr(lock, "uptime", lambda: frozen_at + 16)  # paused past the lease: another run may own it
    assert not lease.holds(margin=0)
    lease.release()
    assert not lease.holds()
    st.close()


def test_a_taken_over_holder_stops_holding_at_its_next_heartbeat(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_LOCK_TTL", "0.6")
    st = open_store(location, create=True)
    lease = st.lease("apply")
    other = open_store(location)
    other.force_unlock()  # what `state unlock --force` does
    monkeypatch.setenv("RUNNER_LOCK_TTL", "30")
    taker = other.lease("apply")
    deadline = time.time() + 5
    while lease.holds(margin=0) and time.time() < deadline:
        time.sleep(0.05)
    assert lease.lost and not lease.holds(margin=0)  # type: ignore[attr-defined]
    taker.release()
    lease.release()
    st.close()
    other.close()
