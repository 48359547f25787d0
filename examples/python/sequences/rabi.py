"""One atom under a constant global Rydberg pulse whose amplitude is the declared variable `omega`.

runner serializes the returned Sequence with pulser's own abstract representation and binds the
batch's `variables` (and matrix values) to its declared variables, as it does for a JSON file.
"""

from __future__ import annotations

from typing import Any

from pulser import Pulse, Register, Sequence
from pulser.devices import AnalogDevice
from pulser.waveforms import ConstantWaveform

DURATION_NS = 500


def build() -> Sequence[Any]:
    sequence = Sequence(Register({"q0": (0.0, 0.0)}), AnalogDevice)
    sequence.declare_channel("rydberg", "rydberg_global")
    omega = sequence.declare_variable("omega")
    sequence.add(Pulse.ConstantDetuning(ConstantWaveform(DURATION_NS, omega), 0.0, 0.0), "rydberg")
    return sequence
