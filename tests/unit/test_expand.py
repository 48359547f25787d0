"""expand() is pure: literal manifests in, desired resources out."""

from __future__ import annotations

from typing import Any

from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Batch, BatchJob, Job, Manifest, Matrix, Program, Session, Target
from runner.expand.expansion import expand

LOCAL = Target("sim", "local", "local.aer", {}, {"endpoint": "ignored"})
PROG = Program("c.qasm", "OPENQASM 3.0; input float a; qubit q; bit c; rx(a) q; c = measure q;", "qasm3", "d" * 64)
SEQ = Program("s.json", "{}", "pulser", "e" * 64)


def job(name: str = "j", **kw: Any) -> Job:
    base: dict[str, Any] = dict(
        name=name,
        target="sim",
        session=None,
        programs=(PROG,),
        shots=100,
        params={},
        matrix=None,
        options={},
        priority=None,
        attrs=Attrs(("t",), {"k": 1}),
        protect=False,
        path=("jobs", name),
    )
    base.update(kw)
    return Job(**base)


def manifest(jobs: dict[str, Job] | None = None, **kw: Any) -> Manifest:
    base: dict[str, Any] = dict(
        path="m.yaml",
        base_dir="/p",
        digest="f" * 64,
        project="p",
        max_jobs=100,
        targets={"sim": LOCAL},
        sessions={},
        jobs=jobs or {},
        batches={},
        workloads={},
    )
    base.update(kw)
    return Manifest(**base)


def test_sweep_expands_to_addressed_jobs_with_merged_params() -> None:
    j = job(params={"fixed": 1.5}, matrix=Matrix({"a": (0.1, 0.2)}))
    out = expand(manifest({"j": j})).resources
    assert [r.address for r in out] == ["job.j[a=0.1]", "job.j[a=0.2]"]
    assert out[0].spec["params"] == {"fixed": 1.5, "a": 0.1}
    assert out[0].values == {"a": 0.1}


def test_fingerprint_is_digest_of_identity_spec_with_program_contents() -> None:
    (r,) = expand(manifest({"j": job()})).resources
    assert r.fingerprint == digest(r.spec)
    assert r.spec == {
        "kind": "job",
        "target": {"provider": "local", "target": "local.aer", "options": {}},
        "programs": [{"digest": "d" * 64, "format": "qasm3"}],
        "shots": 100,
        "options": {},
        "priority": None,
        "session": None,
        "params": {},
    }


def test_tags_and_paths_do_not_change_the_fingerprint() -> None:
    a = expand(manifest({"j": job()})).resources[0]
    moved = Program("elsewhere/c.qasm", PROG.text, "qasm3", PROG.digest)
    b = expand(manifest({"j": job(attrs=Attrs(("other",)), programs=(moved,))})).resources[0]
    assert a.fingerprint == b.fingerprint
    c = expand(manifest({"j": job(shots=101)})).resources[0]
    assert a.fingerprint != c.fingerprint


def test_jobs_in_a_session_carry_its_fingerprint() -> None:
    s = Session("cal", "sim", "abort", None, False, Attrs(), False, ("sessions", "cal"))
    out = expand(manifest({"j": job(session="cal")}, sessions={"cal": s})).resources
    session, j = out
    assert (session.address, j.parent) == ("session.cal", "session.cal")
    assert j.spec["session"] == {"address": "session.cal", "fingerprint": session.fingerprint}
    assert session.lifecycle == {"keep_open": False}


def test_batch_jobs_from_list_and_matrix() -> None:
    b = Batch(
        "scan",
        "sim",
        SEQ,
        True,
        50,
        (BatchJob(None, 10, {"w": 1.0}, ()),),
        Matrix({"w": (2.0,)}),
        {},
        None,
        Attrs(),
        False,
        ("batches", "scan"),
    )
    out = expand(manifest(batches={"scan": b})).resources
    assert [(r.address, r.kind, r.spec.get("runs")) for r in out] == [
        ("batch.scan", "batch", None),
        ("batch.scan.job[w=1.0]", "batch_job", 10),
        ("batch.scan.job[w=2.0]", "batch_job", 50),
    ]
    assert out[1].spec["batch"] == out[0].fingerprint
    assert out[0].lifecycle == {"open": True}


def test_sweep_fingerprints_equal_the_digest_of_each_spec() -> None:
    j = job(params={"fixed": "x"}, matrix=Matrix({"a": (0.1, 0.2, 3), "b": ("é", True)}))
    out = expand(manifest({"j": j})).resources
    assert len(out) == 6
    assert all(r.fingerprint == digest(r.spec) for r in out)
    assert len({r.fingerprint for r in out}) == 6


def test_count_is_what_expand_gives_without_building_it() -> None:
    from runner.expand.expansion import count

    sweeps = {
        "plain": job("plain"),
        "grid": job("grid", matrix=Matrix({"a": (0.1, 0.2, 0.3), "b": (1, 2)})),
        "cut": job("cut", matrix=Matrix({"a": (1, 2)}, include=({"a": 1, "x": 0},), exclude=({"a": 2},))),
        "extra": job("extra", matrix=Matrix({"a": (1,)}, include=({"a": 9},))),
        "only": job("only", matrix=Matrix({}, include=({"z": 1}, {"z": 2}))),
    }
    jobs = (BatchJob(None, 10, {"w": 1.0}, ()),)
    b = Batch("scan", "sim", SEQ, True, 50, jobs, Matrix({"w": (2.0, 3.0)}), {}, None, Attrs(), False, ("batches",))
    m = manifest(sweeps, batches={"scan": b}, sessions={})
    assert count(m) == len(expand(m).resources) == 1 + 6 + 1 + 2 + 2 + 1 + 1 + 2
