"""The local simulator as a contract-suite participant."""

from __future__ import annotations

from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.providers.base import Context, Provider, Submission
from runner.providers.local import LocalProvider

from .harness import BELL

WIDE = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[40] q;\nbit[40] c;\nh q[0];\nc = measure q;\n'


class LocalHarness:
    name = "local"
    supports_find = False
    supports_cancel = False

    def provider(self) -> Provider:
        return LocalProvider(Target("local", "local", "local.aer", {}, {}), Context({}, "."))

    def unit(self, token: str, *, shots: int = 100, tags: tuple[str, ...] = (), fail: bool = False) -> Submission:
        text = WIDE if fail else BELL
        program = Program("bell.qasm", text, "qasm2" if not fail else "qasm3", digest(text))
        spec = {"kind": "job", "shots": shots, "params": {}, "token": token}
        return Submission(f"job.{token[:8]}", "job", 1, token, digest(spec), spec, Attrs(tags), (program,))

    def container(self, token: str) -> Submission | None:
        spec = {"kind": "session", "job_failure_policy": "continue", "token": token}
        return Submission(f"session.{token[:8]}", "session", 1, token, digest(spec), spec, Attrs(("t",)))

    def faults(self, **settings: float) -> None:
        return None

    def remote_units(self) -> list[str]:
        return []

    def expected_outcomes(self) -> set[str]:
        return {"00", "11"}


def make() -> LocalHarness:
    return LocalHarness()
