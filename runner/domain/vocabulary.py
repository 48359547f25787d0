"""The words every stage shares: resource kinds, plan actions, statuses.

They are `Literal` types, so a typo in a comparison or a constructor is a type error, and they
live here rather than with the providers so that planning and the state depend on no provider.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Kind = Literal["session", "batch", "job", "batch_job", "workload"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
CONTAINERS: Final[frozenset[Kind]] = frozenset({"session", "batch"})
RESULT_KINDS: Final[frozenset[Kind]] = frozenset({"job", "batch_job", "workload"})
KIND_ORDER: Final[dict[Kind, int]] = {"session": 0, "batch": 1, "job": 2, "batch_job": 3, "workload": 4}

# `record`: a change runner keeps in its state only, because the provider cannot make it (or it is runner's own
# setting, like protect): shown as what it is, never as an update. `move`: a resource renamed by the manifest's
# `moved` entries, which keeps its generation, remote id and results under its new address (no provider call)
Action = Literal["create", "update", "record", "replace", "delete", "move", "noop"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
SYMBOLS: Final[dict[Action, str]] = {
    "create": "+",
    "update": "~",
    "record": "=",
    "replace": "-/+",
    "delete": "-",
    "move": "->",
    "noop": " ",
}

# what a resource has besides its identity, which a provider may (or may not) change in place
Attribute = Literal["tags", "metadata", "name"]
ATTRIBUTES: Final[tuple[Attribute, ...]] = get_args(Attribute)

# runner's own status vocabulary; providers map theirs onto it and keep the raw text beside it
Status = Literal[
    "pending", "running", "succeeded", "failed", "cancelled", "timed_out", "unknown", "submitting", "submit_failed"
]
PENDING: Final = "pending"
RUNNING: Final = "running"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
TIMED_OUT: Final = "timed_out"
UNKNOWN: Final = "unknown"
SUBMITTING: Final = "submitting"
SUBMIT_FAILED: Final = "submit_failed"
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
TERMINAL: Final[frozenset[Status]] = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})


def status(text: str) -> Status:
    """A status read back from storage, checked against the vocabulary."""
    for known in STATUSES:
        if text == known:
            return known
    raise ValueError(f"unknown status {text!r}")


def kind(text: str) -> Kind:
    """A kind read back from storage, checked against the vocabulary."""
    for known in KINDS:
        if text == known:
            return known
    raise ValueError(f"unknown resource kind {text!r}")
