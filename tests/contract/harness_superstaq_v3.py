"""Superstaq API v0.3.0 against its emulator: the same harness, the other API version."""

from __future__ import annotations

from .harness_superstaq import SuperstaqHarness


def make() -> SuperstaqHarness:
    return SuperstaqHarness("v0.3.0")
