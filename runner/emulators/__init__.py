"""Local emulators of the providers' REST APIs: one literal registry, like the providers'.

Each vendor's `app` module defines make(faults, seed) -> Emulator; beside it `store` (records and
their wire shape), `lifecycle` (how statuses move) and `execute` (what running a job means).
server.py and framing.py are the shared HTTP server, simulate.py the shared seeded simulator.
The emulators are the oracle runner's clients are tested against, so nothing here imports the
rest of runner (tests/unit/test_emulator_independence.py checks it): tables, price formulas,
circuit formats and simulation are the emulators' own, written from the providers' wire facts.
"""

from __future__ import annotations

import importlib

from runner.emulators.server import Emulator, EmulatorServer, Faults

__all__ = ["REGISTRY", "Emulator", "EmulatorServer", "Faults", "make", "start"]

REGISTRY: dict[str, str] = {
    "azure": "runner.emulators.azure.app",
    "superstaq": "runner.emulators.superstaq.app",
    "pasqal": "runner.emulators.pasqal.app",
}


def make(name: str, faults: Faults | None = None, seed: int | None = None) -> Emulator:
    """An emulator instance (not yet serving)."""
    emulator: Emulator = importlib.import_module(REGISTRY[name]).make(faults or Faults(), seed)
    return emulator


def start(name: str, port: int = 0, faults: Faults | None = None, seed: int | None = None) -> EmulatorServer:
    """An emulator serving on 127.0.0.1 in a background thread."""
    return EmulatorServer(make(name, faults, seed), port).start()
