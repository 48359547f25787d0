"""QPY programs as runner keeps them: one circuit per program, base64 text, canonical and bounded.

Circuits built by a manifest's Python function and circuits read from `.qpy` files travel through
runner as a `Program` of format "qpy" whose text is the base64 of one circuit's QPY. That text
starts with QPY's magic (`QISKIT`, `UUlTS0lU` in base64) and holds only base64 characters, so no
OpenQASM program (every statement ends in `;`) is ever mistaken for one.

The same circuit must give the same bytes in every run, or a rebuilt program would plan a replace:
parameters get a UUID derived from their name (qiskit draws a random one per `Parameter`), a
circuit named by qiskit's own counter (`circuit-41`) is renamed after the function that built it,
and the QPY version is pinned. The digest leaves out the three header bytes that hold the qiskit
version that wrote the file, so upgrading qiskit does not rerun anything either.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import uuid
from typing import TYPE_CHECKING

from runner.domain.fingerprint import digest_bytes
from runner.manifest.limits import MAX_CLBITS, MAX_OPERATIONS, MAX_QUBITS

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

# The version qiskit-superstaq writes (runner.quantum.circuits.SUPERSTAQ_QPY_VERSION): every service
# runner sends QPY to reads it, and a pinned version keeps the bytes of one circuit the same.
VERSION = 13
MAGIC_TEXT = base64.b64encode(b"QISKIT").decode()  # "UUlTS0lU"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_AUTO_NAME = re.compile(r"circuit-\d+")
_NAMESPACE = uuid.UUID("6f1c3d52-7b3e-4a8e-9a51-2f0d6b9f2c11")  # runner's own: parameter UUIDs from names
_FILE_HEADER = struct.Struct("!6sBBBBQc")  # QPY >= 10: magic, version, qiskit major/minor/patch, count, encoding
_CIRCUIT_HEADER = struct.Struct("!H1cHIIQIQI")  # QPY >= 12: ... qubits, clbits, metadata, registers, instructions
_QISKIT_VERSION = slice(7, 10)


class QpyError(Exception):
    """QPY text or bytes runner does not take."""


def is_qpy_text(text: str) -> bool:
    """Whether a program's text is base64 QPY (runner's form) rather than OpenQASM."""
    return text.startswith(MAGIC_TEXT) and _BASE64.fullmatch(text) is not None


def canonical(circuit: QuantumCircuit, name: str) -> QuantumCircuit:
    """The circuit with deterministic parameter UUIDs, and `name` when qiskit named it by its counter."""
    from qiskit.circuit import Parameter

    mapping = {p: Parameter(p.name, uuid=uuid.uuid5(_NAMESPACE, p.name)) for p in circuit.parameters}
    out = circuit.assign_parameters(mapping) if mapping else circuit.copy()
    out.name = name if _AUTO_NAME.fullmatch(circuit.name or "") or not circuit.name else circuit.name
    return out


def dump(circuit: QuantumCircuit) -> bytes:
    """One circuit's QPY bytes in the pinned version."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=VERSION)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    """sha256 of QPY bytes, without the qiskit version that wrote them."""
    if len(data) < _FILE_HEADER.size:
        return digest_bytes(data)
    return digest_bytes(data[: _QISKIT_VERSION.start] + b"\0\0\0" + data[_QISKIT_VERSION.stop :])


def text_of(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def load(text: str) -> QuantumCircuit:
    """The one circuit in runner's QPY text, its declared sizes checked before qiskit reads it."""
    from qiskit import qpy

    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise QpyError("the QPY text is not base64") from None
    check(data)
    try:
        circuits = qpy.load(io.BytesIO(data))
    except Exception as exc:  # qiskit raises several unrelated types on malformed QPY
        raise QpyError(f"the QPY does not load: {exc}") from None
    if len(circuits) != 1:
        raise QpyError(f"runner's QPY programs hold one circuit, this one {len(circuits)}")
    circuit: QuantumCircuit = circuits[0]
    return circuit


def check(data: bytes) -> None:
    """Refuse QPY whose first circuit declares more qubits, bits or instructions than runner takes.

    Read from the headers (QPY 12 and later, what runner writes), so an oversized circuit is refused
    before qiskit allocates it; older files are read by the build process, which runs under a memory limit.
    """
    if len(data) < _FILE_HEADER.size + 1 + _CIRCUIT_HEADER.size or not data.startswith(b"QISKIT"):
        raise QpyError("not QPY (no QISKIT header)")
    head = _FILE_HEADER.unpack_from(data)
    version, count = head[1], head[5]
    if version < 12:
        raise QpyError(f"QPY version {version} is older than runner reads here (12)")
    if count != 1:
        raise QpyError(f"runner's QPY programs hold one circuit, this one {count}")
    fields = _CIRCUIT_HEADER.unpack_from(data, _FILE_HEADER.size + 1)
    qubits, clbits, instructions = fields[3], fields[4], fields[7]
    for what, value, most in (("qubits", qubits, MAX_QUBITS), ("classical bits", clbits, MAX_CLBITS)):
        if value > most:
            raise QpyError(f"the circuit declares {value:,} {what}; runner takes at most {most:,}")
    if instructions > MAX_OPERATIONS:
        raise QpyError(f"the circuit has {instructions:,} instructions; runner takes at most {MAX_OPERATIONS:,}")
