"""The provider registry: one literal dict from provider name to its module.

Each module defines SPEC (a ProviderSpec) and make(target, context) -> Provider, and keeps
heavy imports (httpx, qiskit) inside the functions that need them, so validation stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from runner.domain.model import Target
from runner.providers.base import Context, Provider, ProviderSpec

REGISTRY: dict[str, str] = {
    "local": "runner.providers.local",
    "azure": "runner.providers.azure.provider",
    "superstaq": "runner.providers.superstaq.provider",
    "pasqal": "runner.providers.pasqal.provider",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(REGISTRY[name])


def names() -> list[str]:
    """Registered provider names."""
    return sorted(REGISTRY)


def spec(name: str) -> ProviderSpec:
    """A provider's capabilities and configuration rules."""
    found: ProviderSpec = _module(name).SPEC
    return found


def check_target(target: Target) -> list[tuple[tuple[str | int, ...], str]]:
    """Provider-specific problems with a target's settings: (path below the target, message)."""
    check = getattr(_module(target.provider), "check_target", None)
    found: list[tuple[tuple[str | int, ...], str]] = check(target) if check else []
    return found


def make(target: Target, context: Context) -> Provider:
    """A provider instance for one target."""
    provider: Provider = _module(target.provider).make(target, context)
    return provider
