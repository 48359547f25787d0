"""Superstaq against its emulator as a contract-suite participant (API v0.2.0, the default).

harness_superstaq_v3 runs the same suite against API v0.3.0 on the same kind of emulator.
"""

from __future__ import annotations

import httpx

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.providers.base import Context, Provider, Submission
from runner.providers.superstaq.provider import SuperstaqProvider
from runner.providers.superstaq.v2 import circuit_ids

from .harness import BELL

KEY = "emulator-key"
# one qubit wider than the emulated ss_unconstrained_simulator: the job fails at submission
WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[21];\ncreg c[21];\nh q[0];\nmeasure q -> c;\n'


class SuperstaqHarness:
    name = "superstaq"
    supports_find = True
    supports_cancel = True

    def __init__(self, api_version: str = "v0.2.0") -> None:
        self.api_version = api_version
        self.server = emulators.start("superstaq", seed=11)
        self._made: list[SuperstaqProvider] = []

    def provider(self) -> Provider:
        config = {
            "endpoint": self.server.url,
            "credentials": {"api_key_env": "SUPERSTAQ_API_KEY"},
            "api_version": self.api_version,
        }
        target = Target("ss", "superstaq", "ss_unconstrained_simulator", {}, config)
        made = SuperstaqProvider(target, Context({"SUPERSTAQ_API_KEY": KEY}, "."))
        self._made.append(made)
        return made

    def unit(self, token: str, *, shots: int = 100, tags: tuple[str, ...] = (), fail: bool = False) -> Submission:
        text = WIDE if fail else BELL
        program = Program("wide.qasm" if fail else "bell.qasm", text, "qasm2", digest(text))
        spec = {"kind": "job", "shots": shots, "params": {}, "options": {}, "token": token}
        return Submission(f"job.{token[:8]}", "job", 1, token, digest(spec), spec, Attrs(tags), (program,))

    def container(self, token: str) -> Submission | None:
        return None  # Superstaq has no sessions or batches

    def faults(self, **settings: float) -> None:
        self.server.emulator.faults.update(settings)

    def remote_units(self) -> list[str]:
        """Every job the service lists through its v0.3.0 query, as this API version names it."""
        response = httpx.get(f"{self.server.url}/v0.3.0/client/job/qiskit", headers={"Authorization": KEY})
        response.raise_for_status()
        jobs = response.json()
        if self.api_version == "v0.3.0":
            return sorted(jobs)
        return sorted(circuit_ids(job_id, data["num_circuits"]) for job_id, data in jobs.items())

    def expected_outcomes(self) -> set[str]:
        return {"00", "11"}

    def close(self) -> None:
        for made in self._made:
            made.shutdown()
        self.server.stop()


def make() -> SuperstaqHarness:
    return SuperstaqHarness("v0.2.0")
