"""The Superstaq job shapes runner reads, as pydantic models checked at the HTTP boundary.

API v0.2.0 answers /fetch_jobs with one job dict per circuit id; v0.3.0 answers the job query
with JobData, parallel lists with one entry per circuit (the official client parses it with its
own pydantic model, general_superstaq.models.JobData). Fields runner does not read pass through;
a field runner reads with the wrong type is one error naming it. Imported only where a response
is parsed, so `validate` and `--help` never load pydantic.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runner.providers.models import M, Wire, checked


class Failure(Wire):
    """Why a v0.2.0 circuit failed."""

    error: str | None = None


class CircuitJob(Wire):
    """One circuit of a v0.2.0 job: `samples` keyed by the measured classical bits, lowest first."""

    status: str | None = None  # absent means Submitted, as the official clients read it
    target: str | None = None
    samples: dict[str, float] | None = None
    shots: int | None = None
    input_circuit: str | None = None
    failure: Failure | None = None


class JobData(Wire):
    """A v0.3.0 job: one entry per circuit in each list."""

    target: str | None = None
    num_circuits: int | None = None
    statuses: list[str | None] = Field(default_factory=list)
    status_messages: list[str | None] | None = None
    counts: list[dict[str, float] | None] | None = None
    shots: list[int | None] | None = None
    input_circuits: list[str | None] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    submission_timestamp: str | None = None


def parse(model: type[M], raw: Any, what: str) -> M:
    """`raw` as `model`, or a ProviderError naming the first field that does not fit."""
    return checked(model, raw, what, "superstaq")
