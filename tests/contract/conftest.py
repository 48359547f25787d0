"""Harnesses for the contract suite; each provider contributes one in harness_<name>.py."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from .harness import Harness

NAMES = ["local", "azure", "superstaq", "superstaq_v3", "pasqal"]


def _load(name: str) -> ModuleType:
    module = importlib.import_module(f".harness_{name}", __package__)
    return module


@pytest.fixture(params=NAMES)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    module = _load(request.param)
    made: Harness = module.make()
    try:
        yield made
    finally:
        close = getattr(made, "close", None)
        if close:
            close()
