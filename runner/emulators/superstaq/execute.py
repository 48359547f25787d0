"""What the emulated Superstaq targets do with a job: check the target and the circuits, simulate each one.

The wire facts this follows (../shared/providers/superstaq.md, section 5): qiskit circuits travel as
one base64 string of a QPY file holding the list, encoded the way the Superstaq clients encode
(`codecs` base64, a line break every 76 characters), so line breaks are accepted and every
other non-base64 character is refused. Each circuit is answered back in that same encoding as a
QPY file of its own. Counts have one bit per *measured* classical bit, in increasing index order
(big-endian: the lowest measured classical bit first), as the service reports them: a classical
bit no measurement writes is not in the key (qiskit-superstaq's tests, `test_counts_arranged`,
show the service's keys and how the official client widens them again).
Target names follow `<vendor>_<device>_<qpu|simulator>`; widths are the emulator's, small enough
to simulate here.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.emulators import simulate

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

TARGET_NAME = re.compile(r"^([A-Za-z0-9-]+)_([A-Za-z0-9-.]+)_([a-z]+)")
_LINE_BREAKS = re.compile(rb"[\r\n]")
# qiskit work runs one call at a time and no circuit object crosses threads (each job reads its
# circuits from QPY when it runs): Aer holds the GIL anyway, and qiskit's thread-safety is not
# something to rely on (see simulate.warm for a crash we measured).
QISKIT = threading.Lock()


class Invalid(Exception):
    """A request the service refuses with 400 and this message."""


@dataclass(frozen=True)
class Device:
    """An emulated target."""

    name: str
    qubits: int
    simulator: bool
    available: bool = True
    retired: bool = False

    def flags(self) -> dict[str, bool]:
        return {
            "supports_submit": not self.retired,
            "supports_submit_qubo": self.simulator,
            "supports_compile": not self.retired,
            "available": self.available,
            "retired": self.retired,
            "accessible": True,
        }


DEVICES = {
    d.name: d
    for d in (
        Device("ss_unconstrained_simulator", 20, True),
        Device("aws_sv1_simulator", 20, True),
        Device("ibmq_fez_qpu", 16, False),
        Device("cq_sqale_qpu", 12, False),
        Device("qtm_h2-1_qpu", 20, False),
        Device("ibmq_brisbane_qpu", 16, False, available=False, retired=True),
    )
}


def device(name: object) -> Device:
    """The target, or Invalid naming what is wrong with it."""
    if not isinstance(name, str) or not TARGET_NAME.fullmatch(name):
        raise Invalid(
            f"{name!r} is not a valid target name: expected '<provider>_<device>_<qpu|simulator>', "
            "e.g. 'ss_unconstrained_simulator'"
        )
    found = DEVICES.get(name)
    if found is None:
        raise Invalid(f"{name!r} is not a Superstaq target (the targets endpoint lists them)")
    if found.retired:
        raise Invalid(f"{name!r} is retired and accepts no jobs")
    return found


def decode(text: object) -> list[QuantumCircuit]:
    """The circuits of a `qiskit_circuits` / `circuits` string; Invalid when it is not base64 QPY."""
    from qiskit import qpy

    if not isinstance(text, str) or not text:
        raise Invalid("circuits are required: base64-encoded QPY (qiskit circuits)")
    try:
        raw = base64.b64decode(_LINE_BREAKS.sub(b"", text.encode()), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise Invalid(f"circuits are not base64: {exc}") from None
    try:
        circuits = list(qpy.load(io.BytesIO(raw)))
    except Exception as exc:  # qpy raises struct, value and its own errors alike
        raise Invalid(f"circuits are not a QPY file: {type(exc).__name__}: {exc}") from None
    if not circuits:
        raise Invalid("the QPY payload holds no circuits")
    return circuits


def encode(circuit: QuantumCircuit) -> str:
    """One circuit as its own QPY file, base64 the way the Superstaq clients write it."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    return base64.encodebytes(buffer.getvalue()).decode()


def run(qpy_text: str, shots: int, seed: int) -> tuple[dict[str, int] | None, str | None]:
    """(counts keyed by the measured classical bits, None) or (None, why) for one stored circuit."""
    try:
        with QISKIT:
            circuit = decode(qpy_text)[0]
            counts = simulate.counts(circuit, shots, seed)
            measured = sorted(measured_clbits(circuit))
    except Exception as exc:  # the circuit fails, not the emulator
        return None, f"simulation failed: {exc}"
    out: dict[str, int] = {}
    for key, n in counts.items():
        # qiskit writes registers right to left, each from its highest bit: reversed, bit 0 comes first
        bits = key.replace(" ", "")[::-1]
        kept = "".join(bits[i] for i in measured)
        out[kept] = out.get(kept, 0) + n
    return out, None


def measured_clbits(circuit: QuantumCircuit) -> set[int]:
    """Indices of the classical bits some measurement writes, also inside composite instructions."""
    found: set[int] = set()
    for instruction in circuit.data:
        operation = instruction.operation
        outer = [circuit.find_bit(c).index for c in instruction.clbits]
        if operation.name == "measure":
            found.update(outer)
        elif outer and operation.definition is not None:
            found.update(outer[i] for i in measured_clbits(operation.definition))
    return found
