"""The Azure Quantum wire shapes runner reads, as pydantic models checked at the HTTP boundary.

The fields and their JSON types are those of the recorded real service
(../shared/providers/recordings/azure, api-version 2025-12-01-preview): a job (JobDetails), a
session (SessionDetails, which carries no tags, priority or errorData), a list page with its
absolute nextLink, an error body, a CostEstimate with its UsageEvents (amountBilled is a quantity
of the event's unit, not money), and the storage SAS answer. Fields runner does not read are
allowed through untouched, so a service that adds one does not break the client; a field runner
reads that has the wrong type is an error that names the field.

pydantic costs ~0.15 s to import, so only the code that parses a response imports this module
(`validate` and `--help` never do).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runner.providers.models import M, Wire, checked


class UsageEvent(Wire):
    """One billed dimension: `amountBilled` and `amountConsumed` count `measureUnit`s (HQCs, gate shots)."""

    dimensionId: str | None = None
    dimensionName: str | None = None
    measureUnit: str | None = None
    amountBilled: float | None = None
    amountConsumed: float | None = None
    unitPrice: float | None = None


class CostEstimate(Wire):
    """What the service says an item costs: money in `currencyCode`, and the usage behind it."""

    currencyCode: str | None = None
    estimatedTotal: float | None = None
    events: list[UsageEvent] = Field(default_factory=list)


class ErrorData(Wire):
    """An error: on a failed job (`errorData`) or in an error response (`error`)."""

    code: str | None = None
    message: str | None = None


class Item(Wire):
    """What jobs and sessions share."""

    id: str
    status: str | None = None
    name: str | None = None
    target: str | None = None
    providerId: str | None = None
    creationTime: str | None = None
    endExecutionTime: str | None = None
    costEstimate: CostEstimate | None = None


class JobDetails(Item):
    """A job (`itemType: "Job"`)."""

    itemType: Literal["Job"] = "Job"
    sessionId: str | None = None
    containerUri: str | None = None
    inputDataUri: str | None = None
    inputDataFormat: str | None = None
    inputParams: dict[str, Any] = Field(default_factory=dict)
    outputDataFormat: str | None = None
    outputDataUri: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    errorData: ErrorData | None = None
    beginExecutionTime: str | None = None
    cancellationTime: str | None = None
    isCancelling: bool | None = None
    jobPriority: str | None = None


class SessionDetails(Item):
    """A session (`itemType: "Session"`): recorded ones carry no tags, priority or errorData."""

    itemType: Literal["Session"]
    jobFailurePolicy: str | None = None
    jobPriority: str | None = None


class Page(Wire):
    """One page of a list call; `nextLink` is an absolute URL that carries its own query, or null."""

    value: list[dict[str, Any]]
    nextLink: str | None = None


class ErrorBody(Wire):
    """An error response: `{"error": {"code", "message"}}`."""

    error: ErrorData


class SasUri(Wire):
    """The answer of POST storage/sasUri."""

    sasUri: str


def item(raw: Any) -> JobDetails | SessionDetails:
    """A job or a session, by its itemType."""
    if isinstance(raw, dict) and raw.get("itemType") == "Session":
        return parse(SessionDetails, raw, "session")
    return parse(JobDetails, raw, "job")


def parse(model: type[M], raw: Any, what: str) -> M:
    """`raw` as `model`, or a ProviderError naming the first field that does not fit."""
    return checked(model, raw, what, "azure")
