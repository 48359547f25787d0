"""A scripted provider for testing refresh/wait/cancel without a network."""

from __future__ import annotations

from collections.abc import Sequence

from runner.domain.model import Target
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import Status
from runner.providers.base import Context, ProviderSpec, Submission

SPEC = ProviderSpec(name="fake", kinds=frozenset({"job"}), default_target="fake", findable=frozenset({"job"}))
SCRIPT: dict[str, list[Status]] = {}  # remote id -> statuses returned by successive observe calls
CALLS: list[str] = []
FOUND: dict[str, list[Observation]] = {}  # token -> what find returns
FIND_ERROR: list[Exception] = []


def make(target: Target, context: Context) -> FakeProvider:
    return FakeProvider()


def check_target(target: Target) -> list[tuple[tuple[str | int, ...], str]]:
    return []


class FakeProvider:
    spec = SPEC

    def create(self, sub: Submission) -> Observation:
        raise NotImplementedError

    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        CALLS.append("observe")
        out = []
        for ref in refs:
            steps = SCRIPT.get(ref.remote_id, ["pending"])
            status = steps.pop(0) if len(steps) > 1 else steps[0]
            raw = "Weird" if status == "unknown" else status
            out.append(Observation(ref.remote_id, status, raw))
        return out

    def result(self, ref: RemoteRef) -> Result | None:
        CALLS.append("result")
        return Result(({"0": 7},), 7)

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        CALLS.append(f"find {sub.token}")
        if FIND_ERROR:
            raise FIND_ERROR[0]
        return FOUND.get(sub.token, [])

    def cancel(self, ref: RemoteRef) -> Observation:
        CALLS.append("cancel")
        SCRIPT[ref.remote_id] = ["cancelled"]
        return Observation(ref.remote_id, "cancelled")

    def close(self, ref: RemoteRef) -> Observation:
        return Observation(ref.remote_id, "succeeded")

    def requests(self) -> int:
        return len(CALLS)

    def shutdown(self) -> None:
        return None
