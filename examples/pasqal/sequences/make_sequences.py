"""Regenerate the serialized pulser sequences next to this script (needs pulser-core).

    python examples/pasqal/sequences/make_sequences.py

rabi.json: two atoms 12 µm apart under one global Rydberg pulse of 500 ns whose amplitude is
the declared variable `omega` (rad/µs); the batch in examples/pasqal/pasqal.yaml sweeps it.
one_atom.json: the same pulse on a single atom, so every shot reads "0" or "1" (the contract
suite names exactly those two outcomes); omega = pi gives a pi/2 pulse, about half and half.
"""

from __future__ import annotations

from pathlib import Path

from pulser import Pulse, Register, Sequence
from pulser.devices import AnalogDevice
from pulser.waveforms import ConstantWaveform

HERE = Path(__file__).resolve().parent
DURATION_NS = 500


def rabi(coords: dict[str, tuple[float, float]]) -> str:
    """A register under one constant global pulse with a variable amplitude `omega`."""
    seq = Sequence(Register(coords), AnalogDevice)
    seq.declare_channel("rydberg", "rydberg_global")
    omega = seq.declare_variable("omega")
    seq.add(Pulse.ConstantDetuning(ConstantWaveform(DURATION_NS, omega), 0.0, 0.0), "rydberg")
    text: str = seq.to_abstract_repr()
    return text


def main() -> None:
    (HERE / "rabi.json").write_text(rabi({"q0": (0.0, 0.0), "q1": (0.0, 12.0)}) + "\n")
    (HERE / "one_atom.json").write_text(rabi({"q0": (0.0, 0.0)}) + "\n")


if __name__ == "__main__":
    main()
