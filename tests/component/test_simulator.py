"""The embedded simulator: a job's counts are its own, alone or in any batch, with qiskit's keys."""

from __future__ import annotations

import pytest

from runner.quantum.simulator import SimJob, run, run_many

pytest.importorskip("qiskit_aer")

SWEPT = """OPENQASM 3.0;
include "stdgates.inc";
input float a;
qubit[3] q;
bit[3] c;
rx(a) q[0];
h q[1];
cx q[0], q[2];
c = measure q;
"""
REGISTERS = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[2];
creg b[3];
x q[0];
x q[2];
measure q[0] -> b[2];
measure q[2] -> a[0];
"""
MID_CIRCUIT = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
measure q[0] -> c[0];
cx q[0], q[1];
measure q[1] -> c[1];
"""


def jobs() -> list[SimJob]:
    return [SimJob(SWEPT, 300, 1000 + i, {"a": 0.4 * (i % 4)}) for i in range(8)]


def test_a_job_gets_the_same_counts_alone_or_in_any_batch() -> None:
    together = [out["counts"] for out in run_many(jobs())]  # type: ignore[index]
    backwards = [out["counts"] for out in reversed(run_many(list(reversed(jobs()))))]  # type: ignore[index]
    alone = [run(job)["counts"] for job in jobs()]
    assert together == backwards == alone
    assert together[0] != together[4]  # same point, other seed: other draws
    assert all(sum(c.values()) == 300 for c in together)


def test_keys_follow_qiskit_registers_and_bit_order() -> None:
    from qiskit import qasm2
    from qiskit_aer import AerSimulator

    out = run(SimJob(REGISTERS, 50, 7))
    aer = AerSimulator().run(qasm2.loads(REGISTERS), shots=50, seed_simulator=7).result().get_counts()
    assert out["counts"] == aer == {"100 01": 50}  # b (declared last) first, each from its highest bit
    assert out["engine"]["sampling"] == "probabilities"


def test_draws_follow_the_probabilities() -> None:
    counts = run(SimJob(SWEPT, 20_000, 3, {"a": 0.0}))["counts"]
    # q1 is H: half the shots each way; q0 and q2 stay 0
    assert set(counts) == {"000", "010"}
    assert abs(counts["000"] - 10_000) < 4 * 71  # four standard deviations of a fair binomial


def test_mid_circuit_measurements_run_shot_by_shot_with_the_job_seed() -> None:
    from qiskit import qasm2, transpile
    from qiskit_aer import AerSimulator

    out = run(SimJob(MID_CIRCUIT, 200, 11))
    sim = AerSimulator()
    circuit = transpile(qasm2.loads(MID_CIRCUIT), sim, optimization_level=0, seed_transpiler=0)
    aer = sim.run(circuit, shots=200, seed_simulator=11).result().get_counts()
    assert (out["engine"]["sampling"], out["counts"]) == ("shots", dict(sorted(aer.items())))


def test_a_point_that_cannot_run_fails_alone() -> None:
    batch = [*jobs()[:3], SimJob(SWEPT, 10, 5, {"a": "not a number"}), SimJob("OPENQASM 2.0; qreg", 10, 6)]
    outs = run_many(batch)
    assert [isinstance(o, Exception) for o in outs] == [False, False, False, True, True]
    assert [o["counts"] for o in outs[:3]] == [run(j)["counts"] for j in jobs()[:3]]  # type: ignore[index]
