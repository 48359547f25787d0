"""The bare qiskit-aer script a user would write for a local parameter sweep: three ways, the fastest wins.

    python benchmarks/peers/aer_sweep.py MODE PROGRAM.qasm SHOTS A_VALUES B_VALUES

MODE is `loop` (one run per point), `batch` (one run of every bound circuit) or `binds` (one run
of the circuit with parameter_binds). The points are the product of the two value lists, as in
runner's matrix; the program is read with qiskit's OpenQASM 3 loader and transpiled once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import qiskit.qasm3
from qiskit import transpile
from qiskit_aer import AerSimulator


def main() -> None:
    mode, program, shots_text, a_text, b_text = sys.argv[1:6]
    shots = int(shots_text)
    a_values = [float(x) for x in a_text.split(",")]
    b_values = [float(x) for x in b_text.split(",")]
    points = [(a, b) for a in a_values for b in b_values]
    sim = AerSimulator()
    circuit = transpile(qiskit.qasm3.loads(Path(program).read_text()), sim, optimization_level=0)
    by_name = {p.name: p for p in circuit.parameters}
    a, b = by_name["a"], by_name["b"]
    if mode == "loop":
        counts = [
            sim.run(circuit.assign_parameters({a: x, b: y}), shots=shots, seed_simulator=1).result().get_counts()
            for x, y in points
        ]
    elif mode == "batch":
        bound = [circuit.assign_parameters({a: x, b: y}) for x, y in points]
        result = sim.run(bound, shots=shots, seed_simulator=1).result()
        counts = [result.get_counts(i) for i in range(len(points))]
    else:
        binds = [{a: [x for x, _ in points], b: [y for _, y in points]}]
        result = sim.run([circuit], parameter_binds=binds, shots=shots, seed_simulator=1).result()
        counts = [result.get_counts(i) for i in range(len(points))]
    print(f"{len(counts)} points, {sum(sum(c.values()) for c in counts)} shots")


if __name__ == "__main__":
    main()
