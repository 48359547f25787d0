"""Pasqal against its emulator as a contract-suite participant.

The unit of work is a closed batch with one job. Its sequence (examples/pasqal/sequences/one_atom.json)
has a single atom under a pi/2 pulse, so every shot reads "0" or "1" and nothing else. A failing
unit carries a sequence that does not load: the job fails at once and the batch ends in ERROR.
"""

from __future__ import annotations

import math
from pathlib import Path

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.providers.base import Context, Provider, Submission
from runner.providers.pasqal.provider import PasqalProvider

ONE_ATOM = (Path(__file__).resolve().parents[2] / "examples" / "pasqal" / "sequences" / "one_atom.json").read_text()
BROKEN = '{"version": "1", "name": "not a sequence"}'
PROJECT = "00000000-0000-0000-0000-0000000000aa"


class PasqalHarness:
    name = "pasqal"
    supports_find = True
    supports_cancel = True

    def __init__(self) -> None:
        self.server = emulators.start("pasqal", seed=7)
        self._made: list[PasqalProvider] = []

    def provider(self) -> Provider:
        return self._provider()

    def _provider(self) -> PasqalProvider:
        config = {
            "endpoint": self.server.url + "/core",
            "credentials": {"token_env": "PASQAL_TOKEN"},
            "project_id": PROJECT,
        }
        made = PasqalProvider(Target("emu", "pasqal", "EMU_FREE", {}, config), Context({"PASQAL_TOKEN": "t"}, "."))
        self._made.append(made)
        return made

    def unit(self, token: str, *, shots: int = 100, tags: tuple[str, ...] = (), fail: bool = False) -> Submission:
        text = BROKEN if fail else ONE_ATOM
        program = Program("one_atom.json", text, "pulser", digest(text))
        job_spec = {"kind": "batch_job", "runs": shots, "variables": {"omega": math.pi}}
        job = Submission(f"batch.{token[:8]}.job", "batch_job", 1, f"{token}-0", digest(job_spec), job_spec, Attrs())
        spec = {"kind": "batch", "sequence": {"digest": program.digest}, "configuration": {}, "webhook": None}
        return Submission(
            f"batch.{token[:8]}",
            "batch",
            1,
            token,
            digest(spec),
            spec,
            Attrs(tags),
            (program,),
            children=(job,),
            lifecycle={"open": False},
        )

    def container(self, token: str) -> Submission | None:
        """An open batch (it takes jobs until it is closed)."""
        made = self.unit(token)
        return Submission(
            made.address,
            made.kind,
            1,
            token,
            made.fingerprint,
            made.spec,
            made.attrs,
            made.programs,
            children=made.children,
            lifecycle={"open": True},
        )

    def faults(self, **settings: float) -> None:
        self.server.emulator.faults.update(settings)

    def remote_units(self) -> list[str]:
        """Every batch the API lists, page by page through the provider's own list call."""
        provider, offset = self._provider(), 0
        ids: list[str] = []
        while True:
            page = provider.get_batches({}, offset=offset)
            ids.extend(str(b["id"]) for b in page.items)
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return sorted(ids)

    def expected_outcomes(self) -> set[str]:
        return {"0", "1"}

    def close(self) -> None:
        for made in self._made:
            made.shutdown()
        self.server.stop()


def make() -> PasqalHarness:
    return PasqalHarness()
