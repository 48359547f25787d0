"""The Superstaq emulator reads and writes qiskit circuits as the Superstaq clients do: QPY in `codecs` base64.

The payloads here are built with qiskit and general-superstaq's own serialization helpers, never
with runner's, so a fault in runner's QPY helpers cannot hide behind a matching one in the emulator.
"""

from __future__ import annotations

import io

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qpy

from runner.emulators.superstaq import execute

gss_serialization = pytest.importorskip("general_superstaq.serialization")


def circuits() -> list[QuantumCircuit]:
    bell = QuantumCircuit(2, 2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    flip = QuantumCircuit(1, 1, name="flip")
    flip.x(0)
    flip.measure(0, 0)
    return [bell, flip]


def official(circuits: list[QuantumCircuit]) -> str:
    """What qiskit-superstaq sends: a QPY file of the list, through general-superstaq's bytes_to_str."""
    buffer = io.BytesIO()
    qpy.dump(circuits, buffer)
    text: str = gss_serialization.bytes_to_str(buffer.getvalue())
    return text


def test_the_official_encoding_with_its_line_breaks_is_read_back_circuit_for_circuit() -> None:
    sent = official(circuits())
    assert "\n" in sent  # codecs base64 breaks lines every 76 characters
    assert execute.decode(sent) == circuits()


def test_each_stored_circuit_is_answered_in_the_official_encoding_as_a_qpy_file_of_its_own() -> None:
    for circuit in circuits():
        answered = execute.encode(circuit)
        assert answered == official([circuit])
        assert qpy.load(io.BytesIO(gss_serialization.str_to_bytes(answered))) == [circuit]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ("", "circuits are required"),
        (None, "circuits are required"),
        ("not base64 at all!", "circuits are not base64"),
        ("aGVsbG8=", "circuits are not a QPY file"),
    ],
)
def test_what_is_not_base64_qpy_is_refused_with_a_reason(payload: object, why: str) -> None:
    with pytest.raises(execute.Invalid, match=why):
        execute.decode(payload)


def test_a_stray_character_inside_the_base64_is_refused_not_skipped() -> None:
    sent = official(circuits()[:1])
    with pytest.raises(execute.Invalid, match="circuits are not base64"):
        execute.decode(sent[:40] + "*" + sent[40:])


def test_counts_come_back_big_endian_with_classical_bit_zero_first() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.measure([0, 1], [0, 1])
    assert execute.run(execute.encode(circuit), 10, seed=1) == ({"10": 10}, None)


def test_counts_have_one_bit_per_measured_classical_bit_lowest_first() -> None:
    # the service leaves unmeasured classical bits out of the key (qiskit-superstaq's test_counts_arranged)
    circuit = QuantumCircuit(QuantumRegister(3), ClassicalRegister(5))
    circuit.x(2)
    circuit.measure([0, 1, 2], [2, 4, 1])  # classical bits 1, 2 and 4 are written; 0 and 3 are not
    assert execute.run(execute.encode(circuit), 10, seed=1) == ({"100": 10}, None)
