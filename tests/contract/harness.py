"""What the contract suite needs from each provider: one Harness per provider.

A harness builds a provider bound to a running emulator (or the local simulator) and makes
submissions of the provider's main unit of work: a job (local, azure, superstaq) or a batch
with one job (pasqal). The suite in test_contract.py runs the same checks against every one.
"""

from __future__ import annotations

from typing import Protocol

from runner.providers.base import Provider, Submission

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


class Harness(Protocol):
    name: str
    supports_find: bool  # False only for local, where nothing outlives the process
    supports_cancel: bool  # False only for local, where jobs finish inside create

    def provider(self) -> Provider:
        """A fresh provider instance talking to this harness's emulator."""
        ...

    def unit(self, token: str, *, shots: int = 100, tags: tuple[str, ...] = (), fail: bool = False) -> Submission:
        """A Bell-pair unit of work; fail=True makes the provider end it in its failure status."""
        ...

    def container(self, token: str) -> Submission | None:
        """A session or batch left open (to be closed), or None where the provider has none."""
        ...

    def faults(self, **settings: float) -> None:
        """Change the emulator's fault injection (queue_delay, error_rate, drop_rate, ...)."""
        ...

    def remote_units(self) -> list[str]:
        """Ids of every unit that exists remotely, counted through the provider's own API."""
        ...

    def expected_outcomes(self) -> set[str]:
        """The only bitstrings a Bell unit may produce, in runner's counts format."""
        ...
