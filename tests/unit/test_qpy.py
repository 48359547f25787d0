"""runner's QPY programs: canonical bytes for equal circuits, a digest blind to the qiskit version, bounds read
from the headers before qiskit allocates anything, and text that no OpenQASM program can be taken for."""

from __future__ import annotations

import base64
import struct

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from runner.quantum import qasm, qpy


def ghz(gate: str = "cx") -> QuantumCircuit:
    theta, phi = Parameter("theta"), Parameter("phi")  # fresh Parameters draw fresh random UUIDs
    circuit = QuantumCircuit(3)  # no name: qiskit numbers it from a process-wide counter
    circuit.h(0)
    getattr(circuit, gate)(0, 1)
    circuit.rz(theta, 0)
    circuit.ry(2 * phi + theta, 1)
    circuit.measure_all()
    return circuit


def test_equal_circuits_built_twice_give_equal_bytes() -> None:
    first, second = ghz(), ghz()
    assert {p.uuid for p in first.parameters}.isdisjoint({p.uuid for p in second.parameters})
    assert first.name != second.name
    one, two = qpy.dump(qpy.canonical(first, "build")), qpy.dump(qpy.canonical(second, "build"))
    assert one == two
    assert qpy.digest(one) == qpy.digest(two)


def test_another_gate_gives_another_digest() -> None:
    assert qpy.digest(qpy.dump(qpy.canonical(ghz("cx"), "b"))) != qpy.digest(qpy.dump(qpy.canonical(ghz("cz"), "b")))


def test_a_name_the_user_gave_is_kept_and_a_counter_name_replaced() -> None:
    named = QuantumCircuit(1, name="bell")
    assert qpy.canonical(named, "build").name == "bell"
    assert qpy.canonical(QuantumCircuit(1), "build").name == "build"


def test_the_digest_leaves_out_the_qiskit_version_that_wrote_it() -> None:
    data = bytearray(qpy.dump(qpy.canonical(ghz(), "b")))
    assert data[:6] == b"QISKIT" and data[6] == qpy.VERSION
    other = bytes(data[:7]) + bytes([9, 9, 9]) + bytes(data[10:])
    assert qpy.digest(other) == qpy.digest(bytes(data))
    assert qpy.digest(bytes(data[:-1]) + bytes([data[-1] ^ 1])) != qpy.digest(bytes(data))


def test_text_round_trips_and_parse_takes_it() -> None:
    text = qpy.text_of(qpy.dump(qpy.canonical(ghz(), "b")))
    assert qpy.is_qpy_text(text)
    circuit = qasm.parse(text)
    assert (circuit.num_qubits, sorted(p.name for p in circuit.parameters)) == (3, ["phi", "theta"])


def test_no_openqasm_program_is_taken_for_qpy() -> None:
    assert not qpy.is_qpy_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n')
    assert not qpy.is_qpy_text(qpy.MAGIC_TEXT + "abc; x q;")  # a statement ends in ';', never base64


def _with_qubits(data: bytes, qubits: int) -> bytes:
    offset = 19 + 1 + struct.calcsize("!H1cHI") - 4  # file header, type key, then the circuit header's num_qubits
    return data[:offset] + struct.pack("!I", qubits) + data[offset + 4 :]


def test_oversized_headers_are_refused_before_qiskit_reads_them() -> None:
    data = qpy.dump(qpy.canonical(ghz(), "b"))
    assert struct.unpack_from("!I", data, 19 + 1 + 5)[0] == 3  # the offset really is num_qubits
    huge = base64.b64encode(_with_qubits(data, 2_000_000_000)).decode()
    with pytest.raises(qasm.ProgramError, match=r"declares 2,000,000,000 qubits; runner takes at most 4,096"):
        qasm.parse(huge)


def test_qpy_holding_two_circuits_is_not_a_program() -> None:
    import io

    from qiskit import qpy as qiskit_qpy

    buffer = io.BytesIO()
    qiskit_qpy.dump([QuantumCircuit(1), QuantumCircuit(1)], buffer, version=qpy.VERSION)
    with pytest.raises(qasm.ProgramError, match="hold one circuit, this one 2"):
        qasm.parse(base64.b64encode(buffer.getvalue()).decode())
