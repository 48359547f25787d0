"""What the Pasqal emulator does with a job: check its sequence with pulser-core, run it with QuTiP.

Sequences are checked when a job arrives (a sequence that does not load, or variables it does not
declare, fail the job at once) and simulated when it runs: the final state's bitstring
probabilities are sampled `runs` times with a generator seeded from the job id, so a job's
counts are the same every time. Without pulser-simulation a job fails with the install command.
"""

from __future__ import annotations

import importlib.util
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

# Device types the API accepts (../shared/providers/pasqal.md 6.3: the SDK's DeviceTypeName plus
# those the API docs add). The emulator keeps its own list: it checks runner's client, which has one too.
DEVICE_TYPES = frozenset(
    {
        "EMU_FREE",
        "EMU_TN",
        "EMU_FRESNEL",
        "EMU_MPS",
        "EMU_SV",
        "FRESNEL",
        "FRESNEL_CAN1",
        "EMU_C",
        "FRESNEL_SA1",
        "FRESNEL8",
        "FRESNEL_RD",
    }
)
INSTALL = "pulser-simulation is not installed where the emulator runs: pip install 'runner[pasqal-sim]'"
RAW_LIMIT = 1000  # above this many runs the per-shot list is left out of the result document
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


class JobFailed(Exception):
    """The job cannot run; the message goes into the job's `errors`."""


def has_core() -> bool:
    return importlib.util.find_spec("pulser") is not None


def has_simulation() -> bool:
    return importlib.util.find_spec("pulser_simulation") is not None


def load(text: str) -> Any:
    """A pulser Sequence from its abstract representation (cached: many jobs share one)."""
    with _cache_lock:
        if text in _cache:
            return _cache[text]
    from pulser import Sequence

    try:
        seq = Sequence.from_abstract_repr(text)
    except Exception as exc:  # pulser raises schema, JSON and value errors alike
        raise JobFailed(f"the sequence cannot be loaded: {_first_line(exc)}") from None
    with _cache_lock:
        if len(_cache) > 32:
            _cache.clear()
        _cache[text] = seq
    return seq


def check(text: str | None, variables: Mapping[str, Any]) -> None:
    """Raise JobFailed if the sequence does not load or the variables do not fit it."""
    if text is None or not has_core():
        return  # checked again when the job runs
    seq = load(text)
    declared = set(seq.declared_variables)
    unknown = sorted(set(variables) - declared)
    if unknown:
        raise JobFailed(
            f"variables not declared by the sequence: {', '.join(unknown)} "
            f"(declared: {', '.join(sorted(declared)) or 'none'})"
        )
    missing = sorted(declared - set(variables))
    if missing:
        raise JobFailed(f"no value for the sequence's variables: {', '.join(missing)}")
    _build(seq, variables)


def _build(seq: Any, variables: Mapping[str, Any]) -> Any:
    try:
        return seq.build(**variables) if seq.is_parametrized() else seq
    except Exception as exc:
        raise JobFailed(
            f"the sequence cannot be built with {json.dumps(dict(variables))}: {_first_line(exc)}"
        ) from None


def run(text: str | None, variables: Mapping[str, Any], runs: int, job_id: str) -> dict[str, Any]:
    """The result document of one job: `counter` (bitstring -> count) and, when cheap, `raw`."""
    if text is None:
        raise JobFailed("the job has no sequence")
    if not has_core() or not has_simulation():
        raise JobFailed(INSTALL)
    from pulser.backend import StateResult
    from pulser_simulation import QutipBackendV2, QutipConfig

    built = _build(load(text), variables)
    config = QutipConfig(observables=[StateResult(evaluation_times=[1.0])])
    state: Any = QutipBackendV2(built, config=config).run().final_state  # a QutipState
    probabilities = state.bitstring_probabilities()
    rng = random.Random(uuid.UUID(job_id).int)
    shots = rng.choices(list(probabilities), weights=[float(p) for p in probabilities.values()], k=runs)
    document: dict[str, Any] = {"counter": dict(sorted(Counter(shots).items()))}
    if runs <= RAW_LIMIT:
        document["raw"] = shots
    return document


def device_specs() -> dict[str, str]:
    """Device type -> pulser device abstract representation, from pulser's own example devices."""
    if not has_core():
        return {name: json.dumps({"name": name}) for name in ("FRESNEL", "EMU_FREE", "EMU_MPS")}
    from pulser.devices import AnalogDevice, DigitalAnalogDevice

    analog, digital = AnalogDevice.to_abstract_repr(), DigitalAnalogDevice.to_abstract_repr()
    return {"FRESNEL": analog, "EMU_FRESNEL": analog, "EMU_FREE": digital, "EMU_MPS": digital}


def warm_up() -> None:
    """Import pulser (and its simulator) now, on the thread building the emulator.

    Importing it on a background thread raced with request threads importing pulser.devices
    (a partially initialised module: ImportError), and C extensions first imported on
    short-lived threads have crashed here before (see runner.emulators.simulate.warm).
    """
    if has_core():
        importlib.import_module("pulser")
        importlib.import_module("pulser.devices")
    if has_simulation():
        importlib.import_module("pulser_simulation")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
