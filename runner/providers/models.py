"""What every provider's wire models share: the pydantic base and the one way a response is checked.

Each vendor's `models.py` declares the shapes it reads on this base. Importing pydantic costs
~0.15 s, so only code that parses a response imports these modules (`validate` and `--help` never do).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from runner.errors import ProviderError


class Wire(BaseModel):
    """A service object: unknown fields allowed, known ones checked."""

    model_config = ConfigDict(extra="allow", frozen=True)


M = TypeVar("M", bound=Wire)


def checked(model: type[M], raw: Any, what: str, service: str) -> M:
    """`raw` as `model`, or a ProviderError naming the service and the first field that does not fit."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(the body)"
        raise ProviderError(
            f"{service}: the service sent a {what} runner cannot read: {where}: {first['msg']}"
        ) from None
