"""The provider registry: one literal dict from provider name to the module that implements it.

Each module provides what `Plugin` describes: SPEC (a ProviderSpec), check_target(target) and
make(target, context) -> Provider. Modules keep heavy imports (httpx, qiskit) inside the
functions that need them, so validation stays fast.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from runner.domain.model import Target
from runner.providers.base import Context, Provider, ProviderSpec

REGISTRY: dict[str, str] = {
    "local": "runner.providers.local",
    "azure": "runner.providers.azure.provider",
    "superstaq": "runner.providers.superstaq.provider",
    "pasqal": "runner.providers.pasqal.provider",
}
Problems = list[tuple[tuple[str | int, ...], str]]


class Plugin(Protocol):
    """What a provider module offers the registry."""

    SPEC: ProviderSpec

    def check_target(self, target: Target) -> Problems:
        """Provider-specific problems with a target's settings: (path below the target, message)."""
        ...

    def make(self, target: Target, context: Context) -> Provider:
        """A provider instance for one target."""
        ...


def _plugin(name: str) -> Plugin:
    return cast(Plugin, importlib.import_module(REGISTRY[name]))


def names() -> list[str]:
    """Registered provider names."""
    return sorted(REGISTRY)


def spec(name: str) -> ProviderSpec:
    """A provider's capabilities and configuration rules."""
    return _plugin(name).SPEC


def check_target(target: Target) -> Problems:
    """Provider-specific problems with a target's settings: (path below the target, message)."""
    return _plugin(target.provider).check_target(target)


def make(target: Target, context: Context) -> Provider:
    """A provider instance for one target."""
    return _plugin(target.provider).make(target, context)
