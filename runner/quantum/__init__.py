"""Circuits: OpenQASM parsing (qasm.py), conversions providers take (circuits.py), the embedded
qiskit-aer simulator (simulator.py)."""
