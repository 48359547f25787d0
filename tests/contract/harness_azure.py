"""The Azure provider against its emulator, in-process, as a contract-suite participant."""

from __future__ import annotations

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.providers.azure.provider import AzureProvider
from runner.providers.base import Context, Provider, Submission

from .harness import BELL

# 30 qubits: one more than ionq.simulator has, so the workspace fails the job when it is submitted
WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[30];\ncreg c[30];\nh q[0];\nmeasure q -> c;\n'
KEY_ENV = "AZURE_QUANTUM_API_KEY"
WORKSPACE = {
    "subscription_id": "00000000-0000-0000-0000-000000000001",
    "resource_group": "contract-rg",
    "name": "contract-ws",
    "location": "eastus",
}


class AzureHarness:
    name = "azure"
    supports_find = True
    supports_cancel = True

    def __init__(self) -> None:
        self.server = emulators.start("azure", seed=7)
        config = {"endpoint": self.server.url, "workspace": WORKSPACE, "credentials": {"api_key_env": KEY_ENV}}
        self.target = Target("ionq", "azure", "ionq.simulator", {}, config)
        self.context = Context({KEY_ENV: "emulator-key"}, ".")
        self._lister = AzureProvider(self.target, self.context)

    def provider(self) -> Provider:
        return AzureProvider(self.target, self.context)

    def unit(self, token: str, *, shots: int = 100, tags: tuple[str, ...] = (), fail: bool = False) -> Submission:
        text = WIDE if fail else BELL
        program = Program("bell.qasm", text, "qasm2", digest(text))
        spec = {"kind": "job", "shots": shots, "params": {}, "options": {}, "token": token}
        return Submission(f"job.{token[:8]}", "job", 1, token, digest(spec), spec, Attrs(tags), (program,))

    def container(self, token: str) -> Submission | None:
        spec = {"kind": "session", "job_failure_policy": "continue", "token": token}
        return Submission(f"session.{token[:8]}", "session", 1, token, digest(spec), spec, Attrs(("t",)))

    def faults(self, **settings: float) -> None:
        self.server.emulator.faults.update(settings)

    def remote_units(self) -> list[str]:
        # every page of GET jobs, through the provider's own list call
        return [str(job["id"]) for page in self._lister.api.pages("/jobs", {}) for job in page]

    def expected_outcomes(self) -> set[str]:
        return {"00", "11"}

    def close(self) -> None:
        self._lister.shutdown()
        self.server.stop()


def make() -> AzureHarness:
    return AzureHarness()
