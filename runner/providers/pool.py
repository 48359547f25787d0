"""One provider instance per target for a whole run, shared by every phase and thread of it.

A run (apply, refresh, wait, import, a rerun, reconciliation and drift before a plan) asks the
pool for a target's provider; the first request builds it (on the calling thread: building may
import qiskit, which must not first happen on a short-lived worker), later ones share it, and
closing the pool shuts every provider down once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from runner.domain.model import Target
from runner.errors import RunnerError
from runner.providers import make
from runner.providers.base import Context, Provider

Reach = tuple[Target, str]  # a target's settings and the folder its manifest lives in


class ProviderPool:
    """Providers for named targets, built on first use."""

    def __init__(self, targets: Mapping[str, Reach], env: Mapping[str, str]) -> None:
        self.targets = dict(targets)
        self.env = env
        self._built: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def reach(self, targets: Mapping[str, Reach]) -> None:
        """Learn (or update) targets; one already built keeps the instance it has."""
        with self._lock:
            self.targets.update(targets)

    def get(self, name: str) -> Provider:
        """The provider of target `name` (built now if this is the first request)."""
        with self._lock:
            if name not in self._built:
                if name not in self.targets:
                    raise RunnerError(f"target '{name}' is not recorded in the state; apply the manifest first")
                target, base_dir = self.targets[name]
                self._built[name] = make(target, Context(self.env, base_dir))
            return self._built[name]

    def requests(self) -> int:
        """Requests sent so far by every provider built."""
        with self._lock:
            return sum(p.requests() for p in self._built.values())

    def close(self) -> None:
        """Shut every built provider down."""
        with self._lock:
            built, self._built = list(self._built.values()), {}
        for provider in built:
            provider.shutdown()

    def __enter__(self) -> ProviderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
